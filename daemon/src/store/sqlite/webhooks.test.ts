import { expect, it } from 'vitest';
import type { NewJob, Store } from '../types.js';
import { tempStore } from './test-store.js';
import { newJob } from '../new-job.fixture.js';

const hook = (id: string, jobId: string, events: string[]) => ({
  id,
  url: 'http://127.0.0.1:9/h',
  secret: 'whsec_x',
  eventTypes: events as ['*'],
  jobId,
  batchId: null,
});

/** A finished job with webhooks for `*`, for its terminal events only, and a disabled one, all caught up and retired. */
async function finishedWithRetiredHooks(s: Store, state: 'succeeded' | 'failed', over: Partial<NewJob> = {}) {
  const { job } = await s.jobs.create(newJob(over));
  const ids = { all: `wh_all_${job.id}`, terminal: `wh_terminal_${job.id}`, disabled: `wh_disabled_${job.id}` };
  await s.webhooks.create(hook(ids.all, job.id, ['*']));
  await s.webhooks.create(hook(ids.terminal, job.id, ['job:succeeded', 'job:failed', 'job:canceled']));
  await s.webhooks.create(hook(ids.disabled, job.id, ['*']));
  await s.jobs.transition({
    jobId: job.id,
    from: ['queued'],
    to: state,
    event: { type: `job:${state}` },
    patch: { finishedAt: Date.now() },
  });
  for (const id of Object.values(ids)) {
    await s.webhooks.advance(id, await s.events.lastId());
    expect(await s.webhooks.retireIfDone(id)).toBe(true);
  }
  await s.webhooks.disable(ids.disabled);
  const retired = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(ids).map(async ([k, id]) => [k, (await s.webhooks.get(id))!.retiredAt !== null]),
      ),
    );
  return { job, ids, retired };
}

it("an event appended to a finished job revives, in its transaction, the job's retired webhooks that want it", async () => {
  const s = tempStore();
  const deleted = await finishedWithRetiredHooks(s, 'succeeded');
  expect(await s.jobs.delete(deleted.job.id)).toBe(true);
  expect(await deleted.retired()).toEqual({ all: false, terminal: true, disabled: true });
  // Once job:deleted went out it retires again (the job is gone, its newest event acknowledged).
  await s.webhooks.advance(deleted.ids.all, await s.events.lastId());
  expect(await s.webhooks.retireIfDone(deleted.ids.all)).toBe(true);

  const stopped = await finishedWithRetiredHooks(s, 'succeeded', { then: [{ template: 'upscale' }] });
  expect(await s.chains.stop(stopped.job.id, "chain stopped before 'upscale': no image")).toBe(true);
  expect(await stopped.retired()).toEqual({ all: false, terminal: true, disabled: true });
  expect(await s.webhooks.retireIfDone(stopped.ids.all)).toBe(false); // the warning is not acknowledged yet
});

it('a retry takes one job of the quota and revives every retired webhook of the job, with the move, or nothing', async () => {
  const s = tempStore();
  await s.tokens.put({
    id: 't1',
    name: 'designer',
    scope: 'submit',
    hash: 'h',
    dailyQuota: 2,
    createdAt: 0,
    revokedAt: null,
  });
  const claim = { tokenId: 't1', tokenName: 'designer', limit: 2 };
  const failed = await finishedWithRetiredHooks(s, 'failed');
  const day = Date.now() - (Date.now() % 86_400_000);
  const moved = await s.jobs.retry(failed.job.id, claim);
  expect(moved).toMatchObject({ state: 'queued', attempts: 0, error: null, finishedAt: null });
  expect(await s.tokens.quotaUsed('t1', day)).toBe(1);
  expect(await failed.retired()).toEqual({ all: false, terminal: false, disabled: true });
  expect(await s.jobs.retry(failed.job.id, claim)).toBeNull(); // queued: nothing to retry, nothing taken
  expect(await s.tokens.quotaUsed('t1', day)).toBe(1);

  const other = await finishedWithRetiredHooks(s, 'failed');
  await s.jobs.create(newJob(), claim); // the second and last job of the day
  const events = await s.events.lastId();
  await expect(s.jobs.retry(other.job.id, claim)).rejects.toMatchObject({
    code: 'rate_limited',
    retryAfterSec: expect.any(Number),
  });
  expect((await s.jobs.get(other.job.id))!.state).toBe('failed');
  expect(await other.retired()).toEqual({ all: true, terminal: true, disabled: true });
  expect(await s.events.lastId()).toBe(events);
  expect(await s.jobs.retry(other.job.id)).toMatchObject({ state: 'queued' }); // no quota (an admin token): free
});
