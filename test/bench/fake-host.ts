// Child-process entry: hosts a benchmark's fakes so their "GPU" time is not delayed by the daemon's event
// loop (a real ComfyUI is another process). Prints {"urls": [...]} once listening; closes them all and exits
// when its stdin ends (the parent closed it, or died) or on SIGTERM.
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import type { FakeComfyOptions } from '../fake-comfyui/src/types.js';

const { n, opts } = JSON.parse(process.argv[2] ?? '{}') as { n: number; opts: FakeComfyOptions };
const fakes = await Promise.all(
  Array.from({ length: n }, () => startFakeComfy({ ...opts, port: 0, host: '127.0.0.1' })),
);

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  await Promise.allSettled(fakes.map((f) => f.close()));
  process.exit(0);
}

process.stdin.on('end', () => void shutdown());
process.stdin.resume();
process.on('SIGTERM', () => void shutdown());
process.stdout.write(`${JSON.stringify({ urls: fakes.map((f) => f.url) })}\n`);
