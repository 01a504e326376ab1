import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { INTERNAL } from '@comfygate/daemon';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { spawnTs } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { FAST_WATCH, SMALL, tempFolders, waitForFile } from '../helpers/watch.js';

const folders = tempFolders();
afterEach(() => folders.cleanup());

const FILES = 2_000;
const MAX_QUEUED = 32;

/** The fake ComfyUI in its own process: on two cores it gets one, the daemon under test the other. */
async function fakeProcess() {
  const p = await spawnTs('test/fake-comfyui/src/cli.ts', ['--port', '0', '--step-ms', '0'], {
    readyLine: /listening on http/,
  });
  return {
    url: /listening on (http:\/\/\S+)/.exec(p.output())![1]!,
    [Symbol.asyncDispose]: async () => void (await p.kill()),
  };
}

it(`a ${FILES}-file dump runs in bounded memory, never floods the queue, and an interactive job submitted mid-dump finishes early`, async () => {
  await using fake = await fakeProcess();
  const [dir, out] = [folders.make(), folders.make('cg-out-')];
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url, inflight: 4 }],
    watch: [{ id: 'dump', dir, outputDir: out, params: { width: 64, height: 64, steps: 1 } }],
    watchOptions: { ...FAST_WATCH, maxQueued: MAX_QUEUED },
  });
  const counts = async () => (await g.daemon.watch!.get('dump', INTERNAL)).files;
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let maxQueued = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    void g.daemon.store.jobs.countInState('queued').then((n) => (maxQueued = Math.max(maxQueued, n)));
  }, 100);
  try {
    for (let i = 0; i < FILES; i++)
      fs.writeFileSync(path.join(dir, `p${String(i).padStart(4, '0')}.txt`), `dumped prompt ${i}`);
    await waitFor(async () => (await counts()).done >= 200, {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: '200 files done',
    });

    const submittedAt = Date.now();
    const { job } = await g.daemon.submit(
      { template: 'txt2img', params: { prompt: 'a designer waiting', width: 64, height: 64, steps: 1 } },
      { viewer: INTERNAL, caller: 'designer' },
    );
    const interactive = await waitFor(
      async () =>
        (await g.daemon.get(job.id, INTERNAL)).state === 'succeeded' ? g.daemon.get(job.id, INTERNAL) : null,
      { timeoutMs: 10_000, intervalMs: 20, what: 'interactive job' },
    );
    const atFinish = await counts();
    expect(interactive.finishedAt! - submittedAt).toBeLessThan(5_000);
    expect(atFinish.done).toBeLessThan(FILES / 2); // most of the dump still waiting (in the ledger, or not even hashed yet)

    // ~45 s alone on the 2-core machine; the headroom is for a full parallel `pnpm test` sharing those cores.
    await waitFor(async () => (await counts()).done === FILES, {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: `${FILES} files done`,
    });
    const jobs = await g.daemon.store.jobs.list({ client: 'watch:dump', limit: FILES * 2 });
    expect(jobs).toHaveLength(FILES); // one job per file
    expect(Math.max(...jobs.map((j) => j.finishedAt!))).toBeGreaterThan(interactive.finishedAt!);
    expect(fs.readdirSync(out)).toHaveLength(FILES);
  } finally {
    clearInterval(sampler);
  }
  expect(maxQueued).toBeLessThanOrEqual(MAX_QUEUED); // the rest waited in the ledger, not in the job queue
  expect((peak - baseline) / 2 ** 20).toBeLessThan(150);
}, 180_000);

it("rules take turns: one file dropped in a quiet folder does not wait for a busy folder's backlog", async () => {
  await using fake = await startFakeComfy({ stepMs: 10 });
  const [busy, quiet] = [folders.make(), folders.make()];
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [
      { id: 'busy', dir: busy, params: SMALL },
      { id: 'quiet', dir: quiet, params: SMALL },
    ],
    watchOptions: { ...FAST_WATCH, maxQueued: 2 },
  });
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(busy, `b${i}.txt`), `busy ${i}`);
  await waitFor(async () => (await g.daemon.watch!.get('busy', INTERNAL)).files.pending > 30, { what: 'a backlog' });
  fs.writeFileSync(path.join(quiet, 'one.txt'), 'just one');
  await waitForFile(path.join(quiet, 'one.out.png'));
  expect((await g.daemon.watch!.get('busy', INTERNAL)).files.done).toBeLessThan(20);
});
