import { expect, it } from 'vitest';
import sharp from 'sharp';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The editor's default graph as a UI workflow (schema 0.4), as ComfyUI saves it. */
const UI_WORKFLOW = {
  last_node_id: 9,
  last_link_id: 9,
  version: 0.4,
  nodes: [
    {
      id: 4,
      type: 'CheckpointLoaderSimple',
      mode: 0,
      inputs: [],
      outputs: [
        { name: 'MODEL', type: 'MODEL', links: [1] },
        { name: 'CLIP', type: 'CLIP', links: [3, 5] },
        { name: 'VAE', type: 'VAE', links: [8] },
      ],
      widgets_values: ['v1-5-pruned-emaonly.safetensors'],
    },
    {
      id: 5,
      type: 'EmptyLatentImage',
      mode: 0,
      inputs: [],
      outputs: [{ name: 'LATENT', type: 'LATENT', links: [2] }],
      widgets_values: [64, 64, 1],
    },
    {
      id: 6,
      type: 'CLIPTextEncode',
      mode: 0,
      inputs: [{ name: 'clip', type: 'CLIP', link: 3 }],
      outputs: [{ name: 'CONDITIONING', type: 'CONDITIONING', links: [4] }],
      widgets_values: ['a castle'],
    },
    {
      id: 7,
      type: 'CLIPTextEncode',
      mode: 0,
      inputs: [{ name: 'clip', type: 'CLIP', link: 5 }],
      outputs: [{ name: 'CONDITIONING', type: 'CONDITIONING', links: [6] }],
      widgets_values: ['blurry'],
    },
    {
      id: 3,
      type: 'KSampler',
      mode: 0,
      inputs: [
        { name: 'model', type: 'MODEL', link: 1 },
        { name: 'positive', type: 'CONDITIONING', link: 4 },
        { name: 'negative', type: 'CONDITIONING', link: 6 },
        { name: 'latent_image', type: 'LATENT', link: 2 },
      ],
      outputs: [{ name: 'LATENT', type: 'LATENT', links: [7] }],
      widgets_values: [42, 'randomize', 4, 8, 'euler', 'normal', 1],
    },
    {
      id: 8,
      type: 'VAEDecode',
      mode: 0,
      inputs: [
        { name: 'samples', type: 'LATENT', link: 7 },
        { name: 'vae', type: 'VAE', link: 8 },
      ],
      outputs: [{ name: 'IMAGE', type: 'IMAGE', links: [9] }],
      widgets_values: [],
    },
    {
      id: 9,
      type: 'SaveImage',
      mode: 0,
      inputs: [{ name: 'images', type: 'IMAGE', link: 9 }],
      outputs: [],
      widgets_values: ['ComfyUI'],
    },
    { id: 10, type: 'Note', mode: 0, inputs: [], outputs: [], widgets_values: ['remember to vary the seed'] },
  ],
  links: [
    [1, 4, 0, 3, 0, 'MODEL'],
    [2, 5, 0, 3, 3, 'LATENT'],
    [3, 4, 1, 6, 0, 'CLIP'],
    [4, 6, 0, 3, 1, 'CONDITIONING'],
    [5, 4, 1, 7, 0, 'CLIP'],
    [6, 7, 0, 3, 2, 'CONDITIONING'],
    [7, 3, 0, 8, 0, 'LATENT'],
    [8, 4, 2, 8, 1, 'VAE'],
    [9, 8, 0, 9, 0, 'IMAGE'],
  ],
  groups: [],
  config: {},
  extra: {},
};

