// Run the fake as a process: `pnpm fake-comfyui --port 8188 [--step-ms N] [--models a,b] [--host H] [--demo-images]`.
// Prints one "listening" line when ready; SIGINT/SIGTERM close it cleanly.
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { controlHandler } from './control.js';
import { Faults } from './faults.js';
import { handleRequest, Router } from './http.js';
import { CONTROL_PATH, startFakeComfy } from './server.js';
import type { FakeComfyOptions } from './types.js';

const { values } = parseArgs({
  // Some pnpm versions forward the `--` of `pnpm fake-comfyui -- --port N`; ignore it.
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    port: { type: 'string', default: '8188' },
    host: { type: 'string', default: '127.0.0.1' },
    'step-ms': { type: 'string' },
    'node-ms': { type: 'string' },
    models: { type: 'string' },
    loras: { type: 'string' },
    'upscale-models': { type: 'string' },
    'extra-nodes': { type: 'string' },
    'preview-method': { type: 'string' },
    'data-dir': { type: 'string' },
    'no-cache': { type: 'boolean', default: false },
    'admin-port': { type: 'string' },
    'demo-images': { type: 'boolean', default: false },
  },
  strict: true,
});

const list = (v: string | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
const int = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number.parseInt(v, 10));

const models: Record<string, string[]> = {};
if (list(values.models)) models.checkpoints = list(values.models) as string[];
if (list(values.loras)) models.loras = list(values.loras) as string[];
if (list(values['upscale-models'])) models.upscale_models = list(values['upscale-models']) as string[];

const options: FakeComfyOptions = {
  port: int(values.port) ?? 8188,
  host: values.host,
  models,
  cacheOutputs: !values['no-cache'],
  previewMethod: values['preview-method'] === 'auto' ? 'auto' : 'none',
  imageStyle: values['demo-images'] ? 'demo' : 'solid',
};
if (values['step-ms'] !== undefined) options.stepMs = int(values['step-ms']);
if (values['node-ms'] !== undefined) options.nodeMs = int(values['node-ms']);
if (values['extra-nodes'] !== undefined) options.extraNodes = list(values['extra-nodes']);
if (values['data-dir'] !== undefined) options.dataDir = values['data-dir'];

const fake = await startFakeComfy(options);

// Optional admin port: the control route stays reachable while the fake itself is down or crashing.
let admin: Server | undefined;
const adminTimers = new Set<NodeJS.Timeout>();
if (values['admin-port'] !== undefined) {
  const schedule = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      adminTimers.delete(t);
      fn();
    }, ms);
    adminTimers.add(t);
  };
  const front = {
    router: new Router(),
    faults: new Faults(),
    extra: new Map([[CONTROL_PATH, controlHandler(fake.control, schedule)]]),
  };
  admin = createServer((req, res) => void handleRequest(front, req, res));
  await new Promise<void>((resolve) => admin?.listen(int(values['admin-port']), values.host, resolve));
}

console.log(`fake ComfyUI listening on ${fake.url}`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const t of adminTimers) clearTimeout(t);
  admin?.closeAllConnections();
  await new Promise<void>((resolve) => (admin ? admin.close(() => resolve()) : resolve()));
  await fake.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
