// Jobs, batches, assets, webhooks and watch rules belong to the token that made them (issue 13, item 4).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import WebSocket from 'ws';
import type { StreamEvent } from '@comfygate/shared';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { FAST_WATCH, tempFolders } from '../helpers/watch.js';

type Call = (path: string, init?: RequestInit) => Promise<Response>;

/** fetch as one token; a string body is JSON. */
function as(g: TestGateway, token: string): Call {
  return (p, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    if (typeof init.body === 'string') headers.set('content-type', 'application/json');
    return fetch(g.url + p, { ...init, headers });
  };
}
const post = (body?: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body ?? {}) });
const status = async (res: Promise<Response>) => {
  const r = await res;
  await r.arrayBuffer();
  return r.status;
};

/** Four callers besides the admin: two submitters, a reader, and a read token that may see everything. */
async function people(g: TestGateway) {
  const make = async (name: string, scope: 'read' | 'submit', seeAll = false) => {
    const t = await g.client.createToken({ name, scope, seeAll });
    return { id: t.id, name, call: as(g, t.token), token: t.token };
  };
  return {
    alice: await make('alice', 'submit'),
    bob: await make('bob', 'submit'),
    reader: await make('reader', 'read'),
    dash: await make('dashboard', 'read', true),
    admin: { id: 'local-admin', call: as(g, g.token), token: g.token },
  };
}

async function submit(call: Call, graph = txt2img({ steps: 2 })): Promise<string> {
  const res = await call('/v1/jobs', post({ graph }));
  expect(res.status).toBe(201);
  return (await jsonBody(res)).id as string;
}

const waitState = (call: Call, id: string, state: string) =>
  waitFor(
    async () => {
      const j = await jsonBody(await call(`/v1/jobs/${id}`));
      return j.state === state ? j : null;
    },
    { what: `job ${id} ${state}` },
  );

const png = (color: string) =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: color } })
    .png()
    .toBuffer();

