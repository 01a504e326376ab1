// Review of the ownership change (issue 13 item 4): paths that reached another token's objects anyway.
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

type Call = (path: string, init?: RequestInit) => Promise<Response>;

function as(g: TestGateway, token: string): Call {
  return (p, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    if (typeof init.body === 'string') headers.set('content-type', 'application/json');
    return fetch(g.url + p, { ...init, headers });
  };
}
const post = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });
const png = (color: string) =>
  sharp({ create: { width: 8, height: 8, channels: 4, background: color } })
    .png()
    .toBuffer();

async function upload(call: Call, bytes: Buffer): Promise<string> {
  const res = await call('/v1/assets', {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  expect(res.status).toBe(201);
  return (await jsonBody(res)).sha256 as string;
}

describe('ownership review', () => {
  it("a chain step may not name another token's asset: refused at submit (a job, a batch), as for the job itself", async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const make = async (name: string) => as(g, (await g.client.createToken({ name, scope: 'submit' })).token);
    const alice = await make('alice');
    const bob = await make('bob');
    const mask = await upload(alice, await png('#ffffff80'));

    // The step's `image` is the previous step's output; its `mask` would be alice's upload, staged into bob's job.
    const first = { template: 'txt2img', params: { prompt: 'a fox', width: 64, height: 64, steps: 2 } };
    const spec = { ...first, then: [{ template: 'inpaint', params: { mask } }] };
    const stolen = await bob('/v1/jobs', post(spec));
    const body = await jsonBody(stolen);
    expect([stolen.status, body.error?.code], JSON.stringify(body)).toEqual([422, 'missing_asset']);
    const inBatch = await bob('/v1/batches', post({ jobs: [spec] }));
    expect([inBatch.status, (await jsonBody(inBatch)).error?.code]).toEqual([422, 'missing_asset']);
    // An unknown asset in a step is refused now too, not when the chain gets there.
    const unknown = await alice(
      '/v1/jobs',
      post({ ...spec, then: [{ template: 'inpaint', params: { mask: 'f'.repeat(64) } }] }),
    );
    expect([unknown.status, (await jsonBody(unknown)).error?.code]).toEqual([422, 'missing_asset']);
    // Its owner may.
    const own = await alice('/v1/jobs', post(spec));
    expect(own.status, JSON.stringify(await jsonBody(own.clone()))).toBe(201);
    await own.arrayBuffer();
  });
  it('an Idempotency-Key another token used gives this token its own job, on /v1 and /api/v2 (never a replay of theirs)', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const make = async (name: string) => as(g, (await g.client.createToken({ name, scope: 'submit' })).token);
    const alice = await make('alice');
    const bob = await make('bob');
    for (const [path, body] of [
      ['/v1/jobs', { graph: txt2img({ steps: 2 }) }],
      ['/api/v2/jobs', { workflow: txt2img({ steps: 2 }) }],
    ] as const) {
      const keyed = (call: Call) => call(path, { ...post(body), headers: { 'idempotency-key': 'same-key' } });
      const first = await keyed(alice);
      const theirs = (await jsonBody(first)).id as string;
      expect(first.status).toBe(201);
      const other = await keyed(bob);
      const mine = (await jsonBody(other)).id as string;
      expect([other.status, mine === theirs], path).toEqual([first.status, false]);
      // Each token's replay is its own job.
      const again = await keyed(bob);
      expect((await jsonBody(again)).id, path).toBe(mine);
      expect((await jsonBody(await keyed(alice))).id, path).toBe(theirs);
    }
  });
  it("a watermark may not be another token's upload (by sha256): refused at submit, in a job, a chain step and a batch", async () => {
    await using fake = await startFakeComfy({ stepMs: 1 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const make = async (name: string) => as(g, (await g.client.createToken({ name, scope: 'submit' })).token);
    const alice = await make('alice');
    const bob = await make('bob');
    const secret = await upload(alice, await png('#c03030ff'));
    // Full width, fully opaque: the variant would be alice's image drawn over bob's, for bob to download.
    const postprocess = {
      variants: { leak: { ops: [{ op: 'watermark', image: { sha256: secret }, scale: 1, opacity: 1 }] } },
    };
    const job = { template: 'txt2img', params: { prompt: 'a fox', width: 64, height: 64, steps: 2 } };
    const attempts = [
      ['/v1/jobs', { ...job, postprocess }],
      ['/v1/jobs', { ...job, then: [{ template: 'upscale', params: { scale: 1 }, postprocess }] }],
      ['/v1/batches', { jobs: [{ ...job, postprocess }] }],
    ] as const;
    for (const [path, body] of attempts) {
      const res = await bob(path, post(body));
      const answer = await jsonBody(res);
      expect([res.status, answer.error?.code], `${path}: ${JSON.stringify(answer).slice(0, 300)}`).toEqual([
        422,
        'missing_asset',
      ]);
    }
    // Unknown bytes are refused up front too, rather than failing the job after the GPU ran.
    const nowhere = { variants: { w: { ops: [{ op: 'watermark', image: { sha256: 'e'.repeat(64) } }] } } };
    const unknown = await alice('/v1/jobs', post({ ...job, postprocess: nowhere }));
    expect([unknown.status, (await jsonBody(unknown)).error?.code]).toEqual([422, 'missing_asset']);
    // Its owner may, and the variant is made.
    const own = await alice('/v1/jobs', post({ ...job, postprocess }));
    expect(own.status).toBe(201);
    const id = (await jsonBody(own)).id as string;
    const done = await waitFor(
      async () => {
        const j = await jsonBody(await alice(`/v1/jobs/${id}`));
        return j.state === 'succeeded' || j.state === 'failed' ? j : null;
      },
      { what: 'alice job done' },
    );
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.outputs[0].variants.map((v: { variant: string }) => v.variant)).toContain('leak');
  });
  it("a built-in that sizes its result from the image (upscale, outpaint) does not tell another token its upload's size", async () => {
    await using fake = await startFakeComfy({ stepMs: 1 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], security: { maxPixels: 1000 } });
    const make = async (name: string) => as(g, (await g.client.createToken({ name, scope: 'submit' })).token);
    const alice = await make('alice');
    const bob = await make('bob');
    const image = await upload(alice, await png('#30c030ff')); // 8×8
    for (const [template, params] of [
      ['upscale', { image, scale: 8 }],
      ['outpaint', { image, left: 200 }],
    ] as const) {
      const res = await bob('/v1/jobs', post({ template, params }));
      const body = await jsonBody(res);
      expect([res.status, body.error?.code], `${template}: ${JSON.stringify(body)}`).toEqual([422, 'missing_asset']);
      expect(JSON.stringify(body), template).not.toMatch(/64×64|208×8/);
      // Its owner hears the size, as before.
      const own = await jsonBody(await alice('/v1/jobs', post({ template, params })));
      expect(own.error?.message, template).toMatch(/64×64|208×8/);
    }
  });
  it("another token's output id is not an asset for this token's job, nor is its variant id", async () => {
    await using fake = await startFakeComfy({ stepMs: 1 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const make = async (name: string) => as(g, (await g.client.createToken({ name, scope: 'submit' })).token);
    const alice = await make('alice');
    const bob = await make('bob');
    const postprocess = { variants: { small: { ops: [{ op: 'resize', width: 32 }] } } };
    const made = await alice('/v1/jobs', post({ graph: txt2img({ steps: 2 }), postprocess }));
    const id = (await jsonBody(made)).id as string;
    const done = await waitFor(
      async () => {
        const j = await jsonBody(await alice(`/v1/jobs/${id}`));
        return j.state === 'succeeded' ? j : null;
      },
      { what: 'alice job done' },
    );
    const output = done.outputs[0].id as string;
    const variant = done.outputs[0].variants[0].id as string;
    for (const ref of [output, variant]) {
      const graph = {
        ...txt2img(),
        '10': { class_type: 'LoadImage', inputs: { image: { __type: 'core/ASSET', info: { id: ref } } } },
      };
      const res = await bob('/v1/jobs', post({ graph }));
      expect([res.status, (await jsonBody(res)).error?.code], ref).toEqual([422, 'missing_asset']);
      const viaTemplate = await bob('/v1/jobs', post({ template: 'img2img', params: { image: ref, steps: 2 } }));
      expect([viaTemplate.status, (await jsonBody(viaTemplate)).error?.code], ref).toEqual([422, 'missing_asset']);
    }
    // Its owner may use the output as an input.
    const own = await alice('/v1/jobs', post({ template: 'img2img', params: { image: output, steps: 2 } }));
    expect(own.status).toBe(201);
    await own.arrayBuffer();
  });
  it("a graph may not name the backend's staged copy of an upload (comfygate/cg_<sha>.png) instead of its asset id", async () => {
    await using fake = await startFakeComfy({ stepMs: 1 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const make = async (name: string) => as(g, (await g.client.createToken({ name, scope: 'submit' })).token);
    const alice = await make('alice');
    const bob = await make('bob');
    const sha = await upload(alice, await png('#3030c0ff'));
    // Alice's job stages her upload on the backend under a name made from its sha256.
    const staged = await alice('/v1/jobs', post({ template: 'img2img', params: { image: sha, steps: 2 } }));
    expect(staged.status).toBe(201);
    await staged.arrayBuffer();
    // Bob, who may not use the asset, names the staged file: ComfyUI's LoadImage would read it from its input folder.
    const stem = `cg_${sha.slice(0, 24)}`;
    const names = [
      `comfygate/${stem}.png`,
      `comfygate/${stem}.png [input]`,
      `./comfygate/${stem.toUpperCase()}.png`,
      `x\\..\\comfygate\\${stem}.png`,
    ];
    for (const name of names) {
      const graph = { ...txt2img(), '10': { class_type: 'LoadImage', inputs: { image: name } } };
      const res = await bob('/v1/jobs', post({ graph }));
      const body = await jsonBody(res);
      expect([res.status, body.error?.code], `${name}: ${JSON.stringify(body).slice(0, 200)}`).toEqual([
        400,
        'validation_failed',
      ]);
      expect(body.error.message).toContain('core/ASSET');
    }
    // Files of the backend's own input folder stay usable by name; the admin (who may use any upload) may name staged ones.
    const plain = await bob(
      '/v1/jobs',
      post({ graph: { ...txt2img(), '10': { class_type: 'LoadImage', inputs: { image: 'example.png' } } } }),
    );
    expect(plain.status).toBe(201);
    await plain.arrayBuffer();
    const admin = await g.fetch('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        graph: {
          ...txt2img(),
          '10': { class_type: 'LoadImage', inputs: { image: `comfygate/cg_${sha.slice(0, 24)}.png` } },
        },
      }),
    });
    expect(admin.status).toBe(201);
    await admin.arrayBuffer();
  });
  it("a non-admin graph's image loaders read only the backend's input folder: no [output]/[temp], no .., no absolute path", async () => {
    await using fake = await startFakeComfy({ stepMs: 1 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const bob = as(g, (await g.client.createToken({ name: 'bob', scope: 'submit' })).token);
    const loader = (cls: string, image: string) => ({ class_type: cls, inputs: { image, channel: 'alpha' } });
    const loading = (cls: string, image: string) => ({ graph: { ...txt2img(), '10': loader(cls, image) } });
    // Another token's output on the backend has a predictable name (the prefix and a counter).
    const refused = [
      'comfygate_00001_.png [output]',
      'x.png [temp]',
      '../output/comfygate_00001_.png',
      'sub\\..\\..\\output\\a.png',
      '/home/someone/ComfyUI/output/comfygate_00001_.png',
      'C:\\ComfyUI\\output\\a.png',
    ];
    for (const [cls, image] of refused.flatMap((v) => [
      ['LoadImage', v],
      ['LoadImageMask', v],
    ])) {
      const res = await bob('/v1/jobs', post(loading(cls!, image!)));
      const body = await jsonBody(res);
      expect([res.status, body.error?.code], `${cls} ${image}: ${JSON.stringify(body).slice(0, 200)}`).toEqual([
        400,
        'validation_failed',
      ]);
    }
    // The backend's own inputs by plain name stay usable, as does a prompt that happens to start with a slash.
    for (const image of ['example.png', 'sub/example.png', 'example.png [input]']) {
      const res = await bob('/v1/jobs', post(loading('LoadImage', image)));
      expect(res.status, image).toBe(201);
      await res.arrayBuffer();
    }
    const graph = txt2img({ text: '/imagine ../a cat [output]' });
    const prompt = await bob('/v1/jobs', post({ graph }));
    expect(prompt.status).toBe(201);
    await prompt.arrayBuffer();
    // The admin may (it may read everything anyway).
    const body = JSON.stringify(loading('LoadImage', 'a.png [output]'));
    const admin = await g.fetch('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(admin.status).toBe(201);
    await admin.arrayBuffer();
  });
});
