import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import WebSocket from 'ws';
import { request } from 'undici';
import { type GatewayEvent, isGatewayClientError, parseSse, type StreamEvent } from '@comfygate/shared';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';
import { jsonBody } from '../helpers/http.js';

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('/v1 jobs', () => {
  it('creates, gets, lists, cancels, retries and deletes jobs', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const res = await g.fetch('/v1/jobs', json({ graph: txt2img({ seed: 3 }) }));
    expect(res.status).toBe(201);
    const job = await jsonBody(res);
    expect(res.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
    const done = await g.client.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    expect((await g.client.listJobs({ state: 'succeeded' })).jobs.map((j) => j.id)).toEqual([job.id]);
    expect((await g.client.listJobs({ state: 'queued' })).jobs).toEqual([]);
    expect((await g.client.cancelJob(job.id)).state).toBe('succeeded'); // cancel of a finished job is a no-op

    await fake.control.down();
    const queued = await g.client.createJob({ graph: txt2img({ seed: 4 }) });
    const del = await g.fetch(`/v1/jobs/${queued.id}`, { method: 'DELETE' });
    expect(del.status).toBe(409);
    expect((await g.client.cancelJob(queued.id)).state).toBe('canceled');
    expect((await g.client.retryJob(queued.id)).state).toBe('queued');
    await fake.control.up();
    expect((await g.client.waitForJob(queued.id)).state).toBe('succeeded');
    expect((await g.fetch(`/v1/jobs/${queued.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await g.fetch(`/v1/jobs/${queued.id}`)).status).toBe(404);
  });

  it('keeps a seed of 2^64-1 exact from the request body to ComfyUI', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const body = JSON.stringify({ graph: txt2img({ seed: 1 }) }).replace('"seed":1', '"seed":18446744073709551615');
    const res = await g.fetch('/v1/jobs', { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    expect(res.status).toBe(201);
    const job = await g.client.waitForJob((await jsonBody(res)).id);
    expect(job.state).toBe('succeeded');
    const [attempt] = await g.daemon.store.attempts.forJob(job.id);
    const history = await (await fetch(`${fake.url}/history/${attempt!.id}`)).text();
    expect(history).toContain('"seed": 18446744073709551615');
  });

  it('pages the job list with a cursor', async () => {
    await using fake = await startFakeComfy();
    await fake.control.down();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await g.client.createJob({ graph: txt2img({ seed: i }) })).id);
    const p1 = await g.client.listJobs({ limit: 2 });
    const p2 = await g.client.listJobs({ limit: 2, before: p1.nextCursor! });
    const p3 = await g.client.listJobs({
      limit: 2,
      before: (await g.client.listJobs({ limit: 2, before: p1.nextCursor! })).nextCursor!,
    });
    expect([...p1.jobs, ...p2.jobs, ...p3.jobs].map((j) => j.id)).toEqual([...ids].reverse());
    expect(p3.nextCursor).toBeNull();
  });

  it('honours Idempotency-Key: replay gives the same job, another body gives 422', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const a = await g.fetch('/v1/jobs', json({ graph: txt2img() }, { 'idempotency-key': 'abc' }));
    const b = await g.fetch('/v1/jobs', json({ graph: txt2img() }, { 'idempotency-key': 'abc' }));
    const c = await g.fetch('/v1/jobs', json({ graph: txt2img({ seed: 2 }) }, { 'idempotency-key': 'abc' }));
    expect([a.status, b.status, c.status]).toEqual([201, 200, 422]);
    expect((await jsonBody(b)).id).toBe((await jsonBody(a)).id);
    expect((await jsonBody(c)).error.code).toBe('idempotency_mismatch');
  });

  it('answers bad input with a 4xx and a JSON error, never a 500', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      security: { maxJsonBytes: 50_000 },
    });
    const cases: [RequestInit, number, string][] = [
      [json('{"graph": '), 400, 'bad_request'],
      [json({ graph: 'not a graph' }), 400, 'validation_failed'],
      [json({ graph: txt2img(), priority: 'high' }), 400, 'validation_failed'],
      [json({ graph: { '1': { inputs: {} } } }), 400, 'validation_failed'],
      [json({ graph: txt2img(), backend: 'nowhere' }), 400, 'bad_request'],
      [json({ graph: txt2img({ text: 'x'.repeat(60_000) }) }), 413, 'payload_too_large'],
    ];
    for (const [init, status, code] of cases) {
      const res = await g.fetch('/v1/jobs', init);
      const body = await jsonBody(res);
      expect([res.status, body.error.code], JSON.stringify(init.body).slice(0, 60)).toEqual([status, code]);
      expect(typeof body.error.message).toBe('string');
    }
    expect((await g.fetch('/v1/jobs/nope')).status).toBe(404);
    expect((await g.fetch('/v1/outputs/nope')).status).toBe(404);
    expect((await g.fetch('/v1/nothing-here')).status).toBe(404);
    expect((await g.fetch('/v1/jobs?limit=100000')).status).toBe(400);
  });

  it('serves outputs with content type, ETag, conditional GET and ranges', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const job = await g.client.waitForJob((await g.client.createJob({ graph: txt2img({ seed: 9 }) })).id);
    const out = job.outputs[0]!;
    const full = await g.fetch(`/v1/outputs/${out.id}`);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('image/png');
    expect(full.headers.get('etag')).toBe(`"${out.sha256}"`);
    expect(full.headers.get('x-content-type-options')).toBe('nosniff');
    const bytes = Buffer.from(await full.arrayBuffer());
    expect(bytes.length).toBe(out.bytes);
    expect((await sharp(bytes).metadata()).width).toBe(64);
    // undici's request, not fetch: fetch adds `Cache-Control: no-cache` to conditional requests (fetch spec).
    const cond = await request(`${g.url}/v1/outputs/${out.id}`, {
      headers: { authorization: `Bearer ${g.token}`, 'if-none-match': `"${out.sha256}"` },
    });
    await cond.body.text();
    expect(cond.statusCode).toBe(304);
    const part = await g.fetch(`/v1/outputs/${out.id}`, { headers: { range: 'bytes=0-7' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(0, 8));
    const beyond = await g.fetch(`/v1/outputs/${out.id}`, { headers: { range: `bytes=${out.bytes + 10}-` } });
    expect(beyond.status).toBe(416);
  });
});

describe('/v1 assets', () => {
  const png = (w: number, h: number) =>
    sharp({ create: { width: w, height: h, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();

  it('stores uploads by sha256 (raw and multipart), dedupes, and answers HEAD', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const img = await png(32, 16);
    const first = await g.fetch('/v1/assets', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: img,
    });
    expect(first.status).toBe(201);
    const asset = await jsonBody(first);
    expect(asset).toMatchObject({ bytes: img.length, contentType: 'image/png', width: 32, height: 16 });
    const form = new FormData();
    form.set('file', new Blob([img]), 'whatever.txt');
    const again = await g.fetch('/v1/assets', { method: 'POST', body: form });
    expect(again.status).toBe(200);
    expect((await jsonBody(again)).sha256).toBe(asset.sha256);
    expect((await g.fetch(`/v1/assets/${asset.sha256}`, { method: 'HEAD' })).status).toBe(200);
    expect((await g.fetch(`/v1/assets/${'0'.repeat(64)}`, { method: 'HEAD' })).status).toBe(404);
    expect((await g.fetch('/v1/assets/..%2F..%2Fetc%2Fpasswd')).status).toBe(400);
    const back = Buffer.from(await (await g.fetch(`/v1/assets/${asset.sha256}`)).arrayBuffer());
    expect(back).toEqual(img);
  });

  it('refuses non-images, oversized bodies and a 60-megapixel image', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      security: { maxUploadBytes: 2_000_000 },
    });
    const text = await g.fetch('/v1/assets', {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: 'I am not a PNG',
    });
    expect([text.status, (await jsonBody(text)).error.code]).toEqual([415, 'unsupported_media_type']);
    const svg = await g.fetch('/v1/assets', {
      method: 'POST',
      body: '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
    });
    expect(svg.status).toBe(415);
    const big = await g.fetch('/v1/assets', { method: 'POST', body: Buffer.alloc(2_500_000, 1) });
    expect([big.status, (await jsonBody(big)).error.code]).toEqual([413, 'payload_too_large']);
    const huge = await sharp({ create: { width: 10_000, height: 6_000, channels: 3, background: '#000' } })
      .png({ compressionLevel: 9, palette: true })
      .toBuffer();
    const mega = await g.fetch('/v1/assets', { method: 'POST', body: huge });
    const body = await jsonBody(mega);
    expect([mega.status, body.error.code]).toEqual([413, 'payload_too_large']);
    expect(body.error.message).toContain('60000000 pixels');
    expect(g.daemon.store).toBeDefined();
  });
});

describe('events', () => {
  it('SSE resumes with Last-Event-ID and misses nothing', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const seen: GatewayEvent[] = [];
    const ctrl = new AbortController();
    const first = await g.fetch('/v1/events?since=0', {
      signal: ctrl.signal,
      headers: { accept: 'text/event-stream' },
    });
    const reading = (async () => {
      try {
        for await (const m of parseSse(first.body!)) if (m.id) seen.push(JSON.parse(m.data));
      } catch {
        /* aborted */
      }
    })();
    const j1 = await g.client.createJob({ graph: txt2img({ seed: 1 }) });
    await waitFor(() => seen.some((e) => e.jobId === j1.id && e.type === 'job:succeeded'), {
      what: 'j1 success over SSE',
    });
    ctrl.abort();
    await reading;
    const lastId = seen[seen.length - 1]!.id;
    const j2 = await g.client.createJob({ graph: txt2img({ seed: 2 }) });
    await g.client.waitForJob(j2.id);
    const resumed: GatewayEvent[] = [];
    const ctrl2 = new AbortController();
    const second = await g.fetch('/v1/events', { signal: ctrl2.signal, headers: { 'last-event-id': String(lastId) } });
    const reading2 = (async () => {
      try {
        for await (const m of parseSse(second.body!)) if (m.id) resumed.push(JSON.parse(m.data));
      } catch {
        /* aborted */
      }
    })();
    await waitFor(() => resumed.some((e) => e.jobId === j2.id && e.type === 'job:succeeded'), {
      what: 'j2 success after resume',
    });
    ctrl2.abort();
    await reading2;
    const all = await g.daemon.store.events.after(lastId, 1000);
    expect(resumed.map((e) => e.id)).toEqual(
      all.map((e) => e.id).filter((id) => id <= resumed[resumed.length - 1]!.id),
    );
    expect(resumed.every((e) => e.id > lastId)).toBe(true);
  });

  it('the client iterator and /v1/ws deliver job events with progress', async () => {
    await using fake = await startFakeComfy({ stepMs: 5 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const job = await g.client.createJob({ graph: txt2img({ steps: 10 }) });
    const ws = new WebSocket(g.url.replace('http', 'ws') + '/v1/ws', ['comfygate.v1', `comfygate.token.${g.token}`]);
    const got: StreamEvent[] = [];
    ws.on('message', (m) => got.push(JSON.parse(m.toString())));
    await new Promise((r) => ws.on('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', jobs: [job.id], since: 0 }));
    const viaSse: string[] = [];
    const done = await g.client.waitForJob(job.id, { onEvent: (e) => viaSse.push(e.type) });
    expect(done.state).toBe('succeeded');
    await waitFor(() => got.some((e) => e.type === 'job:succeeded'), { what: 'ws success' });
    ws.close();
    expect(got.filter((e) => 'id' in e).map((e) => e.type)).toEqual([
      'job:queued',
      'job:dispatched',
      'job:running',
      'job:postprocessing',
      'job:succeeded',
    ]);
    expect(got.some((e) => e.type === 'job:progress')).toBe(true);
    expect(viaSse).toContain('job:succeeded');
  });
});

describe('operations', () => {
  it('backends can be listed, added, drained and removed at runtime', async () => {
    await using a = await startFakeComfy();
    await using b = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: a.url }] });
    const added = await g.client.addBackend({ name: 'b', url: b.url, inflight: 1 });
    expect(added).toMatchObject({ name: 'b', capacity: 1, draining: false });
    await waitFor(async () => (await g.client.backends()).every((x) => x.health === 'up'), { what: 'both up' });
    expect((await g.client.drainBackend('a')).draining).toBe(true);
    const job = await g.client.waitForJob((await g.client.createJob({ graph: txt2img() })).id);
    expect(job.backend).toBe('b');
    await g.client.removeBackend('a');
    expect((await g.client.backends()).map((x) => x.name)).toEqual(['b']);
    const dup = await g.client.addBackend({ name: 'b', url: b.url }).catch((e) => e);
    expect(isGatewayClientError(dup) && dup.code).toBe('conflict');
    const bad = await g.fetch('/v1/backends', json({ name: 'x y', url: 'ftp://nope' }));
    expect(bad.status).toBe(400);
  });

  it('exposes health, readiness, metrics, stats and the OpenAPI document', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    await waitFor(async () => (await g.fetch('/readyz')).status === 200, { what: 'ready' });
    await g.client.waitForJob((await g.client.createJob({ graph: txt2img() })).id);
    const metrics = await (await g.fetch('/metrics')).text();
    expect(metrics).toContain('comfygate_jobs{state="succeeded"} 1');
    expect(metrics).toContain('comfygate_backend_up{backend="a"} 1');
    expect(metrics).toMatch(/comfygate_job_duration_seconds_count\{state="succeeded"\} 1/);
    expect(metrics).toContain('comfygate_http_request_duration_seconds');
    expect((await g.client.stats()).jobs.succeeded).toBe(1);
    const doc = await jsonBody(await g.fetch('/v1/openapi.json'));
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/v1/jobs'].post.requestBody.content['application/json'].schema.properties.graph).toBeDefined();
    await fake.control.down();
    await waitFor(async () => (await g.fetch('/readyz')).status === 503, { what: 'not ready' });
  });
});