describe('ownership', () => {
  it(
    'jobs: another submit token gets 404 on every job route and is left out of lists; a reader sees its own; ' +
      'a see-all reader reads all but cannot act; admin does all',
    async () => {
      await using fake = await startFakeComfy();
      await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
      const { alice, bob, reader, dash, admin } = await people(g);

      const done = await submit(alice.call);
      const job = await waitState(alice.call, done, 'succeeded');
      expect(job.owner).toEqual({ id: alice.id, name: 'alice' });
      expect(job.outputs.length).toBeGreaterThan(0);
      const outputId = job.outputs[0].id as string;
      const variantId = job.outputs[0].variants[0].id as string;

      // A job that stays queued: the only backend is drained.
      expect((await admin.call('/v1/backends/a/drain', post({ draining: true }))).status).toBe(200);
      const queued = await submit(alice.call);
      const mine = await submit(bob.call);

      for (const id of [done, queued]) {
        const routes = [
          ['GET', `/v1/jobs/${id}`],
          ['GET', `/v1/jobs/${id}/preview`],
          ['GET', `/v1/jobs/${id}/chain`],
          ['POST', `/v1/jobs/${id}/cancel`],
          ['POST', `/v1/jobs/${id}/retry`],
          ['DELETE', `/v1/jobs/${id}`],
          ['GET', `/v1/jobs?before=${id}`],
        ] as const;
        for (const [method, p] of routes) {
          const res = await bob.call(p, method === 'POST' ? post() : { method });
          const body = await jsonBody(res);
          expect([res.status, body.error?.code], `bob ${method} ${p}`).toEqual([404, 'not_found']);
        }
        expect(await status(reader.call(`/v1/jobs/${id}`)), 'reader').toBe(404);
        expect(await status(dash.call(`/v1/jobs/${id}`)), 'see-all reader').toBe(200);
      }
      for (const p of [`/v1/outputs/${outputId}`, `/v1/outputs/${variantId}`]) {
        expect(await status(bob.call(p)), `bob ${p}`).toBe(404);
        expect(await status(reader.call(p)), `reader ${p}`).toBe(404);
        expect(await status(dash.call(p)), `dash ${p}`).toBe(200);
        expect(await status(alice.call(p)), `alice ${p}`).toBe(200);
      }
      expect((await waitState(alice.call, queued, 'queued')).state).toBe('queued'); // bob's cancel did nothing

      const ids = async (call: Call) =>
        ((await jsonBody(await call('/v1/jobs?limit=500'))).jobs as { id: string }[]).map((j) => j.id).sort();
      expect(await ids(bob.call)).toEqual([mine]);
      expect(await ids(alice.call)).toEqual([done, queued].sort());
      expect(await ids(reader.call)).toEqual([]);
      expect(await ids(dash.call)).toEqual([done, queued, mine].sort());
      expect(await ids(admin.call)).toEqual([done, queued, mine].sort());

      // Reading everything is not acting on it: the see-all reader has no submit scope, and a see-all submit token
      // may cancel only its own.
      expect(await status(dash.call(`/v1/jobs/${queued}/cancel`, post()))).toBe(403);
      const lead = await g.client.createToken({ name: 'lead', scope: 'submit', seeAll: true });
      const leadCall = as(g, lead.token);
      expect(await status(leadCall(`/v1/jobs/${queued}`))).toBe(200);
      const refused = await leadCall(`/v1/jobs/${queued}/cancel`, post());
      expect([refused.status, (await jsonBody(refused)).error.code]).toEqual([403, 'forbidden']);
      expect(await status(leadCall(`/v1/jobs/${done}`, { method: 'DELETE' }))).toBe(403);

      // The admin acts on anyone's.
      expect((await jsonBody(await admin.call(`/v1/jobs/${queued}/cancel`, post()))).state).toBe('canceled');
      expect(await status(admin.call(`/v1/jobs/${done}`, { method: 'DELETE' }))).toBe(204);
      expect(await status(alice.call(`/v1/jobs/${done}`))).toBe(404);
      // Alice still acts on her own.
      expect((await jsonBody(await alice.call(`/v1/jobs/${queued}/retry`, post()))).state).toBe('queued');
      expect((await jsonBody(await alice.call(`/v1/jobs/${queued}/cancel`, post()))).state).toBe('canceled');
    },
  );

  it('batches: another token gets 404 on the batch, its zip and its cancel; a see-all reader downloads the zip but cannot cancel', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const { alice, bob, reader, dash, admin } = await people(g);
    expect((await admin.call('/v1/backends/a/drain', post({ draining: true }))).status).toBe(200);
    const created = await alice.call(
      '/v1/batches',
      post({ name: 'mine', jobs: [{ graph: txt2img({ seed: 1 }) }, { graph: txt2img({ seed: 2 }) }] }),
    );
    expect(created.status).toBe(201);
    const batch = await jsonBody(created);
    expect(batch.owner).toEqual({ id: alice.id, name: 'alice' });
    for (const jobId of batch.jobIds as string[])
      expect((await jsonBody(await alice.call(`/v1/jobs/${jobId}`))).owner.id).toBe(alice.id);

    for (const call of [bob.call, reader.call]) {
      expect(await status(call(`/v1/batches/${batch.id}`))).toBe(404);
      expect(await status(call(`/v1/batches/${batch.id}/archive`))).toBe(404);
    }
    expect(await status(bob.call(`/v1/batches/${batch.id}/cancel`, post()))).toBe(404);
    expect((await jsonBody(await alice.call(`/v1/batches/${batch.id}`))).counts.queued).toBe(2);

    expect(await status(dash.call(`/v1/batches/${batch.id}`))).toBe(200);
    const zip = await dash.call(`/v1/batches/${batch.id}/archive`);
    expect([zip.status, zip.headers.get('content-type')]).toEqual([200, 'application/zip']);
    await zip.arrayBuffer();
    expect(await status(dash.call(`/v1/batches/${batch.id}/cancel`, post()))).toBe(403);

    const canceled = await jsonBody(await admin.call(`/v1/batches/${batch.id}/cancel`, post()));
    expect(canceled.counts.canceled).toBe(2);
  });

  it("webhooks: no subscription to another token's job or batch; another's subscriptions are hidden and cannot be removed", async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const { alice, bob, admin } = await people(g);
    expect((await admin.call('/v1/backends/a/drain', post({ draining: true }))).status).toBe(200);
    const job = await submit(alice.call);
    const batch = await jsonBody(await alice.call('/v1/batches', post({ jobs: [{ graph: txt2img() }] })));
    const url = 'http://127.0.0.1:9/hook';

    for (const scope of [{ jobId: job }, { batchId: batch.id }]) {
      const res = await bob.call('/v1/webhooks', post({ url, ...scope }));
      expect([res.status, (await jsonBody(res)).error.code], JSON.stringify(scope)).toEqual([404, 'not_found']);
    }
    const hook = await jsonBody(await alice.call('/v1/webhooks', post({ url, jobId: job })));
    expect(hook.id).toMatch(/^wh_/);
    // A hook given with the job at submit belongs to the submitter too.
    const secret = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
    const withHook = await jsonBody(await alice.call('/v1/jobs', post({ graph: txt2img(), webhook: { url, secret } })));

    const list = async (call: Call) =>
      ((await jsonBody(await call('/v1/webhooks'))) as { id: string; jobId: string }[]).map((w) => w.jobId).sort();
    expect(await list(bob.call)).toEqual([]);
    expect(await list(alice.call)).toEqual([job, withHook.id].sort());
    expect(await list(admin.call)).toEqual([job, withHook.id].sort());
    for (const [method, p] of [
      ['GET', ''],
      ['GET', '/deliveries'],
      ['DELETE', ''],
    ]) {
      expect(await status(bob.call(`/v1/webhooks/${hook.id}${p}`, { method })), `${method} ${p}`).toBe(404);
    }
    expect(await status(alice.call(`/v1/webhooks/${hook.id}`))).toBe(200);
    expect(await status(alice.call(`/v1/webhooks/${hook.id}`, { method: 'DELETE' }))).toBe(204);
  });

  it(
    "assets: owned per token though stored once; another's upload is not found on /v1 and /api/v2, cannot go into a job, " +
      'and deleting mine keeps theirs',
    async () => {
      await using fake = await startFakeComfy();
      await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
      const { alice, bob, reader, dash } = await people(g);
      const img = await png('#204080');
      const up = (call: Call, body: Buffer) =>
        call('/v1/assets', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });

      const first = await up(alice.call, img);
      expect(first.status).toBe(201);
      const sha = (await jsonBody(first)).sha256 as string;
      expect(await status(bob.call(`/v1/assets/${sha}`))).toBe(404);
      expect(await status(reader.call(`/v1/assets/${sha}`))).toBe(404);
      expect(await status(dash.call(`/v1/assets/${sha}`))).toBe(200);
      expect(await status(alice.call(`/v1/assets/${sha}`))).toBe(200);
      // Bob may not put alice's image into his job (its outputs would hand it to him).
      const ref = { __type: 'core/ASSET', info: { id: sha } };
      const graph = { ...txt2img(), '10': { class_type: 'LoadImage', inputs: { image: ref } } };
      const stolen = await bob.call('/v1/jobs', post({ graph }));
      expect([stolen.status, (await jsonBody(stolen)).error.code]).toEqual([422, 'missing_asset']);
      // Nor through a template's image parameter, nor in a batch.
      const viaTemplate = await bob.call('/v1/jobs', post({ template: 'img2img', params: { image: sha, steps: 2 } }));
      expect([viaTemplate.status, (await jsonBody(viaTemplate)).error.code]).toEqual([422, 'missing_asset']);
      const inBatch = await bob.call('/v1/batches', post({ jobs: [{ graph: txt2img() }, { graph }] }));
      expect([inBatch.status, (await jsonBody(inBatch)).error.code]).toEqual([422, 'missing_asset']);
      expect(
        await status(alice.call('/v1/jobs', post({ template: 'img2img', params: { image: sha, steps: 2 } }))),
      ).toBe(201);
      // The same bytes from bob: stored once, now his too (201: that alice had them is not his to learn).
      expect((await up(bob.call, img)).status).toBe(201);
      expect((await up(bob.call, img)).status).toBe(200);
      expect(await status(bob.call(`/v1/assets/${sha}`))).toBe(200);

      // v2: each token's upload is its own asset, even for the same bytes and name.
      const form = (bytes: Buffer) => {
        const f = new FormData();
        f.append('content_type', 'image/png');
        f.append('file_path', 'in.png');
        f.append('file', new Blob([bytes]), 'in.png');
        return f;
      };
      const other = await png('#a04020');
      const a = await jsonBody(await alice.call('/api/v2/assets', { method: 'POST', body: form(other) }));
      for (const p of [`/api/v2/assets/${a.id}`, `/api/v2/assets/${a.id}/content`])
        expect(await status(bob.call(p)), p).toBe(404);
      expect(await status(bob.call(`/api/v2/assets/${a.id}`, { method: 'DELETE' }))).toBe(404);
      const v2Ref = { __type: 'core/ASSET', info: { id: a.id } };
      const v2Stolen = await bob.call(
        '/api/v2/jobs',
        post({ workflow: { ...txt2img(), '10': { class_type: 'LoadImage', inputs: { image: v2Ref } } } }),
      );
      expect(v2Stolen.status).toBe(422);
      await v2Stolen.arrayBuffer();
      const b = await bob.call('/api/v2/assets', { method: 'POST', body: form(other) });
      const bAsset = await jsonBody(b);
      expect([b.status, bAsset.created_new]).toEqual([201, true]);
      expect(bAsset.id).not.toBe(a.id);
      expect(await status(bob.call(`/api/v2/assets/${bAsset.id}`, { method: 'DELETE' }))).toBe(204);
      const content = await alice.call(`/api/v2/assets/${a.id}/content`);
      expect(content.status).toBe(200);
      expect(Buffer.from(await content.arrayBuffer()).equals(other)).toBe(true);
      expect(await status(dash.call(`/api/v2/assets/${a.id}`))).toBe(200);
      expect(await status(dash.call(`/api/v2/assets/${a.id}`, { method: 'DELETE' }))).toBe(403);
    },
  );

  it('/api/v2 jobs: another token gets 404 and a filtered list', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const { alice, bob, dash, admin } = await people(g);
    expect((await admin.call('/v1/backends/a/drain', post({ draining: true }))).status).toBe(200);
    const job = (await jsonBody(await alice.call('/api/v2/jobs', post({ workflow: txt2img() })))).id as string;
    const own = (await jsonBody(await bob.call('/api/v2/jobs', post({ workflow: txt2img({ seed: 5 }) })))).id as string;
    for (const [method, p] of [
      ['GET', `/api/v2/jobs/${job}`],
      ['GET', `/api/v2/jobs/${job}/workflow`],
      ['GET', `/api/v2/jobs/${job}/events`],
      ['POST', `/api/v2/jobs/${job}/cancel`],
      ['DELETE', `/api/v2/jobs/${job}`],
    ] as const) {
      const res = await bob.call(p, method === 'POST' ? post() : { method });
      expect([res.status, (await jsonBody(res)).error?.code], `${method} ${p}`).toEqual([404, 'not_found']);
    }
    const ids = async (call: Call) =>
      ((await jsonBody(await call('/api/v2/jobs'))).jobs as { id: string }[]).map((j) => j.id).sort();
    expect(await ids(bob.call)).toEqual([own]);
    expect(await ids(dash.call)).toEqual([job, own].sort());
    expect((await jsonBody(await alice.call(`/api/v2/jobs/${job}`))).status).toBe('queued');
  });

  it("event streams: SSE and /v1/ws carry only the caller's jobs (replay and live, progress included); a see-all reader hears all", async () => {
    await using fake = await startFakeComfy({ stepMs: 15 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const { alice, bob, dash } = await people(g);
    const early = await submit(alice.call, txt2img({ steps: 6 }));
    await waitState(alice.call, early, 'succeeded');

    // With a replay from the start of the log (since 0) and without (live only).
    const streams = {
      bobSse: collectSse(g.url, bob.token, 0),
      bobWs: collectWs(g.url, bob.token),
      bobWsReplay: collectWs(g.url, bob.token, 0),
      dashSse: collectSse(g.url, dash.token, 0),
      dashWs: collectWs(g.url, dash.token),
    };
    await Promise.all(Object.values(streams).map((s) => s.ready));
    const late = await submit(alice.call, txt2img({ steps: 6, seed: 2 }));
    await waitState(alice.call, late, 'succeeded');
    const own = await submit(bob.call, txt2img({ steps: 6, seed: 3 }));
    await waitState(bob.call, own, 'succeeded');

    const until = (s: Stream, id: string) =>
      waitFor(() => s.events.some((e) => e.jobId === id && e.type === 'job:succeeded'), { what: `${id} on a stream` });
    for (const [name, s] of Object.entries(streams)) {
      await until(s, own);
      const jobs = new Set(s.events.map((e) => e.jobId).filter((id) => id !== null)); // null: a backend's event, everyone's
      if (name.startsWith('bob')) {
        expect([...jobs], name).toEqual([own]);
      } else {
        expect(
          [late, own].every((id) => jobs.has(id)),
          name,
        ).toBe(true);
        if (name === 'dashSse') expect(jobs.has(early), 'replayed').toBe(true);
      }
      s.close();
    }
    expect(streams.dashSse.events.some((e) => e.type === 'job:progress' && e.jobId === late)).toBe(true);
    expect(streams.bobSse.events.some((e) => e.type === 'job:progress' && e.jobId === own)).toBe(true);
  });

  describe('watched folders', () => {
    const folders = tempFolders();
    afterEach(() => folders.cleanup());

    it('a rule belongs to the admin token that added it, and so do its jobs; other tokens do not see either', async () => {
      await using fake = await startFakeComfy();
      await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], watchOptions: FAST_WATCH });
      const { bob, reader, dash } = await people(g);
      const ops = await g.client.createToken({ name: 'ops', scope: 'admin' });
      const dir = folders.make();
      const rule = await jsonBody(
        await as(g, ops.token)('/v1/watch', post({ dir, params: { width: 64, height: 64, steps: 2 } })),
      );
      fs.writeFileSync(path.join(dir, 'cat.txt'), 'a cat');
      const job = await waitFor(async () => (await g.client.listJobs({ client: `watch:${rule.id}` })).jobs[0], {
        what: 'the watch job',
      });
      expect(job.owner).toEqual({ id: ops.id, name: 'ops' });

      for (const call of [bob.call, reader.call]) {
        expect(await status(call(`/v1/jobs/${job.id}`))).toBe(404);
        expect(await jsonBody(await call('/v1/watch'))).toEqual([]);
        expect(await status(call(`/v1/watch/${rule.id}`))).toBe(404);
        expect(await status(call(`/v1/watch/${rule.id}/files`))).toBe(404);
      }
      expect(((await jsonBody(await dash.call('/v1/watch'))) as { id: string }[]).map((r) => r.id)).toEqual([rule.id]);
      expect(await status(dash.call(`/v1/jobs/${job.id}`))).toBe(200);
    });
  });
});

