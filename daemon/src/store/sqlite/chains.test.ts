import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import type { Store } from '../types.js';
import { openSqliteStore } from './index.js';
import { tempStore } from './test-store.js';
import { newJob } from '../new-job.fixture.js';

/** A job with one chain step to go, succeeded. */
async function succeededParent(s: Store): Promise<string> {
  const { job } = await s.jobs.create(newJob({ then: [{ template: 'upscale' }] }));
  await s.jobs.transition({
    jobId: job.id,
    from: ['queued'],
    to: 'succeeded',
    event: { type: 'job:succeeded' },
    patch: { finishedAt: Date.now() },
  });
  return job.id;
}

it("a chain step's insert records it on its parent in one transaction, once: a second maker writes nothing", async () => {
  const s = tempStore();
  const parent = await succeededParent(s);
  expect(await s.chains.unadvanced()).toEqual([parent]);
  const events = await s.events.lastId();
  const step = await s.jobs.create(newJob({ parentJobId: parent }));
  expect(await s.chains.unadvanced()).toEqual([]); // no window in which a restart would make it again
  await expect(s.jobs.create(newJob({ parentJobId: parent }))).rejects.toMatchObject({ code: 'conflict' });
  expect((await s.jobs.children(parent)).map((j) => j.id)).toEqual([step.job.id]);
  expect(await s.events.lastId()).toBe(events + 1); // the one step's job:queued, nothing of the refused one
  // Deleting the step does not reopen the chain, and a made chain cannot be stopped.
  await s.jobs.transition({ jobId: step.job.id, from: ['queued'], to: 'canceled', event: { type: 'job:canceled' } });
  expect(await s.jobs.delete(step.job.id)).toBe(true);
  expect(await s.chains.unadvanced()).toEqual([]);
  expect(await s.chains.stop(parent, 'too late')).toBe(false);
  await expect(s.jobs.create(newJob({ parentJobId: parent }))).rejects.toMatchObject({ code: 'conflict' });
});

it('a stopped chain takes no step, and two processes on one database make a step once', async () => {
  const s = tempStore();
  const stopped = await succeededParent(s);
  expect(await s.chains.stop(stopped, 'no image')).toBe(true);
  await expect(s.jobs.create(newJob({ parentJobId: stopped }))).rejects.toMatchObject({ code: 'conflict' });
  expect(await s.jobs.children(stopped)).toEqual([]);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-chain-'));
  const file = path.join(dir, 'db.sqlite');
  const a = openSqliteStore(file);
  const b = openSqliteStore(file);
  onTestFinished(async () => (await a.close(), await b.close(), fs.rmSync(dir, { recursive: true, force: true })));
  const parent = await succeededParent(a);
  // Both saw the chain open (as two daemons' startup passes would), then both make the step.
  expect([await a.chains.unadvanced(), await b.chains.unadvanced()]).toEqual([[parent], [parent]]);
  const made = await Promise.allSettled([
    a.jobs.create(newJob({ parentJobId: parent })),
    b.jobs.create(newJob({ parentJobId: parent })),
  ]);
  expect(made.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  expect(await b.jobs.children(parent)).toHaveLength(1);
});
