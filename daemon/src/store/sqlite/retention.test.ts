import { afterEach, expect, it, vi } from 'vitest';
import type { Store } from '../types.js';
import { tempStore } from './test-store.js';

afterEach(() => void vi.useRealTimers());

const hook = (id: string, jobId: string | null = null) => ({ id, url: 'http://127.0.0.1:9/h', secret: 'whsec_x', eventTypes: ['*' as const], jobId, batchId: null });
const attempts = async (s: Store, webhookId: string, n: number) => {
  for (let i = 1; i <= n; i++) await s.webhooks.failed({ webhookId, eventId: 1, attempt: i, status: 500, error: 'HTTP 500' });
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
  expect((await s.webhooks.deliveries('wh_big', 20_000)).map((d) => d.attempt)).toEqual([12_010, 12_009, 12_008, 12_007, 12_006, 12_005, 12_004, 12_003, 12_002, 12_001]);
  expect(await s.webhooks.deliveries('wh_small', 10)).toHaveLength(4);
  expect(await s.retention.pruneWebhooks({ before: null, perWebhook: null, dryRun: false })).toEqual({ webhooks: 0, deliveries: 0 });
});

it('removes job webhooks retired or given up before the cut with all their records, and only old records of the rest', async () => {
  const s = tempStore();
  vi.useFakeTimers({ toFake: ['Date'] });
  const t0 = Date.UTC(2030, 0, 1);
  vi.setSystemTime(t0);
  await s.jobs.create({ id: 'j1', priority: 0, client: 'c', backendPin: null, graphJson: '{}', metadata: {}, postprocess: null, maxAttempts: 1, idempotencyKey: null, requestHash: null });
  await s.jobs.transition({ jobId: 'j1', from: ['queued'], to: 'canceled', event: { type: 'job:canceled' } });
  for (const h of [hook('wh_retired', 'j1'), hook('wh_gave_up', 'j2'), hook('wh_disabled_global'), hook('wh_global'), hook('wh_recent_retired', 'j1')]) await s.webhooks.create(h);
  for (const id of ['wh_retired', 'wh_gave_up', 'wh_disabled_global', 'wh_global']) await attempts(s, id, 3);
  await s.webhooks.advance('wh_retired', await s.events.lastId());
  expect(await s.webhooks.retireIfDone('wh_retired')).toBe(true);
  await s.webhooks.disable('wh_gave_up');
  await s.webhooks.disable('wh_disabled_global');
  vi.setSystemTime(t0 + 10_000);
  await s.webhooks.advance('wh_recent_retired', await s.events.lastId());
  expect(await s.webhooks.retireIfDone('wh_recent_retired')).toBe(true);
  await attempts(s, 'wh_recent_retired', 2);
  await attempts(s, 'wh_global', 1);

  const cut = { before: t0 + 5_000, perWebhook: null };
  expect(await s.retention.pruneWebhooks({ ...cut, dryRun: true })).toEqual({ webhooks: 2, deliveries: 12 });
  expect(await s.retention.pruneWebhooks({ ...cut, dryRun: false })).toEqual({ webhooks: 2, deliveries: 12 });
  expect((await s.webhooks.list()).map((w) => w.id).sort()).toEqual(['wh_disabled_global', 'wh_global', 'wh_recent_retired']);
  expect(await s.webhooks.deliveries('wh_disabled_global', 10)).toEqual([]);
  expect((await s.webhooks.deliveries('wh_global', 10)).map((d) => d.at)).toEqual([t0 + 10_000]);
  expect(await s.webhooks.deliveries('wh_recent_retired', 10)).toHaveLength(2);
});
