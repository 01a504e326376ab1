import fs from 'node:fs';
import { expect, it } from 'vitest';
import sharp from 'sharp';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';

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
  await using g = await startTestGateway({ backends: [{ name: 'up', url: fake.url }, { name: 'down', url: 'http://127.0.0.1:9' }], retention: RETENTION });
  const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#884422' } }).png().toBuffer();
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
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url, inflight: 1 }], retention: RETENTION });
  const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#224488' } }).png().toBuffer();
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