it('built-in txt2img and img2img run from parameters; bad values are refused naming the parameter', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  const list = await jsonBody(await g.fetch('/v1/templates'));
  expect(list.map((t: { name: string }) => t.name)).toEqual([
    'img2img',
    'inpaint',
    'outpaint',
    'remove-background',
    'txt2img',
    'upscale',
  ]);
  const schema = await jsonBody(await g.fetch('/v1/templates/txt2img/schema'));
  expect(schema.properties.steps).toMatchObject({ type: 'integer', minimum: 1, maximum: 10000 });

  const job = await g.client.waitForJob(
    (
      await g.client.createJob({
        template: 'txt2img',
        params: { prompt: 'a red fox', width: 64, height: 64, steps: 4 },
      })
    ).id,
  );
  expect(job.state).toBe('succeeded');
  expect(job.metadata).toMatchObject({ template: 'txt2img', params: { prompt: 'a red fox', width: 64 } });
  expect(typeof (job.metadata.params as { seed: unknown }).seed).toBe('number'); // drawn and recorded

  const png = await sharp({ create: { width: 48, height: 32, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
  const asset = await jsonBody(await g.fetch('/v1/assets', { method: 'POST', body: png }));
  const i2i = await g.client.waitForJob(
    (
      await g.client.createJob({
        template: 'img2img',
        params: { image: asset.sha256, prompt: 'watercolour', steps: 4, denoise: 0.5 },
      })
    ).id,
  );
  expect(i2i.state).toBe('succeeded');
  const out = await sharp(
    Buffer.from(await (await g.fetch(`/v1/outputs/${i2i.outputs[0]!.id}`)).arrayBuffer()),
  ).metadata();
  expect([out.width, out.height]).toEqual([48, 32]); // the reference image reached the backend and set the size

  for (const [params, needle] of [
    [{ steps: 0 }, 'steps'],
    [{ denoise: 2 }, 'denoise'],
    [{ nope: 1 }, 'nope'],
  ] as const) {
    const res = await g.fetch('/v1/jobs', json({ template: 'img2img', params: { image: asset.sha256, ...params } }));
    const body = await jsonBody(res);
    expect([res.status, body.error.code]).toEqual([400, 'validation_failed']);
    expect(body.error.message).toContain(needle);
  }
  expect((await g.fetch('/v1/jobs', json({ template: 'nope' }))).status).toBe(404);
});

it("imports a UI workflow through a backend's /object_info and detects its parameters", async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  await waitFor(() => g.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
  const res = await g.fetch('/v1/templates', json({ name: 'castle', workflow: UI_WORKFLOW }));
  expect(res.status).toBe(201);
  const t = await jsonBody(res);
  const names = t.params.map((p: { name: string }) => p.name);
  for (const n of ['prompt', 'negative', 'seed', 'steps', 'cfg', 'sampler', 'width', 'height', 'checkpoint'])
    expect(names).toContain(n);
  expect(names).not.toContain('sampler_name'); // the built-ins' name, for imported graphs too
  expect(t.params.find((p: { name: string }) => p.name === 'prompt').default).toBe('a castle');
  // The input's name is still taken for the parameter, as templates imported before the rename used it.
  const job = await g.client.waitForJob(
    (
      await g.client.createJob({
        template: 'castle',
        params: { prompt: 'a castle at night', seed: 7, sampler_name: 'heun' },
      })
    ).id,
  );
  expect(job.state).toBe('succeeded');
  const [attempt] = await g.daemon.store.attempts.forJob(job.id);
  const history = await jsonBody(await fetch(`${fake.url}/history/${attempt!.id}`));
  const prompt = history[attempt!.id].prompt[2];
  expect(prompt['6'].inputs.text).toBe('a castle at night');
  expect(prompt['3'].inputs.seed).toBe(7);
  expect(prompt['3'].inputs.sampler_name).toBe('heun');
  expect(prompt['10']).toBeUndefined(); // the Note is not sent
  const dup = await g.fetch('/v1/templates', json({ name: 'castle', workflow: UI_WORKFLOW }));
  expect(dup.status).toBe(409);
  const broken = await g.fetch(
    '/v1/templates',
    json({
      name: 'broken',
      workflow: {
        ...UI_WORKFLOW,
        nodes: [
          ...UI_WORKFLOW.nodes,
          { id: 11, type: 'NoSuchNode', mode: 0, inputs: [], outputs: [], widgets_values: [] },
        ],
      },
    }),
  );
  const body = await jsonBody(broken);
  expect(broken.status).toBe(400);
  expect(body.error.message).toContain('NoSuchNode');
  expect((await g.fetch('/v1/templates/txt2img', { method: 'DELETE' })).status).toBe(409);
  expect((await g.fetch('/v1/templates/castle', { method: 'DELETE' })).status).toBe(204);
});
