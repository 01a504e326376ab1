import { describe, expect, it } from 'vitest';
import type { GatewayEvent } from '@comfygate/shared';
import type { NewJob, Store } from './types.js';
import { newJob as baseJob } from './new-job.fixture.js';

/** The suite every Store implementation must pass (SQLite now, PostgreSQL later). */
export function runStoreContract(
  name: string,
  makeStore: () => Promise<{ store: Store; dispose(): Promise<void> }>,
): void {
  const newJob = (over: Partial<NewJob> = {}): NewJob =>
    baseJob({
      client: 'alice',
      graphJson: '{"1":{"class_type":"X","inputs":{"seed":18446744073709551615}}}',
      maxAttempts: 3,
      ...over,
    });

  const withStore = (fn: (s: Store) => Promise<void>) => async () => {
    const { store, dispose } = await makeStore();
    try {
      await fn(store);
    } finally {
      await dispose();
    }
  };

  describe(`store contract: ${name}`, () => {
    it(
      'creates a job with its queued event and keeps the graph text verbatim',
      withStore(async (s) => {
        const seen: GatewayEvent[] = [];
        s.onEvent((e) => seen.push(e));
        const input = newJob();
        const r = await s.jobs.create(input);
        expect(r.kind).toBe('created');
        expect(r.job.state).toBe('queued');
        expect(r.job.graphJson).toBe(input.graphJson);
        expect(seen.map((e) => [e.type, e.jobId])).toEqual([['job:queued', input.id]]);
      }),
    );

    it(
      'returns the first job for a reused idempotency key and flags a different body',
      withStore(async (s) => {
        const a = await s.jobs.create(newJob({ idempotencyKey: 'k1', requestHash: 'h1' }));
        const b = await s.jobs.create(newJob({ idempotencyKey: 'k1', requestHash: 'h1' }));
        const c = await s.jobs.create(newJob({ idempotencyKey: 'k1', requestHash: 'h2' }));
        expect(b).toEqual({ kind: 'existing', job: a.job });
        expect(c.kind).toBe('key_conflict');
        expect((await s.jobs.list({ limit: 10 })).length).toBe(1);
      }),
    );

    it(
      'transitions by compare-and-set, writing the attempt and the event in one step',
      withStore(async (s) => {
        const { job } = await s.jobs.create(newJob());
        const moved = await s.jobs.transition({
          jobId: job.id,
          from: ['queued'],
          to: 'dispatched',
          event: { type: 'job:dispatched', data: { backend: 'a' } },
          patch: { attempts: 1, lastBackend: 'a' },
          newAttempt: { id: 'p1', jobId: job.id, backend: 'a', number: 1, state: 'posting' },
        });
        expect(moved?.state).toBe('dispatched');
        expect(moved?.attempts).toBe(1);
        expect(
          await s.jobs.transition({ jobId: job.id, from: ['queued'], to: 'canceled', event: { type: 'job:canceled' } }),
        ).toBeNull();
        expect((await s.attempts.open()).map((a) => a.id)).toEqual(['p1']);
        const events = await s.events.after(0, 10);
        expect(events.map((e) => e.type)).toEqual(['job:queued', 'job:dispatched']);
        expect(events[1]!.data).toMatchObject({ from: 'queued', to: 'dispatched', backend: 'a' });
      }),
    );

    it(
      'rolls back the whole transition when part of it fails',
      withStore(async (s) => {
        const { job } = await s.jobs.create(newJob());
        const out = {
          id: 'o1',
          jobId: job.id,
          attemptId: 'x',
          nodeId: '9',
          index: 0,
          filename: 'a.png',
          kind: 'output' as const,
          sha256: 'f'.repeat(64),
          bytes: 1,
          contentType: 'image/png',
          width: 1,
          height: 1,
          animated: false,
          createdAt: 0,
        };
        // The output references an asset that does not exist: the foreign key fails the transaction.
        await expect(
          s.jobs.transition({
            jobId: job.id,
            from: ['queued'],
            to: 'postprocessing',
            event: { type: 'job:postprocessing' },
            outputs: [out],
          }),
        ).rejects.toThrow();
        expect((await s.jobs.get(job.id))?.state).toBe('queued');
        expect((await s.events.after(0, 10)).length).toBe(1);
      }),
    );

    it(
      'commits the outputs with the rows of their blobs in the same transition',
      withStore(async (s) => {
        const { job } = await s.jobs.create(newJob());
        const sha256 = 'e'.repeat(64);
        const asset = { sha256, bytes: 1, contentType: 'image/png', width: 2, height: 3, createdAt: 0 };
        const out = {
          id: 'o1',
          jobId: job.id,
          attemptId: 'x',
          nodeId: '9',
          index: 0,
          filename: 'a.png',
          kind: 'output' as const,
          sha256,
          bytes: 1,
          contentType: 'image/png',
          width: 2,
          height: 3,
          animated: true,
          createdAt: 0,
        };
        const moved = await s.jobs.transition({
          jobId: job.id,
          from: ['queued'],
          to: 'postprocessing',
          event: { type: 'job:postprocessing' },
          assets: [asset],
          outputs: [out],
        });
        expect(moved?.state).toBe('postprocessing');
        expect(await s.assets.get(sha256)).toEqual(asset);
        expect((await s.outputs.forJobs([job.id])).get(job.id)?.map((o) => [o.sha256, o.animated])).toEqual([
          [sha256, true],
        ]);
        const texts = [{ nodeId: '7', index: 0, text: '42' }];
        const done = await s.jobs.transition({
          jobId: job.id,
          from: ['postprocessing'],
          to: 'succeeded',
          event: { type: 'job:succeeded' },
          patch: { texts },
        });
        expect([done?.texts, (await s.jobs.get(job.id))?.texts]).toEqual([texts, texts]);
      }),
    );

    it(
      'gives each client its head job by priority then FIFO, skipping jobs waiting for a retry',
      withStore(async (s) => {
        const a1 = await s.jobs.create(newJob({ client: 'a' }));
        await s.jobs.create(newJob({ client: 'a' }));
        const a3 = await s.jobs.create(newJob({ client: 'a', priority: 5 }));
        const b1 = await s.jobs.create(newJob({ client: 'b' }));
        const heads = await s.jobs.queueHeads(Date.now(), 1);
        expect(heads.map((j) => j.id).sort()).toEqual([a3.job.id, b1.job.id].sort());
        await s.jobs.transition({
          jobId: a3.job.id,
          from: ['queued'],
          to: 'dispatched',
          event: { type: 'job:dispatched' },
        });
        await s.jobs.transition({
          jobId: a3.job.id,
          from: ['dispatched'],
          to: 'queued',
          event: { type: 'job:retrying' },
          patch: { notBefore: Date.now() + 60_000 },
        });
        const later = await s.jobs.queueHeads(Date.now(), 1);
        expect(later.map((j) => j.id).sort()).toEqual([a1.job.id, b1.job.id].sort());
        expect(await s.jobs.nextWakeAt(Date.now())).toBeGreaterThan(Date.now());
      }),
    );

    it(
      'counts by state and lists with a cursor, newest first',
      withStore(async (s) => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await s.jobs.create(newJob())).job.id);
        const page1 = await s.jobs.list({ limit: 2 });
        expect(page1.map((j) => j.id)).toEqual([ids[4], ids[3]]);
        const page2 = await s.jobs.list({ limit: 2, beforeSeq: page1[1]!.seq });
        expect(page2.map((j) => j.id)).toEqual([ids[2], ids[1]]);
        expect((await s.jobs.countByState()).queued).toBe(5);
        expect(await s.jobs.countInState('queued')).toBe(5);
        expect(await s.jobs.countInState('running')).toBe(0);
      }),
    );

    it(
      'ranks queued jobs by priority then FIFO, and gives no rank once a job left the queue',
      withStore(async (s) => {
        const a = await s.jobs.create(newJob({ client: 'a' }));
        const b = await s.jobs.create(newJob({ client: 'b' }));
        const c = await s.jobs.create(newJob({ client: 'a', priority: 5 }));
        expect([
          await s.jobs.queuePosition(c.job.id),
          await s.jobs.queuePosition(a.job.id),
          await s.jobs.queuePosition(b.job.id),
        ]).toEqual([1, 2, 3]);
        await s.jobs.transition({
          jobId: c.job.id,
          from: ['queued'],
          to: 'dispatched',
          event: { type: 'job:dispatched' },
        });
        expect([await s.jobs.queuePosition(c.job.id), await s.jobs.queuePosition(a.job.id)]).toEqual([null, 1]);
        expect(await s.jobs.queuePosition('nope')).toBeNull();
      }),
    );

    it(
      'a new priority moves a queued job in the queue, and nothing else',
      withStore(async (s) => {
        const a = await s.jobs.create(newJob({ client: 'a' }));
        const b = await s.jobs.create(newJob({ client: 'b' }));
        expect((await s.jobs.setPriority(b.job.id, 3))?.priority).toBe(3);
        expect(await s.jobs.queuePosition(b.job.id)).toBe(1);
        await s.jobs.transition({
          jobId: a.job.id,
          from: ['queued'],
          to: 'dispatched',
          event: { type: 'job:dispatched' },
        });
        expect(await s.jobs.setPriority(a.job.id, 9)).toBeNull();
        expect((await s.jobs.get(a.job.id))?.priority).toBe(0);
        expect(await s.jobs.setPriority('nope', 1)).toBeNull();
      }),
    );

    it(
      'finds the first asset ref naming a blob under a file path',
      withStore(async (s) => {
        const sha256 = 'a'.repeat(64);
        await s.assets.upsert({ sha256, bytes: 3, contentType: 'image/png', width: null, height: null, createdAt: 1 });
        await s.assets.createRef({
          id: 'r1',
          sha256,
          filePath: 'x.png',
          contentType: 'image/png',
          jobId: null,
          createdAt: 1,
        });
        await s.assets.createRef({
          id: 'r2',
          sha256,
          filePath: 'x.png',
          contentType: 'image/png',
          jobId: null,
          createdAt: 2,
        });
        expect((await s.assets.findRef(sha256, 'x.png'))?.id).toBe('r1');
        expect(await s.assets.findRef(sha256, 'y.png')).toBeNull();
      }),
    );

    it(
      'replays events after an id',
      withStore(async (s) => {
        for (let i = 0; i < 3; i++) await s.jobs.create(newJob());
        const all = await s.events.after(0, 100);
        expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((x, y) => x - y));
        expect((await s.events.after(all[0]!.id, 100)).length).toBe(2);
        expect(await s.events.lastId()).toBe(all[2]!.id);
      }),
    );
  });

  describe(`store contract: ${name} templates`, () => {
    it(
      'refreshes a built-in in place but never overwrites a user template of that name',
      withStore(async (s) => {
        const t = {
          id: 'builtin-up',
          name: 'up',
          description: 'v1',
          graphJson: '{"1":1}',
          paramsJson: '[]',
          createdAt: 1,
        };
        await s.templates.putBuiltin(t);
        await s.templates.putBuiltin({ ...t, description: 'v2', graphJson: '{"1":2}', createdAt: 2 });
        expect(await s.templates.find('up')).toMatchObject({
          id: 'builtin-up',
          description: 'v2',
          graphJson: '{"1":2}',
          builtin: true,
          createdAt: 1,
        });
        await s.templates.create({ ...t, id: 'mine', name: 'mine', builtin: false });
        await s.templates.putBuiltin({ ...t, id: 'builtin-mine', name: 'mine', description: 'code' });
        expect(await s.templates.find('mine')).toMatchObject({ id: 'mine', description: 'v1', builtin: false });
      }),
    );
  });

  describe(`store contract: ${name} webhooks`, () => {
    const hook = (over: Partial<{ id: string; jobId: string | null; batchId: string | null }> = {}) => ({
      id: 'wh_1',
      url: 'http://127.0.0.1:9/h',
      secret: 'whsec_x',
      eventTypes: ['*' as const],
      jobId: null,
      batchId: null,
      ...over,
    });

    it(
      'starts a subscription at the newest event, lists it, and deletes it with its deliveries',
      withStore(async (s) => {
        await s.jobs.create(newJob());
        const w = await s.webhooks.create(hook());
        expect(w).toMatchObject({
          id: 'wh_1',
          eventTypes: ['*'],
          lastEventId: await s.events.lastId(),
          disabledAt: null,
        });
        await s.webhooks.create(hook({ id: 'wh_2' }));
        await s.webhooks.disable('wh_2');
        expect((await s.webhooks.list()).map((h) => h.id)).toEqual(['wh_1', 'wh_2']);
        expect((await s.webhooks.active()).map((h) => h.id)).toEqual(['wh_1']);
        await s.webhooks.failed({ webhookId: 'wh_1', eventId: 1, attempt: 1, status: 500, error: 'HTTP 500' });
        expect(await s.webhooks.delete('wh_1')).toBe(true);
        expect(await s.webhooks.delete('wh_1')).toBe(false);
        expect(await s.webhooks.deliveries('wh_1', 10)).toEqual([]);
        // A delivery for a subscription deleted meanwhile is dropped, not an error.
        await s.webhooks.delivered({ webhookId: 'wh_1', eventId: 1, attempt: 2, status: 200, error: null });
      }),
    );

    it(
      'moves the cursor with a 2xx record, keeps it on failure, never moves it back',
      withStore(async (s) => {
        await s.webhooks.create(hook());
        await s.webhooks.failed({ webhookId: 'wh_1', eventId: 5, attempt: 1, status: null, error: 'ECONNREFUSED' });
        expect((await s.webhooks.get('wh_1'))?.lastEventId).toBe(0);
        expect(await s.webhooks.lastAttempt('wh_1', 5)).toBe(1);
        await s.webhooks.delivered({ webhookId: 'wh_1', eventId: 5, attempt: 2, status: 204, error: null });
        expect((await s.webhooks.get('wh_1'))?.lastEventId).toBe(5);
        expect(await s.webhooks.lastAttempt('wh_1', 5)).toBe(2);
        expect(await s.webhooks.lastAttempt('wh_1', 6)).toBe(0);
        await s.webhooks.advance('wh_1', 3);
        expect((await s.webhooks.get('wh_1'))?.lastEventId).toBe(5);
        await s.webhooks.advance('wh_1', 9);
        expect((await s.webhooks.get('wh_1'))?.lastEventId).toBe(9);
        const ds = await s.webhooks.deliveries('wh_1', 10);
        expect(ds.map((d) => [d.eventId, d.attempt, d.status, d.error, d.delivered])).toEqual([
          [5, 2, 204, null, true],
          [5, 1, null, 'ECONNREFUSED', false],
        ]);
        expect((await s.webhooks.deliveries('wh_1', 1)).length).toBe(1);
      }),
    );

    it(
      'lists batches newest first by keyset pages, by owner and by active/done, with counts from aggregates',
      withStore(async (s) => {
        const made = [];
        // Ids out of order, so neither an order by id nor by createdAt could pass for the order of making.
        const owners = { b3: 't1', b1: 't2', b0: 't1', b4: 't2', b2: 't1' };
        for (const [id, owner] of Object.entries(owners))
          made.push(
            await s.batches.create({ id, name: null, client: 'c', owner }, [
              newJob({ id: `${id}-a` }),
              newJob({ id: `${id}-b` }),
            ]),
          );
        // Made within a millisecond or two: the order is the order of making, not of the (tied) createdAt.
        const order = made.map((b) => b.id).reverse();
        const paged: string[] = [];
        let before: string | undefined;
        for (let i = 0; i < 5; i++) {
          const page = await s.batches.list({ limit: 2, before });
          paged.push(...page.map((b) => b.id));
          if (page.length < 2) break;
          before = page[page.length - 1]!.id;
        }
        expect(paged).toEqual(order);
        expect(await s.batches.list({ limit: 2, before: 'nope' })).toEqual([]);
        expect((await s.batches.list({ limit: 10, owner: 't2' })).map((b) => b.id)).toEqual(
          order.filter((id) => id === 'b1' || id === 'b4'),
        );

        // b0: one job succeeded (ran 400 ms), one still queued; b1: both finished.
        const finish = (jobId: string, to: 'succeeded' | 'canceled', startedAt: number | null) =>
          s.jobs.transition({
            jobId,
            from: ['queued'],
            to,
            event: { type: to === 'succeeded' ? 'job:succeeded' : 'job:canceled' },
            patch: { startedAt, finishedAt: startedAt === null ? Date.now() : startedAt + 400 },
          });
        await finish('b0-a', 'succeeded', 1000);
        await finish('b1-a', 'succeeded', 1000);
        await finish('b1-b', 'canceled', null);
        for (const id of ['b2-a', 'b2-b']) (await finish(id, 'canceled', null), await s.jobs.delete(id));
        const active = (await s.batches.list({ limit: 10, state: 'active' })).map((b) => b.id);
        expect(active.sort()).toEqual(['b0', 'b3', 'b4']);
        const done = (await s.batches.list({ limit: 10, state: 'done' })).map((b) => b.id);
        expect(done.sort()).toEqual(['b1', 'b2']); // b2 has no jobs left: nothing unfinished
        expect((await s.batches.list({ limit: 10, owner: 't1', state: 'done' })).map((b) => b.id)).toEqual(['b2']);

        const t = await s.batches.tallies(['b0', 'b1', 'b2', 'b3', 'nope']);
        expect(t.get('b0')).toEqual({
          counts: { queued: 1, dispatched: 0, running: 0, postprocessing: 0, succeeded: 1, failed: 0, canceled: 0 },
          meanRunMs: 400,
        });
        expect(t.get('b1')).toEqual({
          counts: { queued: 0, dispatched: 0, running: 0, postprocessing: 0, succeeded: 1, failed: 0, canceled: 1 },
          meanRunMs: null, // nothing left to estimate
        });
        expect(t.get('b3')?.meanRunMs).toBeNull(); // nothing succeeded yet
        expect(t.has('b2')).toBe(false);
        expect(t.has('nope')).toBe(false);
        expect((await s.batches.tallies([])).size).toBe(0);
      }),
    );

    it(
      "reads one job's events and the batch a job belongs to",
      withStore(async (s) => {
        const a = await s.jobs.create(newJob());
        const b = await s.jobs.create(newJob());
        await s.events.append('job:warning', a.job.id, { message: 'x' });
        const evs = await s.webhooks.jobEvents(a.job.id, 0, 10);
        expect(evs.map((e) => [e.type, e.jobId])).toEqual([
          ['job:queued', a.job.id],
          ['job:warning', a.job.id],
        ]);
        expect(evs[1]!.data).toEqual({ message: 'x' });
        expect(await s.webhooks.jobEvents(a.job.id, evs[0]!.id, 10)).toHaveLength(1);
        expect(await s.webhooks.batchOf(b.job.id)).toBeNull();
        expect(await s.webhooks.batchOf('nope')).toBeNull();
        await s.batches.create({ id: 'b1', name: null, client: 'alice' }, [newJob({ id: 'in-batch' })]);
        expect(await s.webhooks.batchOf('in-batch')).toBe('b1');
      }),
    );

    it(
      "retires a job's subscription only once the job finished and the cursor is at its newest event",
      withStore(async (s) => {
        const job = newJob();
        await s.webhooks.create(hook({ jobId: job.id }));
        await s.webhooks.create(hook({ id: 'wh_all' }));
        expect(await s.webhooks.retireIfDone('wh_1')).toBe(false); // registered before its job's insert: not done, early
        await s.jobs.create(job);
        await s.webhooks.advance('wh_1', await s.events.lastId());
        expect(await s.webhooks.retireIfDone('wh_1')).toBe(false); // queued: more to come
        const end = await s.jobs.transition({
          jobId: job.id,
          from: ['queued'],
          to: 'canceled',
          event: { type: 'job:canceled' },
        });
        expect(await s.webhooks.retireIfDone('wh_1')).toBe(false); // job:canceled not handled yet
        await s.webhooks.delivered({
          webhookId: 'wh_1',
          eventId: await s.events.lastId(),
          attempt: 1,
          status: 200,
          error: null,
        });
        expect(await s.webhooks.retireIfDone('wh_all')).toBe(false); // not job-scoped: never retired
        expect(await s.webhooks.retireIfDone('wh_1')).toBe(true);
        expect((await s.webhooks.get('wh_1'))!.retiredAt).toBeGreaterThanOrEqual(end!.updatedAt);
        expect((await s.webhooks.active()).map((h) => h.id)).toEqual(['wh_all']);
        expect(await s.webhooks.deliveries('wh_1', 10)).toHaveLength(1); // the history stays
        // Retried: back on the work list, resuming after the event it stopped at.
        expect(await s.webhooks.reviveForJob(job.id)).toBe(1);
        expect((await s.webhooks.get('wh_1'))!.retiredAt).toBeNull();
        // A job deleted once finished (its events stay) is done too.
        const gone = newJob();
        await s.webhooks.create(hook({ id: 'wh_gone', jobId: gone.id }));
        await s.jobs.create(gone);
        await s.jobs.transition({ jobId: gone.id, from: ['queued'], to: 'canceled', event: { type: 'job:canceled' } });
        await s.jobs.delete(gone.id);
        expect(await s.webhooks.retireIfDone('wh_gone')).toBe(false);
        await s.webhooks.advance('wh_gone', await s.events.lastId());
        expect(await s.webhooks.retireIfDone('wh_gone')).toBe(true);
      }),
    );

    it(
      'keeps owners: lists and replays narrowed to one, events carry theirs (job:deleted included), assets owned per token',
      withStore(async (s) => {
        const heard: [string, string | null][] = [];
        s.onEvent((e, owner) => heard.push([e.type, owner]));
        const mine = newJob({ owner: 't1' });
        const theirs = newJob({ owner: 't2' });
        await s.jobs.create(mine);
        await s.jobs.create(theirs);
        await s.events.append('backend:up', null, {});
        expect((await s.jobs.list({ owner: 't1', limit: 10 })).map((j) => [j.id, j.owner])).toEqual([[mine.id, 't1']]);
        expect((await s.jobs.get(theirs.id))!.owner).toBe('t2');
        await s.jobs.transition({ jobId: mine.id, from: ['queued'], to: 'canceled', event: { type: 'job:canceled' } });
        expect(await s.jobs.delete(mine.id)).toBe(true);
        expect(heard).toEqual([
          ['job:queued', 't1'],
          ['job:queued', 't2'],
          ['backend:up', null],
          ['job:canceled', 't1'],
          ['job:deleted', 't1'],
        ]);
        expect((await s.events.after(0, 10, 't1')).map((e) => e.type)).toEqual([
          'job:queued',
          'backend:up',
          'job:canceled',
          'job:deleted',
        ]);
        expect((await s.events.after(0, 10, 't2')).map((e) => [e.type, e.jobId])).toEqual([
          ['job:queued', theirs.id],
          ['backend:up', null],
        ]);

        const batch = await s.batches.create({ id: 'b1', name: null, client: 'c', owner: 't2' }, [
          newJob({ owner: 't1' }),
        ]);
        expect(batch.owner).toBe('t2');
        expect((await s.batches.jobs('b1')).map((j) => j.owner)).toEqual(['t2']); // a batch's jobs are the batch's owner's

        await s.webhooks.create({
          id: 'wh_1',
          url: 'http://x',
          secret: 's',
          eventTypes: ['*'],
          jobId: theirs.id,
          batchId: null,
          owner: 't2',
        });
        expect(await s.webhooks.list('t1')).toEqual([]);
        expect((await s.webhooks.list('t2')).map((w) => w.owner)).toEqual(['t2']);

        const sha256 = 'b'.repeat(64);
        const blob = { sha256, bytes: 3, contentType: 'image/png', width: null, height: null, createdAt: 1 };
        await s.assets.upsert(blob, 't1');
        await s.assets.upsert(blob, 't2');
        const owners = await Promise.all(['t1', 't2', 't3'].map((t) => s.assets.ownedBy(sha256, t)));
        expect(owners).toEqual([true, true, false]);
        expect(await s.assets.resolve(sha256, 't3')).toBeNull();
        expect((await s.assets.resolve(sha256, 't1'))?.sha256).toBe(sha256);
        await s.assets.createRef({
          id: 'r1',
          sha256,
          filePath: 'x.png',
          contentType: 'image/png',
          jobId: null,
          owner: 't1',
          createdAt: 1,
        });
        expect(await s.assets.findRef(sha256, 'x.png', 't2')).toBeNull();
        expect((await s.assets.findRef(sha256, 'x.png', 't1'))?.id).toBe('r1');
        expect(await s.assets.resolve('r1', 't2')).toBeNull();
      }),
    );
  });
}
