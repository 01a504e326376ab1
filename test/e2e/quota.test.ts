import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';

/**
 * A daemon whose backend stays down (accepted jobs wait in the queue: only the quota decides what is accepted),
 * with a prompt enhancer that answers after 150 ms. Jobs with `enhance: true` then spend real time between
 * the quota check and their insert, as they do in production while an LLM thinks.
 */
async function gateway() {
  const llm = http.createServer((req, res) => {
    req.resume().on('end', () =>
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'a lighthouse, golden hour' } }] }),
        );
      }, 150),
    );
  });
  await new Promise<void>((r) => llm.listen(0, '127.0.0.1', r));
  const fake = await startFakeComfy();
  await fake.control.down();
  const g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  g.daemon.config.enhancer = {
    url: `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`,
    model: 'm',
    timeoutMs: 5_000,
    system: 's',
  };
  return {
    g,
    [Symbol.asyncDispose]: async () => {
      await g.close();
      await fake.close();
      llm.closeAllConnections();
      await new Promise((r) => llm.close(r));
    },
  };
}

async function limitedToken(g: TestGateway, dailyQuota: number) {
  const t = await g.client.createToken({ name: 'limited', scope: 'submit', dailyQuota });
  return (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(g.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
}

const slowJob = (seed: number) => ({ graph: txt2img({ seed }), enhance: true });
const jobsInStore = async (g: TestGateway) => (await g.daemon.store.jobs.list({ limit: 1000 })).length;

/** Each refusal is a 429 that says why and when to come back (whole seconds until the next UTC day). */
async function expectQuotaRefusals(refused: Response[], quota = 5) {
  for (const res of refused) {
    const body = await jsonBody(res);
    expect([res.status, body.error.code]).toEqual([429, 'rate_limited']);
    expect(body.error.message).toContain(`daily quota of ${quota} jobs`);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(
      Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 86_400,
      `Retry-After ${res.headers.get('retry-after')}`,
    ).toBe(true);
  }
}

const accepted = (all: Response[]) => all.filter((r) => r.status === 201);
const refusedOf = (all: Response[]) => all.filter((r) => r.status !== 201);

it('20 parallel POST /v1/jobs with a daily quota of 5: exactly 5 jobs, the rest 429 with a message and Retry-After', async () => {
  await using env = await gateway();
  const post = await limitedToken(env.g, 5);
  // Each with a per-job webhook, which is registered before the insert: a refused job must not leave its hook.
  const webhook = { url: 'http://127.0.0.1:9/hook', secret: `whsec_${crypto.randomBytes(32).toString('base64')}` };
  const all = await Promise.all(Array.from({ length: 20 }, (_, i) => post('/v1/jobs', { ...slowJob(i), webhook })));
  expect(accepted(all)).toHaveLength(5);
  await expectQuotaRefusals(refusedOf(all));
  expect(await jobsInStore(env.g)).toBe(5);
  expect(await env.g.client.webhooks()).toHaveLength(5);
});

it('/api/v2/jobs and /v1/jobs racing on one token share the quota: exactly 5 jobs', async () => {
  await using env = await gateway();
  const post = await limitedToken(env.g, 5);
  const all = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0 ? post('/v1/jobs', slowJob(i)) : post('/api/v2/jobs', { workflow: txt2img({ seed: i }) }),
    ),
  );
  expect(accepted(all)).toHaveLength(5);
  const refused = refusedOf(all);
  expect(refused.map((r) => r.status)).toEqual(Array(15).fill(429));
  for (const res of refused) {
    expect((await jsonBody(res)).error.message).toContain('daily quota of 5 jobs');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  }
  expect(await jobsInStore(env.g)).toBe(5);
});

it('parallel batches count every job, all or nothing; a matrix counts as its product', async () => {
  await using env = await gateway();
  const post = await limitedToken(env.g, 5);
  const all = await Promise.all(
    Array.from({ length: 10 }, (_, i) => post('/v1/batches', { jobs: [slowJob(i), slowJob(100 + i)] })),
  );
  expect(accepted(all)).toHaveLength(2);
  await expectQuotaRefusals(refusedOf(all));
  expect(await jobsInStore(env.g)).toBe(4);
  // One job left: a matrix of 2 is refused whole, a single job still fits.
  await expectQuotaRefusals([await post('/v1/batches', { matrix: { graph: txt2img(), seeds: [1, 2] } })]);
  expect((await post('/v1/jobs', { graph: txt2img() })).status).toBe(201);
  expect(await jobsInStore(env.g)).toBe(5);

  const other = await limitedToken(env.g, 3);
  await expectQuotaRefusals([await other('/v1/batches', { matrix: { graph: txt2img(), seeds: [1, 2, 3, 4] } })], 3);
  expect((await other('/v1/batches', { matrix: { graph: txt2img(), seeds: [1, 2, 3] } })).status).toBe(201);
  expect(await jobsInStore(env.g)).toBe(8);
});

