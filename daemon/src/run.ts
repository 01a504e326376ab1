import path from 'node:path';
import { invocationDir } from './cli/cwd.js';
import { loadConfig } from './config/load.js';
import type { ConfigInput } from './config/schema.js';
import { createDaemon, type Daemon } from './daemon.js';
import { type Gateway, startGateway } from './http/app.js';

export { whereBlock } from './cli/where.js';

export interface StartFlags {
  config?: string;
  port?: string;
  host?: string;
  home?: string;
  backend?: string[];
}

/** Flags as `comfygate start` and `pnpm start` take them, turned into config overrides. */
export function overridesFrom(flags: StartFlags): ConfigInput {
  const o: ConfigInput = {};
  if (flags.port !== undefined) o.port = Number(flags.port);
  if (flags.host) o.host = flags.host;
  if (flags.home) o.home = path.resolve(invocationDir(), flags.home);
  if (flags.backend?.length) {
    o.backends = flags.backend.map((url, i) => ({
      name: flags.backend!.length === 1 ? 'local' : `backend${i + 1}`,
      url,
    }));
  }
  return o;
}

/** Composition root: config -> store -> comfy -> engine -> http. Returns one ordered, idempotent close. */
export async function runDaemon(
  flags: StartFlags,
): Promise<{ daemon: Daemon; gateway: Gateway; close(): Promise<void> }> {
  const config = loadConfig({
    file: flags.config && path.resolve(invocationDir(), flags.config),
    overrides: overridesFrom(flags),
  });
  const daemon = await createDaemon(config);
  let gateway: Gateway;
  try {
    gateway = await startGateway(daemon);
  } catch (err) {
    await daemon.close();
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    daemon,
    gateway,
    close: () => (closing ??= gateway.close().finally(() => daemon.close())),
  };
}
