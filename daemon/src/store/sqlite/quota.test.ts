import { afterEach, expect, it, vi } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { Store } from '../types.js';
import { tempStore } from './test-store.js';
import { newJob } from '../new-job.fixture.js';

afterEach(() => void vi.useRealTimers());

async function storeWithToken(): Promise<Store> {
  const store = tempStore();
  await store.tokens.put({
    id: 't1',
    name: 'designer',
    scope: 'submit',
    hash: 'h',
    dailyQuota: 5,
    createdAt: 0,
    revokedAt: null,
  });
  return store;
}

const claim = { tokenId: 't1', tokenName: 'designer', limit: 5 };
const DAY = 86_400_000;

it('takes the quota inside the insert: of 20 creates exactly 5 are written, the rest refused with Retry-After', async () => {
  const store = await storeWithToken();
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => store.jobs.create(newJob(), claim)));
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
  for (const r of results.filter((x) => x.status === 'rejected')) {
    const err = (r as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe('rate_limited');
    expect(err.retryAfterSec).toBeGreaterThan(0);
  }
  expect(await store.jobs.list({ limit: 100 })).toHaveLength(5);
  expect(await store.events.lastId()).toBe(5); // the refused ones left no event either
});

it('takes a batch whole or not at all, and a replayed Idempotency-Key takes nothing', async () => {
  const store = await storeWithToken();
  await store.jobs.create(newJob({ idempotencyKey: 'k', requestHash: 'h' }), claim);
  expect((await store.jobs.create(newJob({ idempotencyKey: 'k', requestHash: 'h' }), claim)).kind).toBe('existing');
  await expect(
    store.batches.create(
      { id: 'b1', name: null, client: 'c' },
      [newJob(), newJob(), newJob(), newJob(), newJob()],
      claim,
    ),
  ).rejects.toMatchObject({ code: 'rate_limited' });
  expect(await store.batches.get('b1')).toBeNull();
  await store.batches.create({ id: 'b2', name: null, client: 'c' }, [newJob(), newJob(), newJob(), newJob()], claim);
  const day = Date.now() - (Date.now() % DAY);
  expect(await store.tokens.quotaUsed('t1', day)).toBe(5);
  await expect(store.jobs.create(newJob(), claim)).rejects.toMatchObject({ code: 'rate_limited' });
});

it('starts from zero on the next UTC day, and a clock stepping back does not reset the count', async () => {
  const store = await storeWithToken();
  vi.useFakeTimers({ toFake: ['Date'] });
  const monday = Date.UTC(2030, 0, 7, 23, 59, 59);
  vi.setSystemTime(monday);
  for (let i = 0; i < 5; i++) await store.jobs.create(newJob(), claim);
  await expect(store.jobs.create(newJob(), claim)).rejects.toMatchObject({ code: 'rate_limited', retryAfterSec: 1 });
  vi.setSystemTime(monday + 2_000);
  for (let i = 0; i < 3; i++) await store.jobs.create(newJob(), claim);
  vi.setSystemTime(monday - 60_000); // NTP stepped the clock back over midnight
  for (let i = 0; i < 2; i++) await store.jobs.create(newJob(), claim);
  await expect(store.jobs.create(newJob(), claim)).rejects.toMatchObject({ code: 'rate_limited' });
  expect(await store.tokens.quotaUsed('t1', Date.UTC(2030, 0, 8))).toBe(5);
  expect(await store.tokens.quotaUsed('t1', Date.UTC(2030, 0, 7))).toBe(5); // read for an earlier day: the later count
});
