import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import sharp from 'sharp';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

/** An img2img-like graph whose LoadImage takes an uploaded asset by reference. */
function withInput(sha256: string, seed: number) {
  const g = txt2img({ seed }) as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  g['10'] = { class_type: 'LoadImage', inputs: { image: { __type: 'core/ASSET', info: { id: sha256 } } } };
  g['11'] = { class_type: 'VAEEncode', inputs: { pixels: ['10', 0], vae: ['4', 2] } };
  g['3']!.inputs.latent_image = ['11', 0];
  return g;
}

const RETENTION = { maxAgeMs: 0, graceMs: 0 };

it('gc removes finished jobs and unreferenced files, never a blob a live job references; dry-run removes nothing', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({
    backends: [
      { name: 'up', url: fake.url },
      { name: 'down', url: 'http://127.0.0.1:9' },
    ],
    retention: RETENTION,
  });
  const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#884422' } })
    .png()
    .toBuffer();
  const asset = await jsonBody(await g.fetch('/v1/assets', { method: 'POST', body: png }));
  const file = g.daemon.files.pathFor(asset.sha256);

  const waiting = await g.client.createJob({ graph: withInput(asset.sha256, 1), backend: 'down' });
  const done = await g.client.waitForJob((await g.client.createJob({ graph: txt2img({ seed: 2 }), backend: 'up' })).id);
  expect(done.state).toBe('succeeded');
  const outputFile = g.daemon.files.pathFor(done.outputs[0]!.sha256);

  const dry = await g.client.gc(true);
  expect(dry).toMatchObject({ dryRun: true, jobs: 1 });
  expect(fs.existsSync(outputFile)).toBe(true);

  const first = await g.client.gc();
  expect(first.jobs).toBe(1);
  expect(first.assets).toBe(2); // the output and its thumbnail; the upload is kept for the queued job
  expect(fs.existsSync(outputFile)).toBe(false);
  expect(fs.existsSync(file)).toBe(true);
  expect((await g.fetch(`/v1/jobs/${done.id}`)).status).toBe(404);

  await g.client.cancelJob(waiting.id);
  const second = await g.client.gc();
  expect(second).toMatchObject({ jobs: 1, assets: 1, bytes: png.length });
  expect(fs.existsSync(file)).toBe(false);
  expect((await g.fetch(`/v1/assets/${asset.sha256}`, { method: 'HEAD' })).status).toBe(404);
});

it('under load, sweeping never removes an input a queued job still needs', async () => {
  await using fake = await startFakeComfy({ stepMs: 2 });
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url, inflight: 1 }],
    retention: RETENTION,
  });
  const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#224488' } })
    .png()
    .toBuffer();
  const asset = await jsonBody(await g.fetch('/v1/assets', { method: 'POST', body: png }));
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    ids.push((await g.client.createJob({ graph: withInput(asset.sha256, 100 + i) })).id);
    await g.client.gc();
  }
  const states: string[] = [];
  for (const id of ids) {
    try {
      states.push((await g.client.waitForJob(id)).state);
    } catch {
      states.push('swept'); // a finished job may already be gone: that is retention working
    }
    await g.client.gc();
  }
  expect(states.filter((s) => s === 'failed')).toEqual([]);
  expect(fake.control.stats().completed.length).toBe(12);
});

it("never removes the previous step of a chain while its next step, queued, takes that step's output as input", async () => {
  await using fake = await startFakeComfy({ stepMs: 100 });
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    retention: { maxAgeMs: 0, maxDiskBytes: 1, graceMs: 0 },
  });
  await waitFor(() => g.daemon.backends().every((b) => b.nodes !== null), { what: 'capabilities' });
  const first = await g.client.createJob({
    template: 'txt2img',
    params: { prompt: 'a lighthouse', width: 64, height: 64, steps: 4 },
    then: [{ template: 'upscale', params: { scale: 2 } }],
  });
  await waitFor(async () => (await g.client.getJob(first.id)).state === 'running', { what: 'the first step running' });
  g.daemon.drainBackend('a', true); // the next step waits in the queue
  const step = await waitFor(async () => (await g.daemon.store.jobs.children(first.id))[0], {
    timeoutMs: 20_000,
    what: 'the next step made',
  });
  expect(step.state).toBe('queued');
  const input = (await g.client.getJob(first.id)).outputs[0]!;
  expect(step.graphJson).toContain(input.id); // the step names the previous output by id

  const report = await g.client.gc(); // both limits would take every finished job
  expect(report.jobs).toBe(0);
  expect((await g.client.getJob(first.id)).outputs.map((o) => o.id)).toEqual([input.id]);
  expect(fs.existsSync(g.daemon.files.pathFor(input.sha256))).toBe(true);

  g.daemon.drainBackend('a', false);
  const done = await g.client.waitForJob(step.id);
  expect([done.state, done.error]).toEqual(['succeeded', null]);
  expect((await g.client.gc()).jobs).toBe(2); // nothing needs either any more
});

