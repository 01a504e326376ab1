import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';

it('a job created with a webhook calls it, signed per Standard Webhooks, on its terminal event', async () => {
  const key = crypto.randomBytes(32);
  const secret = `whsec_${key.toString('base64')}`;
  const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => (got.push({ headers: req.headers, body }), res.end('ok')));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const job = await g.client.createJob({ graph: txt2img(), webhook: { url, secret } });
    await waitFor(() => got.length > 0, { what: 'webhook call' });
    const { headers, body } = got[0]!;
    const signed = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`;
    const expected = crypto.createHmac('sha256', key).update(signed).digest('base64');
    expect(String(headers['webhook-signature']).split(' ')).toContain(`v1,${expected}`);
    expect(JSON.parse(body)).toMatchObject({ type: 'job:succeeded', data: { jobId: job.id, state: 'succeeded' } });
    const bad = await g.fetch('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ graph: txt2img(), webhook: { url, secret: 'whsec_short' } }),
    });
    expect(bad.status).toBe(400);
  } finally {
    receiver.close();
  }
});

it('a per-job webhook is retired once its job finished and its last event was acknowledged; a retry revives it', async () => {
  const got: { type: string; jobId: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => (got.push(((b) => ({ type: b.type, jobId: b.data.jobId }))(JSON.parse(body))), res.end('ok')));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const secret = `whsec_${crypto.randomBytes(32).toString('base64')}`;
    const global = await g.client.createWebhook({ url: `${url}?all`, events: ['job:succeeded'] });
    const jobs = await Promise.all(
      [1, 2, 3].map((seed) => g.client.createJob({ graph: txt2img({ seed }), webhook: { url, secret } })),
    );
    const hookOf = async (jobId: string) => (await g.client.webhooks()).find((w) => w.jobId === jobId)!;
    const retiredHookOf = (jobId: string) =>
      waitFor(async () => ((w) => (w.retiredAt !== null ? w : null))(await hookOf(jobId)), {
        what: `job ${jobId}'s webhook retired`,
      });
    for (const job of jobs) {
      const retired = await retiredHookOf(job.id);
      expect(retired.disabledAt).toBeNull();
      // The history stays readable after retirement.
      expect((await g.client.webhookDeliveries(retired.id)).map((d) => [d.delivered, d.status])).toEqual([[true, 200]]);
    }
    // Off the dispatcher's work list; a subscription for all jobs is never retired.
    expect((await g.daemon.store.webhooks.active()).map((w) => w.id)).toEqual([global.id]);
    expect((await g.client.webhooks()).find((w) => w.id === global.id)!.retiredAt).toBeNull();

    // A failed job's subscription retires after job:failed; retrying the job brings it back for the new run.
    fake.control.failNode('KSampler', { exceptionType: 'ValueError', message: 'bad input', times: 1 });
    const failing = await g.client.createJob({ graph: txt2img({ seed: 9 }), webhook: { url, secret } });
    expect((await g.client.waitForJob(failing.id)).state).toBe('failed');
    const hook = await retiredHookOf(failing.id);
    expect(got.filter((h) => h.jobId === failing.id).map((h) => h.type)).toEqual(['job:failed']);
    expect((await g.fetch(`/v1/jobs/${failing.id}/retry`, { method: 'POST' })).status).toBe(200);
    expect((await g.client.waitForJob(failing.id)).state).toBe('succeeded');
    await waitFor(() => got.some((h) => h.jobId === failing.id && h.type === 'job:succeeded'), {
      what: "the retried job's success delivered",
    });
    const again = await retiredHookOf(failing.id);
    expect(again.id).toBe(hook.id);
    expect(again.retiredAt!).toBeGreaterThanOrEqual(hook.retiredAt!);
    expect((await g.client.webhookDeliveries(hook.id)).map((d) => d.delivered)).toEqual([true, true]);
  } finally {
    receiver.close();
  }
});

it("a per-job webhook hears the events written after its job finished and it retired: job:deleted, a chain's stop warning", async () => {
  const got: { type: string; jobId: string; chainStopped: boolean }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const b = JSON.parse(body);
      got.push({ type: b.type, jobId: b.data.jobId, chainStopped: b.data.event.data.chainStopped === true });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      security: { maxPixels: 100_000 },
    });
    await waitFor(() => g.daemon.backends().every((b) => b.nodes !== null), { what: 'capabilities' });
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const webhook = { url, secret: `whsec_${crypto.randomBytes(32).toString('base64')}`, events: ['*' as const] };
    const hookOf = async (jobId: string) => (await g.client.webhooks()).find((w) => w.jobId === jobId)!;
    const retired = (jobId: string) =>
      waitFor(async () => ((w) => (w.retiredAt !== null ? w : null))(await hookOf(jobId)), {
        what: `job ${jobId}'s webhook retired`,
      });
    const typesFor = (jobId: string) => got.filter((h) => h.jobId === jobId).map((h) => h.type);

    const job = await g.client.createJob({ graph: txt2img(), webhook });
    await retired(job.id);
    expect(typesFor(job.id).at(-1)).toBe('job:succeeded');
    expect((await g.fetch(`/v1/jobs/${job.id}`, { method: 'DELETE' })).status).toBe(204);
    await waitFor(() => typesFor(job.id).includes('job:deleted'), { what: 'job:deleted delivered' });
    await retired(job.id); // and retired again once it went out

    // 128×128 × 4 is over maxPixels: the step cannot be made, the chain stops with a warning on the succeeded job.
    const chained = await g.client.createJob({
      template: 'txt2img',
      params: { prompt: 'x', width: 128, height: 128, steps: 2 },
      then: [{ template: 'upscale', params: { scale: 4 } }],
      webhook,
    });
    await waitFor(async () => (await g.client.chain(chained.id)).state === 'failed', {
      timeoutMs: 20_000,
      what: 'the chain stopped',
    });
    await waitFor(() => got.some((h) => h.jobId === chained.id && h.type === 'job:warning' && h.chainStopped), {
      what: 'the stop warning delivered',
    });
    expect(typesFor(chained.id).slice(-2)).toEqual(['job:succeeded', 'job:warning']);
    await retired(chained.id);
  } finally {
    receiver.close();
  }
});