interface Stream {
  events: StreamEvent[];
  ready: Promise<void>;
  close(): void;
}

/** `/v1/events` as one token (after `since`, or live from now on); every event kept. */
function collectSse(url: string, token: string, since?: number): Stream {
  const events: StreamEvent[] = [];
  const ac = new AbortController();
  const query = since === undefined ? '' : `?since=${since}`;
  const ready = fetch(`${url}/v1/events${query}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: ac.signal,
  }).then((res) => {
    expect(res.status).toBe(200);
    void (async () => {
      let buf = '';
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let at: number;
          while ((at = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, at);
            buf = buf.slice(at + 2);
            const data = frame.split('\n').find((l) => l.startsWith('data: '));
            if (data) events.push(JSON.parse(data.slice(6)) as StreamEvent);
          }
        }
      } catch {
        // aborted by close()
      }
    })();
  });
  return { events, ready, close: () => ac.abort() };
}

/** `/v1/ws` as one token, subscribed to everything it may see (after `since`, or live from now on). */
function collectWs(url: string, token: string, since?: number): Stream {
  const events: StreamEvent[] = [];
  const ws = new WebSocket(url.replace('http', 'ws') + '/v1/ws', ['comfygate.v1', `comfygate.token.${token}`]);
  ws.on('message', (raw) => {
    const msg = JSON.parse(raw.toString()) as StreamEvent;
    if ('jobId' in msg) events.push(msg);
  });
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'subscribe', ...(since === undefined ? {} : { since }) }));
      // The subscription is made when the frame is read: a round trip on the same socket orders it before our jobs.
      ws.ping();
      ws.once('pong', () => resolve());
    });
    ws.once('error', reject);
  });
  return { events, ready, close: () => ws.terminate() };
}
