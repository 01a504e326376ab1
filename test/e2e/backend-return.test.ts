// A backend that comes back while jobs wait for it is noticed within 2 s, even after a long idle backoff.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { imageOnly } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';

describe('a returning backend', () => {
  it(
    'is noticed within 2 s while a job waits, after 30 s down with the probe backed off',
    { timeout: 90_000 },
    async () => {
      await using fake = await startFakeComfy();
      // The daemon's default probe timings (the test helpers shrink them): backoff 1 s doubling to 15 s.
      await using g = await startTestGateway({
        backends: [{ name: 'a', url: fake.url }],
        engine: { probeMs: 1_000, probeMaxMs: 15_000, breakerThreshold: 3, failoverAfterMs: 5_000 },
      });
      const health = async () => (await g.client.backends())[0]!.health;
      await waitFor(async () => (await health()) === 'up', { what: 'backend up' });
      const downAt = Date.now();
      await fake.control.down();
      await waitFor(async () => (await health()) === 'down', { what: 'backend down' });
      // 12 s with nothing waiting: probes back off to 1, 2, 4, 8 s apart (the next one would come at ~15 s, then ~30 s, ~45 s).
      await sleep(12_000);
      const job = await g.client.createJob({ graph: imageOnly(5) as never });
      // Back just after the idle schedule's probe at ~30 s: without the short probe it would wait until ~45 s.
      await sleep(downAt + 30_500 - Date.now());
      // The WebSocket is refused, so only the probe can notice (the socket's own retries, up to 5 s apart, would too).
      fake.control.failRoute('GET', '/ws', 503);
      const upAt = Date.now();
      await fake.control.up();
      await waitFor(async () => (await health()) === 'up', {
        what: 'backend noticed',
        timeoutMs: 20_000,
        intervalMs: 25,
      });
      const noticedMs = Date.now() - upAt;
      expect(noticedMs).toBeLessThanOrEqual(2_000);
      fake.control.reset();
      expect((await g.client.waitForJob(job.id)).state).toBe('succeeded');
    },
  );

  it(
    'with nothing waiting, is noticed when its WebSocket gets through, long before the backed-off probe',
    { timeout: 60_000 },
    async () => {
      await using fake = await startFakeComfy();
      // Probes 2 s doubling to 30 s: after 15 s down the next one would come at ~30 s.
      await using g = await startTestGateway({
        backends: [{ name: 'a', url: fake.url }],
        engine: { probeMs: 2_000, probeMaxMs: 30_000, breakerThreshold: 3 },
      });
      const health = async () => (await g.client.backends())[0]!.health;
      await waitFor(async () => (await health()) === 'up', { what: 'backend up' });
      const downAt = Date.now();
      await fake.control.down();
      await waitFor(async () => (await health()) === 'down', { what: 'backend down' });
      await sleep(downAt + 15_000 - Date.now());
      const upAt = Date.now();
      await fake.control.up();
      await waitFor(async () => (await health()) === 'up', {
        what: 'backend noticed',
        timeoutMs: 30_000,
        intervalMs: 50,
      });
      // The socket retries at most 5 s apart (with jitter); the probe schedule alone would take ~15 s.
      expect(Date.now() - upAt).toBeLessThanOrEqual(8_000);
    },
  );
});
