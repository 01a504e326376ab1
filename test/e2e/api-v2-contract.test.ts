// Comfy API v2 jobs over raw HTTP: status codes, required fields and error envelopes per the contract
// (shared/comfy-api-v2.md §3–§5, §9, §10), checked against lists written from the document and against the
// SDK's own generated schemas.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemas } from '@comfyorg/sdk/low';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';

// Required keys, from §4.1–§4.5 of the document.
const JOB_KEYS = [
  'id',
  'status',
  'created_at',
  'started_at',
  'completed_at',
  'expires_at',
  'queue_position',
  'progress',
  'outputs',
  'error',
  'urls',
];
const OUTPUT_KEYS = ['node_id', 'name', 'type', 'content_type', 'size_bytes', 'id', 'hash', 'url', 'url_expires_at'];
const PROGRESS_KEYS = ['value', 'nodes_done', 'nodes_total'];
const URL_KEYS = ['self', 'events', 'cancel'];
const TZ_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const post = (g: TestGateway, body: unknown, headers: Record<string, string> = {}) =>
  g.fetch('/api/v2/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** §3: `{error: {code, message, details}}`, details an object or null. */
async function expectError(res: Response, status: number, code: string) {
  const body = await jsonBody(res);
  expect([res.status, body.error?.code], JSON.stringify(body)).toEqual([status, code]);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.details === null || typeof body.error.details === 'object').toBe(true);
  return body.error;
}

