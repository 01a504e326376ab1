import { Command } from 'commander';
import { GatewayError } from '../errors.js';
import { registerAssets } from './commands/assets.js';
import { registerBackends } from './commands/backends.js';
import { registerBatches } from './commands/batches.js';
import { registerCancel } from './commands/cancel.js';
import { registerDashboard } from './commands/dashboard.js';
import { registerDoctor } from './commands/doctor.js';
import { registerGc } from './commands/gc.js';
import { registerTemplates } from './commands/templates.js';
import { registerJobs } from './commands/jobs.js';
import { registerPair } from './commands/pair.js';
import { registerRun } from './commands/run.js';
import { registerStart } from './commands/start.js';
import { registerStatus } from './commands/status.js';
import { registerSubmit } from './commands/submit.js';
import { registerToken } from './commands/token.js';
import { registerWatch } from './commands/watch.js';
import { CliError, registerGlobalOptions } from './context.js';

/** The package version, written in by daemon/build.mjs. */
declare const __COMFYGATE_VERSION__: string | undefined;

const program = new Command('comfygate')
  .description('comfygate: a local gateway in front of ComfyUI servers')
  .version(typeof __COMFYGATE_VERSION__ === 'string' ? __COMFYGATE_VERSION__ : 'dev (run from source)')
  .showHelpAfterError();
registerGlobalOptions(program);
registerStart(program);
registerStatus(program);
registerSubmit(program);
registerRun(program);
registerJobs(program);
registerBatches(program);
registerCancel(program);
registerBackends(program);
registerToken(program);
registerPair(program);
registerDoctor(program);
registerGc(program);
registerWatch(program);
registerTemplates(program);
registerDashboard(program);
registerAssets(program);

/** Errors meant for people print as one line; anything else is a bug and keeps its stack. */
function messageOf(err: unknown): string {
  const e = err as Error;
  if (err instanceof GatewayError || err instanceof CliError || e.name === 'GatewayClientError') return e.message;
  return e.stack ?? String(err);
}

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`comfygate: ${messageOf(err)}\n`);
  process.exit(err instanceof CliError ? err.exitCode : 1);
});
