import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import type { Store } from '../store/types.js';
import { INTERNAL } from '../ownership/viewer.js';
import { WebhookConfig } from './config.js';
import { createWebhooks, type Webhooks } from './index.js';
import { newJob } from '../store/new-job.fixture.js';

interface Hit {
  id: string;
  body: { type: string; data: { jobId: string; event: { id: number } } };
}

const FAST = WebhookConfig.parse({
  backoff: { baseMs: 10, maxMs: 50, jitter: 0 },
  timeoutMs: 1_000,
  closeGraceMs: 200,
});
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A receiver answering each request with `status(n)` (n from 1), or never when it returns null. */
async function receiver(status: (n: number) => number | null = () => 200) {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push({ id: String(req.headers['webhook-id']), body: JSON.parse(body) });
      const s = status(hits.length);
      if (s !== null) res.writeHead(s).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => (server.closeAllConnections(), new Promise<void>((r) => server.close(() => r()))));
  return { hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

async function setup(config = FAST): Promise<{ store: Store; webhooks: Webhooks }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-wh-'));
  const store = openSqliteStore(path.join(dir, 'db.sqlite'));
  const webhooks = createWebhooks({ store, log: createLogger('silent') }, config);
  await webhooks.start();
  cleanups.push(
    async () => (await webhooks.close(), await store.close(), fs.rmSync(dir, { recursive: true, force: true })),
  );
  return { store, webhooks };
}

async function until<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('WebhookDispatcher', () => {
  it('delivers matching events in log order and passes over the rest', async () => {
    const { store, webhooks } = await setup();
    const rx = await receiver();
    const hook = await webhooks.register({ url: rx.url, events: ['job:succeeded', 'job:warning'] });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { job } = await store.jobs.create(newJob());
      ids.push((await store.events.append('job:warning', job.id, { i })).id);
      ids.push((await store.events.append('job:succeeded', job.id)).id);
    }
    await until(() => rx.hits.length === 10, '10 deliveries');
    expect(rx.hits.map((h) => h.body.data.event.id)).toEqual(ids);
    expect(rx.hits.map((h) => h.id)).toEqual(ids.map((id) => `${hook.id}_evt_${id}`));
    await until(
      async () => (await store.webhooks.get(hook.id))!.lastEventId === ids.at(-1),
      'cursor at the last event',
    );
  });

  it('retries a failing event with the same webhook-id before sending any later one', async () => {
    const { store, webhooks } = await setup();
    const rx = await receiver((n) => (n <= 2 ? 503 : 200));
    const hook = await webhooks.register({ url: rx.url, events: ['*'] });
    const { job } = await store.jobs.create(newJob());
    const second = await store.events.append('job:warning', job.id);
    await until(() => rx.hits.length === 4, '4 requests');
    expect(rx.hits.map((h) => h.body.type)).toEqual(['job:queued', 'job:queued', 'job:queued', 'job:warning']);
    expect(new Set(rx.hits.slice(0, 3).map((h) => h.id)).size).toBe(1);
    // The receiver counts a request before answering it: wait for the 4th record, not just the 4th request.
    const ds = await until(
      async () => ((d) => (d.length === 4 ? d : null))(await webhooks.deliveries(hook.id, 10, INTERNAL)),
      '4 records',
    );
    expect(ds.map((d) => [d.eventId === second.id, d.attempt, d.status, d.delivered])).toEqual([
      [true, 1, 200, true],
      [false, 3, 200, true],
      [false, 2, 503, false],
      [false, 1, 503, false],
    ]);
  });

  it('keeps job- and batch-scoped subscriptions to their own events', async () => {
    const { store, webhooks } = await setup();
    const rx = await receiver();
    const mine = newJob();
    const jobHook = await webhooks.register({ url: rx.url, jobId: mine.id, events: ['*'] });
    const batchHook = await webhooks.register({ url: `${rx.url}?batch`, batchId: 'b1' });
    await store.jobs.create(mine);
    await store.jobs.create(newJob());
    await store.batches.create({ id: 'b1', name: null, client: 'c' }, [newJob({ id: 'in-batch' })]);
    await store.events.append('job:succeeded', 'in-batch');
    await store.events.append('job:succeeded', mine.id);
    await until(() => rx.hits.length === 3, '3 deliveries');
    const seen = rx.hits.map((h) => [
      h.id.startsWith(jobHook.id) ? 'job' : h.id.startsWith(batchHook.id) ? 'batch' : '?',
      h.body.type,
      h.body.data.jobId,
    ]);
    expect(seen.sort()).toEqual([
      ['batch', 'job:succeeded', 'in-batch'],
      ['job', 'job:queued', mine.id],
      ['job', 'job:succeeded', mine.id],
    ]);
  });

  it("delivers events appended after its job finished and its subscription retired: a chain's stop warning, job:deleted", async () => {
    const { store, webhooks } = await setup();
    const rx = await receiver();
    const job = newJob();
    const hook = await webhooks.register({ url: rx.url, jobId: job.id, events: ['*'] });
    await store.jobs.create({ ...job, then: [{ template: 'upscale' }] });
    await store.jobs.transition({
      jobId: job.id,
      from: ['queued'],
      to: 'succeeded',
      event: { type: 'job:succeeded' },
      patch: { finishedAt: Date.now() },
    });
    const retired = () =>
      until(async () => (await store.webhooks.get(hook.id))!.retiredAt !== null, 'the subscription retired');
    await retired();
    expect(await store.chains.stop(job.id, "chain stopped before 'upscale': no image")).toBe(true);
    await until(() => rx.hits.length === 3, 'the warning delivered');
    await retired();
    expect(await store.jobs.delete(job.id)).toBe(true);
    await until(() => rx.hits.length === 4, 'job:deleted delivered');
    expect(rx.hits.map((h) => h.body.type)).toEqual(['job:queued', 'job:succeeded', 'job:warning', 'job:deleted']);
    await retired();
  });

  it('close() gives up on a hanging receiver after the grace period and records nothing', async () => {
    const { store, webhooks } = await setup();
    const rx = await receiver(() => null);
    const hook = await webhooks.register({ url: rx.url, events: ['*'] });
    await store.jobs.create(newJob());
    await until(() => rx.hits.length === 1, 'the request to arrive');
    const t0 = Date.now();
    await webhooks.close();
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await store.webhooks.deliveries(hook.id, 10)).toEqual([]);
    expect((await store.webhooks.get(hook.id))!.lastEventId).toBe(hook.lastEventId);
  });

  it('disables a subscription that has failed for longer than disableAfterMs', async () => {
    const { store, webhooks } = await setup(WebhookConfig.parse({ ...FAST, disableAfterMs: 100 }));
    const rx = await receiver(() => 500);
    const hook = await webhooks.register({ url: rx.url, events: ['*'] });
    await store.jobs.create(newJob());
    await until(async () => (await store.webhooks.get(hook.id))!.disabledAt !== null, 'the subscription disabled');
    const n = rx.hits.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(rx.hits.length).toBe(n);
  });
});