function expectJob(job: Record<string, unknown>) {
  for (const k of JOB_KEYS) expect(job, `job.${k}`).toHaveProperty(k);
  for (const k of URL_KEYS)
    expect((job.urls as Record<string, string>)[k]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v2\/jobs\//);
  for (const k of ['created_at', 'started_at', 'completed_at', 'expires_at']) {
    const v = job[k] as string | null;
    if (v !== null) expect(v, k).toMatch(TZ_ISO);
    if (v !== null) expect(Number.isNaN(Date.parse(v))).toBe(false);
  }
  if (job.progress !== null) for (const k of PROGRESS_KEYS) expect(job.progress).toHaveProperty(k);
  for (const o of job.outputs as Record<string, unknown>[]) {
    for (const k of OUTPUT_KEYS) expect(o, `output.${k}`).toHaveProperty(k);
    expect(o.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v2\/assets\/.+\/content$/);
  }
  schemas.zJob.parse(job); // the SDK's own generated schema (timezone-aware datetimes, enums)
}

describe('Comfy API v2 jobs: contract', () => {
  it('POST → 201 Job, polls → 200 Job, all required fields, absolute links, ISO times, outputs', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const res = await post(g, { workflow: txt2img({ seed: 2 }) });
    expect(res.status).toBe(201);
    const job = await jsonBody(res);
    expectJob(job);
    expect(job.status).toBe('queued');
    expect(res.headers.get('location')).toBe(job.urls.self);
    const done = await waitFor(
      async () => {
        const j = await jsonBody(await g.fetch(new URL(job.urls.self).pathname));
        return j.status === 'succeeded' ? j : null;
      },
      { what: 'succeeded' },
    );
    expectJob(done);
    expect(done.outputs).toHaveLength(1);
    expect(done.outputs[0]).toMatchObject({ node_id: '9', type: 'image', content_type: 'image/png', job_id: job.id });
    expect(done.progress.value).toBe(1);
    expect(Number.isInteger(done.metrics.execution_ms)).toBe(true);
    expect(Date.parse(done.completed_at)).toBeGreaterThanOrEqual(Date.parse(done.started_at));
    const list = await jsonBody(await g.fetch('/api/v2/jobs?status=succeeded,failed&limit=10'));
    expect(list.truncated).toBe(false);
    expect(list.jobs.map((j: { id: string }) => j.id)).toEqual([job.id]);
    list.jobs.forEach(expectJob);
  });

  it('refuses bad submissions with the v2 codes, before anything is queued', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    await waitFor(() => g.daemon.backends()[0]!.nodes !== null, { what: 'capabilities' });
    const ref = (id: string) => ({ __type: 'core/ASSET', info: { id } });
    const cases: [unknown, number, string][] = [
      ['{"workflow": ', 400, 'invalid_request'],
      [[1, 2], 400, 'invalid_request'],
      [{ workflow: txt2img(), extra_data: { other: 'x' } }, 400, 'invalid_request'],
      [{ workflow: txt2img(), extra_data: { api_key_comfy_org: 42 } }, 400, 'invalid_request'],
      [{ workflow: txt2img(), webhook_url: 'http://x' }, 422, 'invalid_workflow'],
      [{ workflow: txt2img(), inputs: {} }, 422, 'invalid_workflow'],
      [{ workflow: 'nope' }, 422, 'invalid_workflow'],
      [{ workflow: { '1': { inputs: {} } } }, 422, 'invalid_workflow'],
      [{ workflow: { '1': { class_type: 'NoSuchNode', inputs: {} } } }, 422, 'invalid_workflow'],
      [{ workflow: { nodes: [], links: [], last_node_id: 0 } }, 422, 'workflow_format_ui'],
      [
        { workflow: { ...txt2img(), '10': { class_type: 'LoadImage', inputs: { image: ref('missing-id') } } } },
        422,
        'missing_asset',
      ],
    ];
    for (const [body, status, code] of cases) {
      const err = await expectError(await post(g, body), status, code);
      if (code === 'missing_asset') expect(err.details.missing_ids).toEqual(['missing-id']);
    }
    await expectError(
      await post(g, { workflow: txt2img() }, { 'idempotency-key': 'k'.repeat(256) }),
      400,
      'invalid_request',
    );
    expect((await g.daemon.stats()).jobs.queued).toBe(0);
  });

  it('Idempotency-Key: same key and body → the same job (201); another body → 422; extra_data is not part of it', async () => {
    await using fake = await startFakeComfy();
    await fake.control.down();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const key = { 'idempotency-key': crypto.randomUUID() };
    const a = await post(g, { workflow: txt2img() }, key);
    const b = await post(g, { workflow: txt2img(), extra_data: { api_key_comfy_org: 'k1' } }, key);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect((await jsonBody(b)).id).toBe((await jsonBody(a)).id);
    const err = await expectError(await post(g, { workflow: txt2img({ seed: 3 }) }, key), 422, 'idempotency_key_reuse');
    expect(err.message).toMatch(/different/);
    expect((await post(g, { workflow: txt2img() }, { 'idempotency-key': 'x'.repeat(255) })).status).toBe(201);
    // Keys are per token: another token's identical key is another job.
    const other = await jsonBody(
      await g.fetch('/v1/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'other' }),
      }),
    );
    const c = await post(g, { workflow: txt2img() }, { ...key, authorization: `Bearer ${other.token}` });
    expect(c.status).toBe(201);
    expect((await g.daemon.stats()).jobs.queued).toBe(3);
  });

  it('a 429 never claims the key: the quota refusal leaves no job and no key behind', async () => {
    await using fake = await startFakeComfy();
    await fake.control.down();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const tok = await jsonBody(
      await g.fetch('/v1/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'q', dailyQuota: 1 }),
      }),
    );
    const auth = { authorization: `Bearer ${tok.token}` };
    expect((await post(g, { workflow: txt2img() }, auth)).status).toBe(201);
    const refused = await post(g, { workflow: txt2img({ seed: 4 }) }, { ...auth, 'idempotency-key': 'retry-me' });
    await expectError(refused, 429, 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number.isInteger(Number(refused.headers.get('retry-after')))).toBe(true);
    const jobs = await g.daemon.store.jobs.list({ limit: 10 });
    expect(jobs.map((j) => j.idempotencyKey)).toEqual([null]);
  });

  it('queue positions, cancel (idempotent), delete and the list filter', async () => {
    await using fake = await startFakeComfy();
    await fake.control.down();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await jsonBody(await post(g, { workflow: txt2img({ seed: i }) }))).id);
    const positions = async () =>
      Promise.all(ids.map(async (id) => (await jsonBody(await g.fetch(`/api/v2/jobs/${id}`))).queue_position));
    expect(await positions()).toEqual([1, 2, 3]);
    const cancel = () => g.fetch(`/api/v2/jobs/${ids[0]}/cancel`, { method: 'POST' });
    const c1 = await cancel();
    expect([c1.status, (await jsonBody(c1)).status]).toEqual([200, 'canceled']);
    const c2 = await cancel();
    expect([c2.status, (await jsonBody(c2)).status]).toEqual([200, 'canceled']);
    expect(await positions()).toEqual([null, 1, 2]);
    const queued = await jsonBody(await g.fetch('/api/v2/jobs?status=queued&limit=1'));
    expect([queued.jobs.map((j: { id: string }) => j.id), queued.truncated]).toEqual([[ids[2]], false]);
    await expectError(await g.fetch('/api/v2/jobs?limit=0'), 400, 'invalid_request');
    await expectError(await g.fetch('/api/v2/jobs?status=done'), 400, 'invalid_request');
    await expectError(await g.fetch(`/api/v2/jobs/${ids[1]}`, { method: 'DELETE' }), 409, 'conflict');
    expect((await g.fetch(`/api/v2/jobs/${ids[0]}`, { method: 'DELETE' })).status).toBe(204);
    await expectError(await g.fetch(`/api/v2/jobs/${ids[0]}`), 404, 'not_found');
    await expectError(await g.fetch(`/api/v2/jobs/${ids[0]}/cancel`, { method: 'POST' }), 404, 'not_found');
    await expectError(await g.fetch(`/api/v2/jobs/${ids[0]}/workflow`), 404, 'not_found');
  });

  it('the workflow endpoint returns the stored graph verbatim (a 2^64-1 seed stays exact)', async () => {
    await using fake = await startFakeComfy();
    await fake.control.down();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const body = JSON.stringify({ workflow: txt2img({ seed: 1 }) }).replace('"seed":1', '"seed":18446744073709551615');
    const job = await jsonBody(await post(g, body));
    const res = await g.fetch(`/api/v2/jobs/${job.id}/workflow`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('"seed":18446744073709551615');
    const parsed = schemas.zJobWorkflowResponse.parse(JSON.parse(text));
    expect(parsed.format).toBe('api');
  });

  it('extra_data.api_key_comfy_org reaches ComfyUI but no response, workflow, event or database byte', async () => {
    await using fake = await startFakeComfy({ stepMs: 100 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const secret = `comfyui-${crypto.randomBytes(12).toString('hex')}`;
    const texts: string[] = [];
    const created = await post(g, { workflow: txt2img({ steps: 20 }), extra_data: { api_key_comfy_org: secret } });
    texts.push(await created.text());
    const id = JSON.parse(texts[0]!).id as string;
    const events = g.fetch(`/api/v2/jobs/${id}/events`).then((r) => r.text());
    const queue = await waitFor(
      async () => {
        const q = await jsonBody(await fetch(`${fake.url}/queue`));
        return q.queue_running.length > 0 ? q : null;
      },
      { what: 'prompt running in ComfyUI' },
    );
    expect(queue.queue_running[0][3]).toMatchObject({ api_key_comfy_org: secret });
    await waitFor(async () => (await jsonBody(await g.fetch(`/api/v2/jobs/${id}`))).status === 'succeeded', {
      what: 'succeeded',
    });
    for (const p of [
      `/api/v2/jobs/${id}`,
      `/api/v2/jobs/${id}/workflow`,
      '/api/v2/jobs',
      `/api/v2/jobs/${id}/cancel`,
    ]) {
      texts.push(await (await g.fetch(p, p.endsWith('cancel') ? { method: 'POST' } : {})).text());
    }
    texts.push(await events);
    for (const t of texts) expect(t).not.toContain(secret);
    await g.daemon.store.close(); // flushes the WAL into the file
    const files = fs.readdirSync(g.home).filter((f) => f.startsWith('comfygate.db'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(fs.readFileSync(path.join(g.home, f)).includes(secret), f).toBe(false);
  });
});
