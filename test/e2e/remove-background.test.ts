import sharp from 'sharp';
import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

const photo = () =>
  sharp({ create: { width: 24, height: 16, channels: 3, background: '#2a6' } })
    .png()
    .toBuffer();

it('remove-background runs the removal node a backend has (InspyrenetRembg), only there; with none, a 422 says what to install', async () => {
  await using plain = await startFakeComfy({ stepMs: 1 });
  await using rembg = await startFakeComfy({ stepMs: 1, extraNodes: ['InspyrenetRembg'] });
  await using g = await startTestGateway({
    backends: [
      { name: 'plain', url: plain.url },
      { name: 'rembg', url: rembg.url },
    ],
  });
  await waitFor(() => g.daemon.backends().every((b) => b.nodes !== null), { what: 'capabilities known' });
  const image = (await g.client.uploadAsset(await photo(), 'image/png')).sha256;

  const job = await g.client.waitForJob(
    (await g.client.createJob({ template: 'remove-background', params: { image } })).id,
  );
  expect([job.state, job.backend, job.metadata.variant]).toEqual(['succeeded', 'rembg', 'node:InspyrenetRembg']);
  const [attempt] = await g.daemon.store.attempts.forJob(job.id);
  const sent = (await jsonBody(await fetch(`${rembg.url}/history/${attempt!.id}`)))[attempt!.id].prompt[2];
  expect(sent['2']).toEqual({ class_type: 'InspyrenetRembg', inputs: { image: ['1', 0], torchscript_jit: 'default' } });

  await using lone = await startTestGateway({ backends: [{ name: 'plain', url: plain.url }] });
  await waitFor(() => lone.daemon.backends().every((b) => b.nodes !== null), { what: 'capabilities known' });
  const asset = (await lone.client.uploadAsset(await photo(), 'image/png')).sha256;
  const res = await lone.fetch('/v1/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ template: 'remove-background', params: { image: asset } }),
  });
  const body = await jsonBody(res);
  expect([res.status, body.error.code]).toEqual([422, 'no_capable_backend']);
  expect(body.error.message).toContain('install ComfyUI-Inspyrenet-Rembg');
});

it('remove-background waits to pick a node while a backend of the pool was never reached (503), rather than guess', async () => {
  await using unseen = await startFakeComfy({ stepMs: 1, extraNodes: ['InspyrenetRembg'] });
  await unseen.control.down();
  await using g = await startTestGateway({ backends: [{ name: 'unseen', url: unseen.url }] });
  const image = (await g.client.uploadAsset(await photo(), 'image/png')).sha256;
  const res = await g.fetch('/v1/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ template: 'remove-background', params: { image } }),
  });
  expect([res.status, (await jsonBody(res)).error.code]).toEqual([503, 'backend_unavailable']);

  await unseen.control.up();
  await waitFor(() => g.daemon.backends().every((b) => b.nodes !== null), {
    what: 'capabilities known',
    timeoutMs: 15_000,
  });
  const job = await g.client.waitForJob(
    (await g.client.createJob({ template: 'remove-background', params: { image } })).id,
  );
  expect([job.state, job.metadata.variant]).toEqual(['succeeded', 'node:InspyrenetRembg']);
});
