import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;
const post = (g: Gateway, path: string, body: unknown) =>
  g.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const postText = (g: Gateway, path: string, text: string) =>
  g.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
const refused = async (res: Response) => [res.status, (await jsonBody(res)).error?.message];

/** The API prompt ComfyUI received for a job. */
async function sentPrompt(g: Gateway, fakeUrl: string, jobId: string) {
  const [attempt] = await g.daemon.store.attempts.forJob(jobId);
  const history = await jsonBody(await fetch(`${fakeUrl}/history/${attempt!.id}`));
  return history[attempt!.id].prompt[2] as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
}

it('hand-written parameters are checked against the graph and /object_info, filled with its bounds, and their defaults used', async () => {
  await using fake = await startFakeComfy({ stepMs: 1 });
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  await waitFor(() => g.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
  const graph = txt2img({ steps: 20 });
  const named = (params: unknown[]) =>
    post(g, '/v1/templates', { name: `t${Math.random().toString(36).slice(2, 8)}`, graph, params });

  expect(await refused(await named([{ name: 'ghost', node: '99', input: 'x', type: 'int' }]))).toEqual([
    400,
    'ghost: node 99 is not in the graph',
  ]);
  expect(await refused(await named([{ name: 'pos', node: '3', input: 'positive', type: 'string' }]))).toEqual([
    400,
    "pos: input 'positive' of node 3 is linked to node 6; bind the value where it is set",
  ]);
  expect(await refused(await named([{ name: 'cfg', node: '3', input: 'cfg', type: 'string' }]))).toEqual([
    400,
    'cfg: is string, but KSampler.cfg takes FLOAT',
  ]);
  expect(await refused(await named([{ name: 'steps', node: '3', input: 'steps', type: 'int', default: 0 }]))).toEqual([
    400,
    expect.stringContaining('steps: 0 is below the minimum 1'),
  ]);

  const created = await jsonBody(
    await named([
      { name: 'steps', node: '3', input: 'steps', type: 'int', default: 3 },
      { name: 'sampler', node: '3', input: 'sampler_name', type: 'string' },
      { name: 'seed', node: '3', input: 'seed', type: 'int', min: 0, max: 1000 },
    ]),
  );
  expect(created.params.find((p: { name: string }) => p.name === 'steps')).toMatchObject({ min: 1, max: 10000 }); // from /object_info
  expect(created.params.find((p: { name: string }) => p.name === 'sampler')).toMatchObject({
    type: 'enum',
    options: expect.arrayContaining(['euler']),
  });
  expect(await refused(await post(g, '/v1/jobs', { template: created.name, params: { steps: -5 } }))).toEqual([
    400,
    'steps: -5 is below the minimum 1',
  ]);
  expect(await refused(await post(g, '/v1/jobs', { template: created.name, params: { sampler: 'warp' } }))).toEqual([
    400,
    expect.stringContaining("sampler: 'warp' is not one of"),
  ]);

  for (let i = 0; i < 3; i++) {
    const job = await g.client.waitForJob((await g.client.createJob({ template: created.name })).id);
    expect(job.state).toBe('succeeded');
    const seed = (job.metadata.params as { seed: number }).seed;
    expect(seed >= 0 && seed <= 1000).toBe(true); // drawn within the parameter's own bounds
    expect((await sentPrompt(g, fake.url, job.id))['3']!.inputs).toMatchObject({ steps: 3, seed }); // the default, not the graph's 20
  }
});

it('bad input is a 400 naming the problem, never a 500: missing images, malformed graphs and workflows, huge integers', async () => {
  await using fake = await startFakeComfy({ stepMs: 1 });
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  await waitFor(() => g.daemon.backends()[0]!.health === 'up', { what: 'backend up' });

  expect(await refused(await post(g, '/v1/jobs', { template: 'img2img', params: { prompt: 'x' } }))).toEqual([
    400,
    'image: required (an asset id from POST /v1/assets)',
  ]);
  expect((await jsonBody(await g.fetch('/v1/templates/inpaint/schema'))).required).toEqual(['image', 'mask']);
  expect((await post(g, '/v1/templates', { name: 'bad1', graph: { 1: 5 } })).status).toBe(400);
  expect((await post(g, '/v1/templates', { name: 'bad2', graph: { 1: { class_type: 'X' } } })).status).toBe(400);
  const notUi = await post(g, '/v1/templates', {
    name: 'bad3',
    workflow: { nodes: [{ id: 1, type: 'KSampler', inputs: 'nope' }] },
  });
  expect(await refused(notUi)).toEqual([400, expect.stringContaining('not a ComfyUI workflow')]);

  const png = await jsonBody(
    await g.fetch('/v1/assets', {
      method: 'POST',
      body: Buffer.from(
        await (
          await import('sharp')
        )
          .default({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
          .png()
          .toBuffer(),
      ),
    }),
  );
  const huge = await postText(
    g,
    '/v1/jobs',
    `{"template":"upscale","params":{"image":"${png.sha256}","width":1152921504606846976,"height":0}}`,
  );
  expect(await refused(huge)).toEqual([400, 'width: expected an integer from 0 to 16384, got 1152921504606846976']);
  const tooMany = await post(g, '/v1/jobs', {
    template: 'upscale',
    params: { image: png.sha256, width: 16384, height: 16384 },
  });
  expect(await refused(tooMany)).toEqual([400, expect.stringContaining('over the')]);

  // Integers beyond 2^53 in chain steps and metadata are kept as digits, not a crash.
  const big = await postText(
    g,
    '/v1/jobs',
    '{"template":"txt2img","params":{"steps":1,"width":64,"height":64},"metadata":{"ref":18446744073709551615},"then":[{"template":"upscale","params":{"scale":2,"seed":18446744073709551615}}]}',
  );
  expect(big.status).toBe(201);
  expect((await jsonBody(big)).metadata.ref).toBe('18446744073709551615');
});

it("presets and enhancement write the template's own prompt parameter, wherever its node sits", async () => {
  await using fake = await startFakeComfy({ stepMs: 1 });
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  await waitFor(() => g.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
  // A hires-fix second pass with its own prompt has the lower id, so it is the "first" sampler in key order.
  const graph = {
    ...txt2img({ steps: 2, width: 64, height: 64 }),
    '20': { class_type: 'CLIPTextEncode', inputs: { text: 'second pass', clip: ['4', 1] } },
  } as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  graph['1'] = {
    class_type: 'KSampler',
    inputs: { ...graph['3']!.inputs, positive: ['20', 0], latent_image: ['3', 0], denoise: 0.5 },
  };
  graph['8']!.inputs.samples = ['1', 0];
  const params = [
    { name: 'prompt', node: '6', input: 'text', type: 'string' },
    { name: 'negative', node: '7', input: 'text', type: 'string' },
  ];
  expect((await post(g, '/v1/templates', { name: 'twopass', graph, params })).status).toBe(201);
  expect(
    (await post(g, '/v1/presets', { name: 'ink', prefix: 'ink drawing', suffix: 'high contrast', negative: 'colour' }))
      .status,
  ).toBe(201);

  const job = await g.client.waitForJob(
    (await g.client.createJob({ template: 'twopass', params: { prompt: 'a heron' }, preset: 'ink' })).id,
  );
  expect(job.state).toBe('succeeded');
  const sent = await sentPrompt(g, fake.url, job.id);
  expect(sent['6']!.inputs.text).toBe('ink drawing, a heron, high contrast');
  expect(sent['20']!.inputs.text).toBe('second pass');
  expect(sent['7']!.inputs.text).toMatch(/, colour$/);
});

it('enum parameters take what any backend offers now, and a default no backend has is named at submit', async () => {
  await using a = await startFakeComfy({ stepMs: 1, models: { checkpoints: ['a-only.safetensors'] } });
  await using b = await startFakeComfy({ stepMs: 1, models: { checkpoints: ['b-only.safetensors'] } });
  await using g = await startTestGateway({
    backends: [
      { name: 'a', url: a.url },
      { name: 'b', url: b.url },
    ],
  });
  await waitFor(() => g.daemon.backends().every((x) => x.nodes !== null), { what: 'capabilities known' });
  // Imported while only backend a's list is seen: its checkpoint enum would hold a-only alone.
  const created = await jsonBody(
    await post(g, '/v1/templates', { name: 'pick', graph: txt2img({ ckpt: 'a-only.safetensors' }) }),
  );
  expect(created.params.find((p: { name: string }) => p.name === 'checkpoint')).toMatchObject({ type: 'enum' });
  const schema = await jsonBody(await g.fetch('/v1/templates/pick/schema'));
  expect(schema.properties.checkpoint.enum.sort()).toEqual(['a-only.safetensors', 'b-only.safetensors']);

  const onB = await g.client.waitForJob(
    (await g.client.createJob({ template: 'pick', params: { checkpoint: 'b-only.safetensors' } })).id,
  );
  expect([onB.state, onB.backend]).toEqual(['succeeded', 'b']);
  expect(
    await refused(
      await post(g, '/v1/jobs', { template: 'txt2img', params: { sampler: 'warp', checkpoint: 'a-only.safetensors' } }),
    ),
  ).toEqual([400, expect.stringContaining("sampler: 'warp' is not one of")]);
  expect(await refused(await post(g, '/v1/jobs', { template: 'txt2img', params: { prompt: 'x' } }))).toEqual([
    400,
    "checkpoint: the template's 'v1-5-pruned-emaonly.safetensors' is on no backend; give one of a-only.safetensors, b-only.safetensors",
  ]);
});
