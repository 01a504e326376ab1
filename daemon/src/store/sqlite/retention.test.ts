import { afterEach, expect, it, vi } from 'vitest';
import type { Store } from '../types.js';
import { tempStore } from './test-store.js';
import { newJob } from '../new-job.fixture.js';

afterEach(() => void vi.useRealTimers());

const hook = (id: string, jobId: string | null = null) => ({
  id,
  url: 'http://127.0.0.1:9/h',
  secret: 'whsec_x',
  eventTypes: ['*' as const],
  jobId,
  batchId: null,
});
const attempts = async (s: Store, webhookId: string, n: number) => {
  for (let i = 1; i <= n; i++)
    await s.webhooks.failed({ webhookId, eventId: 1, attempt: i, status: 500, error: 'HTTP 500' });
};

it('prunes deliveries beyond the count in chunks; a dry run counts exactly what the real run removes', async () => {
  const s = tempStore();
  await s.webhooks.create(hook('wh_big'));
  await s.webhooks.create(hook('wh_small'));
  await attempts(s, 'wh_big', 12_010); // more than two chunks of 5,000
  await attempts(s, 'wh_small', 4);
  const opts = { before: null, perWebhook: 10, dryRun: true };
  expect(await s.retention.pruneWebhooks(opts)).toEqual({ webhooks: 0, deliveries: 12_000 });
  expect(await s.webhooks.deliveries('wh_big', 20_000)).toHaveLength(12_010);
  expect(await s.retention.pruneWebhooks({ ...opts, dryRun: false })).toEqual({ webhooks: 0, deliveries: 12_000 });
  expect((await s.webhooks.deliveries('wh_big', 20_000)).map((d) => d.attempt)).toEqual([
    12_010, 12_009, 12_008, 12_007, 12_006, 12_005, 12_004, 12_003, 12_002, 12_001,
  ]);
  expect(await s.webhooks.deliveries('wh_small', 10)).toHaveLength(4);
  expect(await s.retention.pruneWebhooks({ before: null, perWebhook: null, dryRun: false })).toEqual({
    webhooks: 0,
    deliveries: 0,
  });
});

it('removes job webhooks retired (their job gone) or given up before the cut with all their records, and only old records of the rest', async () => {
  const s = tempStore();
  vi.useFakeTimers({ toFake: ['Date'] });
  const t0 = Date.UTC(2030, 0, 1);
  vi.setSystemTime(t0);
  for (const id of ['j1', 'j3']) {
    await s.jobs.create(newJob({ id: id }));
    await s.jobs.transition({ jobId: id, from: ['queued'], to: 'canceled', event: { type: 'job:canceled' } });
  }
  for (const h of [
    hook('wh_retired', 'j1'),
    hook('wh_gave_up', 'j2'),
    hook('wh_disabled_global'),
    hook('wh_global'),
    hook('wh_recent_retired', 'j1'),
    hook('wh_retired_job_kept', 'j3'),
  ])
    await s.webhooks.create(h);
  for (const id of ['wh_retired', 'wh_gave_up', 'wh_disabled_global', 'wh_global', 'wh_retired_job_kept'])
    await attempts(s, id, 3);
  for (const id of ['wh_retired', 'wh_retired_job_kept']) {
    await s.webhooks.advance(id, await s.events.lastId());
    expect(await s.webhooks.retireIfDone(id)).toBe(true);
  }
  await s.retention.deleteJobs(['j1']); // j1 removed by retention; j3 stays, and a retry of it would revive its webhook
  await s.webhooks.disable('wh_gave_up');
  await s.webhooks.disable('wh_disabled_global');
  vi.setSystemTime(t0 + 10_000);
  await s.webhooks.advance('wh_recent_retired', await s.events.lastId());
  expect(await s.webhooks.retireIfDone('wh_recent_retired')).toBe(true);
  await attempts(s, 'wh_recent_retired', 2);
  await attempts(s, 'wh_global', 1);

  const cut = { before: t0 + 5_000, perWebhook: null };
  expect(await s.retention.pruneWebhooks({ ...cut, dryRun: true })).toEqual({ webhooks: 2, deliveries: 15 });
  expect(await s.retention.pruneWebhooks({ ...cut, dryRun: false })).toEqual({ webhooks: 2, deliveries: 15 });
  expect((await s.webhooks.list()).map((w) => w.id).sort()).toEqual([
    'wh_disabled_global',
    'wh_global',
    'wh_recent_retired',
    'wh_retired_job_kept',
  ]);
  expect(await s.webhooks.deliveries('wh_disabled_global', 10)).toEqual([]);
  expect(await s.webhooks.deliveries('wh_retired_job_kept', 10)).toEqual([]); // its old records go like any other's
  expect((await s.webhooks.deliveries('wh_global', 10)).map((d) => d.at)).toEqual([t0 + 10_000]);
  expect(await s.webhooks.deliveries('wh_recent_retired', 10)).toHaveLength(2);
});

it('offers no finished job an unfinished one needs: named as kept (its output is an input), or with its chain step still to make', async () => {
  const s = tempStore();
  const finish = async (id: string, then?: unknown[]) => {
    await s.jobs.create(newJob({ id: id, then }));
    await s.jobs.transition({
      jobId: id,
      from: ['queued'],
      to: 'succeeded',
      event: { type: 'job:succeeded' },
      patch: { finishedAt: Date.now() - 1_000 },
    });
  };
  await finish('input-of-a-step');
  await finish('chain-open', [{ template: 'upscale' }]);
  await finish('chain-stopped', [{ template: 'upscale' }]);
  await s.chains.stop('chain-stopped', 'no image');
  await finish('plain');
  expect((await s.retention.finishedJobIds(Date.now(), 10, ['input-of-a-step'])).sort()).toEqual([
    'chain-stopped',
    'plain',
  ]);
  expect(await s.retention.deleteJobs(await s.retention.finishedJobIds(Date.now(), 10, ['input-of-a-step']))).toBe(2);
  expect(await s.jobs.get('input-of-a-step')).not.toBeNull();
});
