import sharp from 'sharp';
import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

const photo = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 90, b: 40 } } })
    .png()
    .toBuffer();

/** Runs one upscale job to the end: the job, the classes of the prompt ComfyUI received, and the output's size. */
async function upscale(g: Gateway, fakeUrl: string, params: Record<string, unknown>) {
  const created = await g.client.createJob({ template: 'upscale', params });
  const job = await g.client.waitForJob(created.id, { signal: AbortSignal.timeout(30_000) });
  expect(job.state).toBe('succeeded');
  const [attempt] = await g.daemon.store.attempts.forJob(job.id);
  const history = await jsonBody(await fetch(`${fakeUrl}/history/${attempt!.id}`));
  const sent = history[attempt!.id].prompt[2] as Record<
    string,
    { class_type: string; inputs: Record<string, unknown> }
  >;
  const bytes = Buffer.from(await (await g.fetch(`/v1/outputs/${job.outputs[0]!.id}`)).arrayBuffer());
  const { width, height } = await sharp(bytes).metadata();
  return {
    job,
    classes: Object.values(sent)
      .map((n) => n.class_type)
      .sort(),
    sent,
    size: [width, height],
  };
}

it('upscale uses an upscale model when a backend has one, at the exact size asked or the image size × scale', async () => {
  await using fake = await startFakeComfy({ models: { upscale_models: ['2x-Test.pth', '4x-Other.pth'] } });
  await using g = await startTestGateway({ backends: [{ name: 'b0', url: fake.url }] });
  await waitFor(() => g.daemon.backends().every((b) => b.nodes !== null), { what: 'capabilities known' });
  const image = (await g.client.uploadAsset(await photo(40, 30), 'image/png')).sha256;

  const byScale = await upscale(g, fake.url, { image, scale: 3 });
  expect(byScale.job.metadata).toMatchObject({
    variant: 'model:2x-Test.pth',
    params: { model: '2x-Test.pth', width: 120, height: 90 },
  });
  expect(byScale.classes).toEqual([
    'ImageScale',
    'ImageUpscaleWithModel',
    'LoadImage',
    'SaveImage',
    'UpscaleModelLoader',
  ]);
  expect(byScale.size).toEqual([120, 90]);

  const exact = await upscale(g, fake.url, { image, model: '4x-Other.pth', width: 100, height: 0, prompt: 'ignored' });
  expect(exact.sent['2']!.inputs.model_name).toBe('4x-Other.pth');
  expect(exact.size).toEqual([100, 75]); // height 0 keeps the aspect ratio
  const warnings = (await g.daemon.store.events.after(0, 10_000)).filter(
    (e) => e.jobId === exact.job.id && e.type === 'job:warning',
  );
  expect(warnings.map((e) => e.data.message)).toEqual([
    "prompt ignored: only the latent upscale uses them, and this job uses the upscale model '4x-Other.pth'",
  ]);
});

it('upscale falls back to a latent upscale re-sampled by a checkpoint when no backend has an upscale model', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'b0', url: fake.url }] });
  await waitFor(() => g.daemon.backends().every((b) => b.nodes !== null), { what: 'capabilities known' });
  const image = (await g.client.uploadAsset(await photo(40, 30), 'image/png')).sha256;

  const up = await upscale(g, fake.url, { image, scale: 2, denoise: 0.3, seed: 7 });
  expect(up.job.metadata).toMatchObject({
    variant: 'latent',
    params: { width: 80, height: 60, denoise: 0.3, seed: 7 },
  });
  expect(up.classes).toEqual([
    'CLIPTextEncode',
    'CLIPTextEncode',
    'CheckpointLoaderSimple',
    'ImageScale',
    'KSampler',
    'LatentUpscale',
    'LoadImage',
    'SaveImage',
    'VAEDecode',
    'VAEEncode',
  ]);
  expect(up.sent['14']!.inputs).toMatchObject({ width: 80, height: 64 }); // latents come in steps of 8, at least 64
  expect(up.sent['17']!.inputs).toMatchObject({ denoise: 0.3, seed: 7 });
  expect(up.size).toEqual([80, 60]);

  const schema = await jsonBody(await g.fetch('/v1/templates/upscale/schema'));
  expect(Object.keys(schema.properties).sort()).toEqual([
    'checkpoint',
    'denoise',
    'height',
    'image',
    'model',
    'negative',
    'prompt',
    'scale',
    'seed',
    'steps',
    'width',
  ]);
  const tooBig = await g.fetch('/v1/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ template: 'upscale', params: { image, scale: 9 } }),
  });
  expect([tooBig.status, (await jsonBody(tooBig)).error.message]).toEqual([
    400,
    'scale: expected a number from 0.25 to 8, got 9',
  ]);
});
