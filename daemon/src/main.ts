import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.js';
import type { ConfigInput } from './config/schema.js';
import { createDaemon } from './daemon.js';
import { GatewayError } from './errors.js';

/**
 * Composition root: config -> store -> comfy -> engine. `pnpm start [--config f] [--port n] [--backend url]`.
 * Closes in order on SIGINT/SIGTERM; a second signal exits at once.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      backend: { type: 'string', multiple: true },
      home: { type: 'string' },
    },
    allowPositionals: true,
  });
  const overrides: ConfigInput = {};
  if (values.port) overrides.port = Number(values.port);
  if (values.host) overrides.host = values.host;
  if (values.home) overrides.home = values.home;
  if (values.backend?.length) {
    overrides.backends = values.backend.map((url, i) => ({ name: values.backend!.length === 1 ? 'local' : `backend${i + 1}`, url }));
  }
  const config = loadConfig({ file: values.config, overrides });
  const daemon = await createDaemon(config);
  daemon.log.info({ home: config.home, backends: config.backends.map((b) => `${b.name}=${b.url}`) }, 'comfygate engine started');
  process.stdout.write(`comfygate ready (home ${config.home})\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    daemon.log.info({ signal }, 'shutting down');
    await daemon.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  const msg = err instanceof GatewayError ? err.message : (err as Error).stack ?? String(err);
  process.stderr.write(`comfygate: ${msg}\n`);
  process.exit(1);
});