/** A webhook receiver that answers 500 while `failing`, 200 otherwise. */
async function receiver() {
  const state = { failing: true, hits: 0 };
  const server = http.createServer((req, res) => {
    req.resume().on('end', () => (state.hits++, res.writeHead(state.failing ? 500 : 200).end()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    [Symbol.asyncDispose]: () => (server.closeAllConnections(), new Promise<void>((r) => server.close(() => r()))),
  };
}

const FAST_WEBHOOKS = { backoff: { baseMs: 5, maxMs: 10, jitter: 0 }, timeoutMs: 2_000, closeGraceMs: 200 };

it('gc keeps webhook deliveries within their count and age, and removes retired job webhooks (their job gone) with their history', async () => {
  await using rx = await receiver();
  await using fake = await startFakeComfy();
  const ageMs = 3_000;
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    webhooks: FAST_WEBHOOKS,
    retention: { webhookDeliveriesMaxAgeMs: ageMs, webhookDeliveriesPerWebhook: 3 },
  });
  const deliveries = async (id: string) => jsonBody(await g.fetch(`/v1/webhooks/${id}/deliveries?limit=500`));
  const all = await g.client.createWebhook({ url: rx.url, events: ['job:queued'] });
  await g.client.createJob({ graph: txt2img({ seed: 1 }) });
  await waitFor(async () => (await deliveries(all.id)).length >= 8, { what: '8 failed attempts' });
  rx.state.failing = false;
  const job = await g.client.createJob({
    graph: txt2img({ seed: 2 }),
    webhook: { url: `${rx.url}?job`, secret: `whsec_${crypto.randomBytes(32).toString('base64')}` },
  });
  const perJob = await waitFor(
    async () => ((w) => (w?.retiredAt ? w : null))((await g.client.webhooks()).find((w) => w.jobId === job.id)),
    { what: 'the job webhook retired' },
  );
  const before = await waitFor(
    async () =>
      ((d) => (d.filter((x: { delivered: boolean }) => x.delivered).length === 2 ? d : null))(await deliveries(all.id)),
    { what: 'both queued events delivered' },
  );
  expect(await deliveries(perJob.id)).toHaveLength(1);

  const dry = await g.client.gc(true);
  expect(dry).toMatchObject({ dryRun: true, webhooks: 0, deliveries: before.length - 3 });
  expect(await deliveries(all.id)).toHaveLength(before.length);
  expect(await g.client.gc()).toMatchObject({ dryRun: false, webhooks: 0, deliveries: before.length - 3 });
  expect(await deliveries(all.id)).toEqual(before.slice(0, 3)); // the newest three
  expect(await deliveries(perJob.id)).toHaveLength(1); // retired, its history still there for a while

  await new Promise((r) => setTimeout(r, ageMs + 100));
  // Retired for longer than the age, but its job is still there (a retry of it would revive it): kept, its old record not.
  expect(await g.client.gc()).toMatchObject({ webhooks: 0, deliveries: 3 + 1 });
  expect((await g.fetch(`/v1/webhooks/${perJob.id}`)).status).toBe(200);
  expect((await g.fetch(`/v1/jobs/${job.id}`, { method: 'DELETE' })).status).toBe(204);
  expect(await g.client.gc()).toMatchObject({ webhooks: 1, deliveries: 0 });
  expect((await g.fetch(`/v1/webhooks/${perJob.id}`)).status).toBe(404);
  // A subscription for all jobs is never removed, only its old records.
  expect(await deliveries(all.id)).toEqual([]);
  expect((await g.fetch(`/v1/webhooks/${all.id}`)).status).toBe(200);
});

it("by default, with job retention off, the sweeper still bounds each webhook's delivery records", async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    retention: { sweepEveryMs: 1_000 },
  });
  expect(g.daemon.config.retention).toMatchObject({
    maxAgeMs: null,
    maxDiskBytes: null,
    webhookDeliveriesMaxAgeMs: 7 * 24 * 3_600_000,
    webhookDeliveriesPerWebhook: 1_000,
  });
  const hook = await g.client.createWebhook({ url: 'http://127.0.0.1:9/never', events: ['backend:down'] });
  for (let i = 1; i <= 1_010; i++)
    await g.daemon.store.webhooks.failed({
      webhookId: hook.id,
      eventId: 1,
      attempt: i,
      status: 500,
      error: 'HTTP 500',
    });
  await waitFor(async () => (await g.daemon.store.webhooks.deliveries(hook.id, 2_000)).length === 1_000, {
    timeoutMs: 5_000,
    what: 'the sweeper to prune to 1,000',
  });
  expect((await g.daemon.store.webhooks.deliveries(hook.id, 1))[0]!.attempt).toBe(1_010);
});
