import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openSqliteStore } from '@comfygate/daemon';
import { expectedColor, startFakeComfy } from '../fake-comfyui/src/index.js';
import { makeHome, testConfig } from '../helpers/daemon.js';
import { startTestGateway } from '../helpers/gateway.js';
import { spawnTs } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { FAST_WATCH, pixel, SMALL, tempFolders, waitForFile, watchJobs } from '../helpers/watch.js';

const folders = tempFolders();
afterEach(() => folders.cleanup());

it('SIGKILL while 20 files are pending, restart: each file (and those dropped while down) is processed exactly once', async () => {
  await using fake = await startFakeComfy({ stepMs: 30 }); // 8 steps: ~240 ms a job, so the kill lands mid-queue
  const home = folders.make('comfygate-home-');
  const dir = folders.make();
  const rule = { id: 'restart', dir, params: { width: 64, height: 64, steps: 8 } };
  const config = {
    ...testConfig(home, [{ name: 'a', url: fake.url }]),
    watch: [rule],
    watchOptions: { ...FAST_WATCH, maxQueued: 4 },
  };
  const configFile = path.join(home, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify(config));
  const store = openSqliteStore(path.join(home, 'comfygate.db')); // the test's own reader of the child's database
  const start = () =>
    spawnTs('daemon/src/cli/main.ts', ['start', '--config', configFile], { readyLine: /comfygate ready/ });
  const prompt = (i: number) => `watched prompt ${i}`;
  try {
    const first = await start();
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(dir, `p${i}.txt`), prompt(i));
    await waitFor(() => fake.control.stats().completed.length >= 3, { timeoutMs: 30_000, what: '3 prompts completed' });
    const before = await store.watch.counts('restart');
    await first.kill('SIGKILL');
    expect(before.done).toBeLessThan(20); // most files were still waiting

    for (let i = 20; i < 25; i++) fs.writeFileSync(path.join(dir, `p${i}.txt`), prompt(i)); // dropped while down
    const second = await start();
    try {
      await waitFor(async () => (await store.watch.counts('restart')).done === 25, {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: '25 files done',
      });
      expect(await store.watch.counts('restart')).toEqual({ pending: 0, submitted: 0, done: 25, failed: 0 });

      const jobs = await store.jobs.list({ client: 'watch:restart', limit: 1000 });
      const paths = jobs.map((j) => (j.metadata.watch as { path: string }).path);
      expect(paths.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `p${i}.txt`).sort()); // one job per file
      expect(jobs.every((j) => j.state === 'succeeded')).toBe(true);
      const executed = fake.control.stats().executed;
      expect(executed).toHaveLength(25); // nothing ran twice at the backend either
      expect(new Set(executed).size).toBe(25);

      for (const j of jobs) {
        const i = Number(/p(\d+)\.txt/.exec((j.metadata.watch as { path: string }).path)![1]);
        const seed = (j.metadata.params as { seed: number }).seed;
        expect(await pixel(path.join(dir, `p${i}.out.png`))).toEqual(expectedColor(seed, prompt(i)));
      }
    } finally {
      await second.kill('SIGTERM');
    }
  } finally {
    await store.close();
  }
}, 120_000);

it("a crash between creating a file's job and recording it does not make a second job", async () => {
  await using fake = await startFakeComfy();
  const home = makeHome();
  const dir = folders.make();
  const start = () =>
    startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      home,
      watch: [{ id: 'key', dir, params: SMALL }],
      watchOptions: FAST_WATCH,
    });
  try {
    const g1 = await start();
    fs.writeFileSync(path.join(dir, 'a.txt'), 'only once');
    await waitForFile(path.join(dir, 'a.out.png'));
    const [job] = await watchJobs(g1, 'key');
    const row = (await g1.daemon.store.watch.get('key', 'a.txt'))!;
    // What a kill right after daemon.submit leaves behind: the job exists, the row is still pending with its key.
    await g1.daemon.store.watch.release('key', 'a.txt', row.submitKey!);
    await g1.close();
    fs.rmSync(path.join(dir, 'a.out.png'));

    await using g2 = await start();
    await waitForFile(path.join(dir, 'a.out.png')); // written again from the job that already ran
    await waitFor(async () => (await g2.daemon.store.watch.get('key', 'a.txt'))?.state === 'done', {
      what: 'row done',
    });
    expect((await g2.daemon.store.watch.get('key', 'a.txt'))!.jobId).toBe(job!.id);
    expect((await watchJobs(g2, 'key')).map((j) => j.id)).toEqual([job!.id]);
    expect(fake.control.stats().executed).toHaveLength(1);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
