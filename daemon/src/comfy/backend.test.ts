import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { type BackendListener, ComfyBackend, type Health } from './backend.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A ComfyUI whose /object_info answers only when `release` is called (a busy server); the socket is refused. */
async function slowComfy(answer: number) {
  let release = () => {};
  const asked = new Promise<void>((resolveAsked) => {
    const server = http.createServer((req, res) => {
      if (req.url?.startsWith('/object_info')) {
        resolveAsked();
        release = () => (res.writeHead(answer, { 'content-type': 'application/json' }), res.end('{}'));
      } else res.writeHead(404).end();
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
  });
  await new Promise((r) => setTimeout(r, 0));
  const port = (servers.at(-1)!.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, asked, release: () => release() };
}

function recorder() {
  const seen: Health[] = [];
  const noop = () => {};
  const listener: BackendListener = {
    onHealth: (_b, h) => void seen.push(h),
    onSocketOpen: noop,
    onStarted: noop,
    onProgress: noop,
    onCached: noop,
    onExecuting: noop,
    onPreview: noop,
    onExecutionError: noop,
    onFinished: noop,
    waitedFor: () => false,
  };
  return { seen, listener };
}

const breaker = { threshold: 3, probeMs: 50, probeMaxMs: 100, probeWaitingMs: 50 };

// A backend removed while its probe waits for /object_info: the answer, good or bad, must not bring it back to
// the engine (an `up` saved its capabilities and reconciled a removed backend; a `down` armed a failover timer).
it.each([
  [200, 'up'],
  [500, 'down'],
])('a probe answered (%i) after the backend was closed reports nothing', async (status) => {
  const comfy = await slowComfy(status);
  const { seen, listener } = recorder();
  const b = new ComfyBackend({ name: 'a', url: comfy.url } as never, listener, breaker, null);
  b.start();
  await comfy.asked;
  const closing = b.close();
  comfy.release();
  await closing;
  await new Promise((r) => setTimeout(r, 200)); // past a rescheduled probe, were there one
  expect(seen).toEqual([]);
});