it('a submission refused after the quota check, or an idempotent replay, takes nothing from the quota', async () => {
  await using env = await gateway();
  const post = await limitedToken(env.g, 5);
  expect((await post('/v1/jobs', { ...slowJob(1), backend: 'nope' })).status).toBe(400);
  expect((await post('/v1/batches', { jobs: [slowJob(1), { ...slowJob(2), backend: 'nope' }] })).status).toBe(400);
  expect(
    (
      await post('/api/v2/jobs', {
        workflow: {
          '1': { class_type: 'LoadImage', inputs: { image: { __type: 'core/ASSET', info: { id: 'missing' } } } },
        },
      })
    ).status,
  ).toBe(422);
  const first = await post('/v1/jobs', slowJob(1), { 'idempotency-key': 'k' });
  const replay = await post('/v1/jobs', slowJob(1), { 'idempotency-key': 'k' });
  expect([first.status, replay.status]).toEqual([201, 200]);
  const firstId = (await jsonBody(first)).id;
  expect((await jsonBody(replay)).id).toBe(firstId);
  for (let i = 0; i < 4; i++) expect((await post('/v1/jobs', slowJob(10 + i))).status, `job ${i + 2} of 5`).toBe(201);
  await expectQuotaRefusals([await post('/v1/jobs', slowJob(99))]);
  // At the limit, a replay (a client retrying after a lost response) still gets its job; a new key does not.
  const late = await post('/v1/jobs', slowJob(1), { 'idempotency-key': 'k' });
  expect([late.status, (await jsonBody(late)).id]).toEqual([200, firstId]);
  await expectQuotaRefusals([await post('/v1/jobs', slowJob(98), { 'idempotency-key': 'k2' })]);
  expect(await jobsInStore(env.g)).toBe(5);
});

it('a job pays for its chain steps when it is accepted (the daemon makes them later, with no caller to charge)', async () => {
  await using env = await gateway();
  const post = await limitedToken(env.g, 5);
  const chained = {
    template: 'txt2img',
    params: { steps: 1 },
    then: [
      { template: 'upscale', params: { scale: 2 } },
      { template: 'upscale', params: { scale: 2 } },
    ],
  };
  expect((await post('/v1/jobs', chained)).status).toBe(201); // 1 + 2 steps: 3 of 5
  const second = await post('/v1/jobs', chained);
  expect((await jsonBody(second.clone())).error.message).toContain('3 used today, 3 more asked');
  await expectQuotaRefusals([second]);
  expect((await post('/v1/jobs', { graph: txt2img() })).status).toBe(201); // 4 of 5
  expect((await post('/v1/jobs', { graph: txt2img() })).status).toBe(201); // 5 of 5
  expect(await jobsInStore(env.g)).toBe(3);
});

it('a retry is a new run: it takes one job from the quota, and over it is a 429 that leaves the job as it was', async () => {
  await using env = await gateway();
  const post = await limitedToken(env.g, 2);
  const job = await jsonBody(await post('/v1/jobs', { graph: txt2img() })); // 1 of 2
  expect((await post(`/v1/jobs/${job.id}/cancel`, {})).status).toBe(200);
  const retried = await post(`/v1/jobs/${job.id}/retry`, {}); // 2 of 2
  expect([retried.status, (await jsonBody(retried)).state]).toEqual([200, 'queued']);
  expect((await post(`/v1/jobs/${job.id}/cancel`, {})).status).toBe(200);
  const over = await post(`/v1/jobs/${job.id}/retry`, {});
  expect((await jsonBody(over.clone())).error.message).toContain('2 used today, 1 more asked');
  await expectQuotaRefusals([over], 2);
  expect((await env.g.client.getJob(job.id)).state).toBe('canceled');
  await expectQuotaRefusals([await post('/v1/jobs', { graph: txt2img({ seed: 2 }) })], 2);
  // A retry that is refused for the job's state takes nothing and says why; an admin token has no quota.
  expect((await env.g.fetch(`/v1/jobs/${job.id}/retry`, { method: 'POST' })).status).toBe(200);
  expect((await post(`/v1/jobs/${job.id}/retry`, {})).status).toBe(409);
});
