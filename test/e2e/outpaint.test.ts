import sharp from 'sharp';
import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

const photo = () =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: '#2a6' } })
    .png()
    .toBuffer();

it('outpaint pads the image by its margins and inpaints the new border, only on a backend that has ImagePadForOutpaint', async () => {
  await using fake = await startFakeComfy({ stepMs: 1 });
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  await waitFor(() => g.daemon.backends().every((b) => b.nodes !== null), { what: 'capabilities known' });
  const image = (await g.client.uploadAsset(await photo(), 'image/png')).sha256;
  const schema = await jsonBody(await g.fetch('/v1/templates/outpaint/schema'));
  expect(Object.keys(schema.properties)).toEqual(
    expect.arrayContaining(['image', 'left', 'top', 'right', 'bottom', 'prompt', 'seed']),
  );

  const params = { image, left: 16, right: 16, bottom: 32, steps: 2, prompt: 'more sky' };
  const job = await g.client.waitForJob((await g.client.createJob({ template: 'outpaint', params })).id);
  expect(job.state).toBe('succeeded');
  expect([job.outputs[0]!.width, job.outputs[0]!.height]).toEqual([96, 80]);
  const [attempt] = await g.daemon.store.attempts.forJob(job.id);
  const sent = (await jsonBody(await fetch(`${fake.url}/history/${attempt!.id}`)))[attempt!.id].prompt[2];
  expect(sent['2']).toMatchObject({
    class_type: 'ImagePadForOutpaint',
    inputs: { image: ['1', 0], left: 16, top: 0, right: 16, bottom: 32 },
  });
  expect(sent['4']).toMatchObject({ class_type: 'VAEEncodeForInpaint', inputs: { pixels: ['2', 0], mask: ['2', 1] } });

  // A backend whose node list lacks the pad node never gets the job: it is refused up front, naming the node.
  await using old = await startFakeComfy({ stepMs: 1 });
  old.control.hideNode('ImagePadForOutpaint');
  await using lone = await startTestGateway({ backends: [{ name: 'old', url: old.url }] });
  await waitFor(() => lone.daemon.backends().every((b) => b.nodes !== null), { what: 'capabilities known' });
  const asset = (await lone.client.uploadAsset(await photo(), 'image/png')).sha256;
  const body = JSON.stringify({ template: 'outpaint', params: { image: asset, left: 8 } });
  const res = await lone.fetch('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const refused = await jsonBody(res);
  expect([res.status, refused.error.code]).toEqual([422, 'no_capable_backend']);
  expect(JSON.stringify(refused.error)).toContain('ImagePadForOutpaint');
});
