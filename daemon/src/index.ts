export { createDaemon, type Daemon, type DaemonOptions, type SubmitOptions } from './daemon.js';
export { loadConfig } from './config/load.js';
export { Config, type ConfigInput } from './config/schema.js';
export { GatewayError, toGatewayError } from './errors.js';
export { INTERNAL, type Viewer } from './ownership/viewer.js';
export { openSqliteStore } from './store/sqlite/index.js';
export type { Store } from './store/types.js';
