/**
 * `pnpm demo`: a fake ComfyUI (a stand-in GPU that draws the prompt on a gradient) plus the real daemon pointed at
 * it, so anyone can try comfygate without a GPU. Flags: --port (daemon, default 8288), --comfy-port (default 8188),
 * --step-ms, --home (data folder, default as `comfygate start`).
 */
import { parseArgs } from 'node:util';
import { runDaemon, whereBlock } from '@comfygate/daemon/run';
import { startFakeComfy } from './fake-comfyui/src/index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'comfy-port': { type: 'string' },
    'step-ms': { type: 'string' },
    home: { type: 'string' },
  },
  args: process.argv.slice(2).filter((a) => a !== '--'),
});

const fake = await startFakeComfy({
  port: Number(values['comfy-port'] ?? 8188),
  stepMs: Number(values['step-ms'] ?? 50),
  imageStyle: 'demo',
});
const running = await runDaemon({ port: values.port ?? '8288', home: values.home, backend: [fake.url] });
const cfg = running.daemon.config;
process.stdout.write(
  whereBlock({
    url: running.gateway.url,
    home: cfg.home,
    backends: cfg.backends,
    fakeComfy: fake.url,
    loginLink: running.gateway.loginLink(),
  }),
);
const stop = async () => {
  await running.close();
  await fake.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
