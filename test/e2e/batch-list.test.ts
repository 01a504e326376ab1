// GET /v1/batches: each token lists its own batches; the admin and a see-all reader list everyone's (issue 18).
import { describe, expect, it } from 'vitest';
import { GatewayClient, ListBatchesResponse } from '@comfygate/shared';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

type Call = (path: string, init?: RequestInit) => Promise<Response>;

function as(g: TestGateway, token: string): Call {
  return (p, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    if (typeof init.body === 'string') headers.set('content-type', 'application/json');
    return fetch(g.url + p, { ...init, headers });
  };
}

async function makeBatch(call: Call, name: string, jobs = 2): Promise<string> {
  const body = { name, jobs: Array.from({ length: jobs }, (_, i) => ({ graph: txt2img({ seed: i + 1, steps: 2 }) })) };
  const res = await call('/v1/batches', { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await jsonBody(res)).id as string;
}

/** Every page of a listing, following nextCursor (at most 20 pages). */
async function allPages(call: Call, query: string): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let before: string | null = null;
  for (let pages = 1; pages <= 20; pages++) {
    const res = await call(`/v1/batches?${query}${before ? `&before=${before}` : ''}`);
    expect(res.status).toBe(200);
    const page = ListBatchesResponse.parse(await jsonBody(res));
    ids.push(...page.batches.map((b) => b.id));
    before = page.nextCursor;
    if (!before) return { ids, pages };
  }
  throw new Error('the listing never ended');
}

describe('GET /v1/batches', () => {
  it('lists the caller own batches newest first, everyone for admin and see-all, by pages and by state', async () => {
    // An unreachable backend: every job stays queued, so every batch stays active until it is canceled.
    await using g = await startTestGateway({ backends: [{ name: 'a', url: 'http://127.0.0.1:9' }] });
    const make = async (name: string, scope: 'read' | 'submit', seeAll = false) => {
      const t = await g.client.createToken({ name, scope, seeAll });
      return { id: t.id, token: t.token, call: as(g, t.token) };
    };
    const alice = await make('alice', 'submit');
    const bob = await make('bob', 'submit');
    const reader = await make('reader', 'read');
    const dash = await make('dashboard', 'read', true);
    const admin = as(g, g.token);

    const a1 = await makeBatch(alice.call, 'alice one');
    const b1 = await makeBatch(bob.call, 'bob one', 3);
    const a2 = await makeBatch(alice.call, 'alice two');
    const list = async (call: Call, query = '') => jsonBody(await call(`/v1/batches${query}`));

    const mine = await list(alice.call);
    expect(mine.batches.map((b: { id: string }) => b.id)).toEqual([a2, a1]);
    expect(mine.nextCursor).toBeNull();
    const first = mine.batches[0];
    expect(first).toMatchObject({
      id: a2,
      name: 'alice two',
      owner: { id: alice.id, name: 'alice' },
      total: 2,
      done: 0,
      canceledAt: null,
      etaMs: null,
    });
    expect(first.counts).toMatchObject({ queued: 2, succeeded: 0, canceled: 0 });
    expect(first).not.toHaveProperty('jobIds'); // a summary: the ids are at GET /v1/batches/{id}
    const { jobIds, ...whole } = await jsonBody(await alice.call(`/v1/batches/${a2}`));
    expect(jobIds).toHaveLength(2);
    expect(first).toEqual(whole);

    expect((await list(bob.call)).batches.map((b: { id: string }) => b.id)).toEqual([b1]);
    expect((await list(bob.call)).batches[0]).toMatchObject({ total: 3, owner: { id: bob.id, name: 'bob' } });
    expect((await list(reader.call)).batches).toEqual([]); // a plain reader made none and sees none of the others
    expect((await list(admin)).batches.map((b: { id: string }) => b.id)).toEqual([a2, b1, a1]);
    expect((await list(dash.call)).batches.map((b: { id: string }) => b.id)).toEqual([a2, b1, a1]);

    // Pages: a cursor is the last id of a full page; the admin's pages of 2 cover all three once.
    expect(await allPages(admin, 'limit=2')).toEqual({ ids: [a2, b1, a1], pages: 2 });
    expect(await allPages(alice.call, 'limit=1')).toEqual({ ids: [a2, a1], pages: 3 });
    expect(await allPages(dash.call, 'limit=1')).toEqual({ ids: [a2, b1, a1], pages: 4 });
    // Another token's batch is no cursor for bob: 404, as GET /v1/batches/{id} answers him.
    const foreign = await bob.call(`/v1/batches?before=${a2}`);
    expect(foreign.status).toBe(404);
    expect((await jsonBody(foreign)).error.code).toBe('not_found');
    expect((await list(bob.call, `?before=${b1}`)).batches).toEqual([]);

    // By state: a canceled batch is done; the see-all reader may list it but not cancel it.
    expect((await dash.call(`/v1/batches/${a1}/cancel`, { method: 'POST' })).status).toBe(403);
    expect((await alice.call(`/v1/batches/${a1}/cancel`, { method: 'POST' })).status).toBe(200);
    const done = await list(alice.call, '?state=done');
    expect(done.batches.map((b: { id: string }) => b.id)).toEqual([a1]);
    expect(done.batches[0]).toMatchObject({ done: 2, total: 2, counts: { canceled: 2, queued: 0 } });
    expect(done.batches[0].canceledAt).toEqual(expect.any(Number));
    expect((await list(alice.call, '?state=active')).batches.map((b: { id: string }) => b.id)).toEqual([a2]);
    expect((await list(admin, '?state=active')).batches.map((b: { id: string }) => b.id)).toEqual([a2, b1]);
    expect((await list(admin, '?state=done&limit=1')).nextCursor).toBe(a1);

    // The typed client reads the same contract.
    const client = new GatewayClient({ baseUrl: g.url, token: bob.token });
    expect((await client.listBatches({ limit: 5 })).batches.map((b) => b.id)).toEqual([b1]);

    for (const bad of ['limit=0', 'limit=201', 'limit=x', 'state=running']) {
      const res = await alice.call(`/v1/batches?${bad}`);
      expect(res.status, bad).toBe(400);
      expect((await jsonBody(res)).error.code, bad).toBe('validation_failed');
    }
    expect((await fetch(`${g.url}/v1/batches`)).status).toBe(401);
  });

  it('a finished batch lists with the counts and ETA its own route gives', async () => {
    await using fake = await startFakeComfy({ stepMs: 1 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const admin = as(g, g.token);
    const id = await makeBatch(admin, 'quick', 3);
    await waitFor(async () => (await jsonBody(await admin(`/v1/batches/${id}`))).done === 3, { what: 'batch done' });
    const { batches } = await jsonBody(await admin('/v1/batches?state=done'));
    expect(batches.map((b: { id: string }) => b.id)).toEqual([id]);
    const { jobIds: _, ...whole } = await jsonBody(await admin(`/v1/batches/${id}`));
    expect(batches[0]).toEqual(whole);
    expect(batches[0]).toMatchObject({ done: 3, etaMs: 0, counts: { succeeded: 3 } });
    expect((await jsonBody(await admin('/v1/batches?state=active'))).batches).toEqual([]);
  });
});
