// Outputs (§7), GET /view (§2.8) and uploads (§2.9).
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { expectedColor, readPngText } from '../src/index.js';
import { fake, getJson, postJson, runPrompt, txt2img, viewBytes, WsClient } from './helpers.js';

async function png(rgb: { r: number; g: number; b: number }, w = 16, h = 12, alpha?: number): Promise<Buffer> {
  const channels = alpha === undefined ? 3 : 4;
  const background = alpha === undefined ? rgb : { ...rgb, alpha: alpha / 255 };
  return sharp({ create: { width: w, height: h, channels, background } })
    .png()
    .toBuffer();
}

async function upload(
  base: string,
  name: string,
  content: Buffer,
  fields: Record<string, string> = {},
  path = '/upload/image',
) {
  const form = new FormData();
  form.set('image', new Blob([content], { type: 'image/png' }), name);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  const res = await fetch(`${base}${path}`, { method: 'POST', body: form });
  const text = await res.text();
  return { status: res.status, text, json: res.status === 200 ? JSON.parse(text) : undefined };
}

const view = (base: string, q: Record<string, string>) => fetch(`${base}/view?${new URLSearchParams(q)}`);

describe('uploads and /view', () => {
  it('round-trips an upload, renames collisions "x (1).png" and dedupes identical content by hash', async () => {
    const f = await fake();
    const a = await png({ r: 10, g: 20, b: 30 });
    const b = await png({ r: 200, g: 20, b: 30 });
    const up = await upload(f.url, 'photo.png', a);
    expect(up).toMatchObject({ status: 200, json: { name: 'photo.png', subfolder: '', type: 'input' } });
    expect(up.text).toBe('{"name": "photo.png", "subfolder": "", "type": "input"}');
    const res = await view(f.url, { filename: 'photo.png', type: 'input' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('content-disposition')).toBe('filename="photo.png"');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(a);

    expect((await upload(f.url, 'photo.png', b)).json.name).toBe('photo (1).png');
    expect((await upload(f.url, 'photo.png', a)).json.name).toBe('photo.png');
    expect((await upload(f.url, 'photo.png', b)).json.name).toBe('photo (1).png');
    expect((await upload(f.url, 'photo.png', b, { overwrite: 'true' })).json.name).toBe('photo.png');
    expect(Buffer.from(await (await view(f.url, { filename: 'photo.png', type: 'input' })).arrayBuffer())).toEqual(b);
    // LoadImage's combo lists top-level input images
    const info = await getJson(f.url, '/object_info/LoadImage');
    expect(info.LoadImage.input.required.image[0]).toEqual(['photo (1).png', 'photo.png']);

    const sub = await upload(f.url, 'ref.png', a, { subfolder: 'refs', type: 'temp' });
    expect(sub.json).toEqual({ name: 'ref.png', subfolder: 'refs', type: 'temp' });
    expect((await view(f.url, { filename: 'ref.png', subfolder: 'refs', type: 'temp' })).status).toBe(200);
  });

  it('refuses traversal: 400 for ".." or absolute filenames, 403 for escaping subfolders, 400 for a bad type', async () => {
    const f = await fake();
    await upload(f.url, 'x.png', await png({ r: 1, g: 2, b: 3 }));
    const cases: Array<[Record<string, string>, number]> = [
      [{}, 404],
      [{ filename: '' }, 400],
      [{ filename: '../x.png', type: 'input' }, 400],
      [{ filename: 'a..b.png', type: 'input' }, 400],
      [{ filename: '/etc/passwd' }, 400],
      [{ filename: 'x.png', type: 'bogus' }, 400],
      [{ filename: 'x.png', type: 'input', subfolder: '../output' }, 403],
      [{ filename: 'x.png', type: 'input', subfolder: '/tmp' }, 403],
      [{ filename: 'missing.png', type: 'input' }, 404],
      [{ filename: 'x.png', type: 'input', subfolder: 'a/..' }, 200],
      [{ filename: 'x.png [input]', type: 'output' }, 200],
      [{ filename: 'somedir/x.png', type: 'input' }, 200],
    ];
    for (const [q, status] of cases) {
      const res = await view(f.url, q);
      expect([q, res.status]).toEqual([q, status]);
      if (status !== 200) expect(await res.text()).toBe('');
    }
    expect((await upload(f.url, 'y.png', Buffer.from('x'), { subfolder: '../../etc' })).status).toBe(400);
    expect((await upload(f.url, '../y.png', Buffer.from('x'))).status).toBe(400);
    expect((await upload(f.url, 'y.png', Buffer.from('x'), { type: 'bogus' })).status).toBe(500);
    const noImage = await fetch(`${f.url}/upload/image`, { method: 'POST', body: new FormData() });
    expect(noImage.status).toBe(400);
  });

  it('serves raw files like aiohttp FileResponse: Range and conditional GET', async () => {
    const f = await fake();
    const content = await png({ r: 4, g: 5, b: 6 });
    await upload(f.url, 'r.png', content);
    const url = `${f.url}/view?filename=r.png&type=input`;
    const part = await fetch(url, { headers: { Range: 'bytes=1-3' } });
    expect([part.status, part.headers.get('content-range')]).toEqual([206, `bytes 1-3/${content.length}`]);
    expect(Buffer.from(await part.arrayBuffer()).toString('latin1')).toBe('PNG');
    const full = await fetch(url);
    const etag = full.headers.get('etag')!;
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect((await fetch(url, { headers: { 'If-None-Match': etag } })).status).toBe(304);
  });

  it('re-encodes for preview= and channel=', async () => {
    const f = await fake();
    await upload(f.url, 'p.png', await png({ r: 9, g: 8, b: 7 }, 8, 8, 128));
    const jpeg = await view(f.url, { filename: 'p.png', type: 'input', preview: 'jpeg;50' });
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    const webp = await view(f.url, { filename: 'p.png', type: 'input', preview: 'webp' });
    expect(webp.headers.get('content-type')).toBe('image/webp');
    const alpha = await view(f.url, { filename: 'p.png', type: 'input', channel: 'a' });
    const raw = await sharp(Buffer.from(await alpha.arrayBuffer()))
      .raw()
      .toBuffer();
    expect([...raw.subarray(0, 4)]).toEqual([0, 0, 0, 128]);
    const rgb = await view(f.url, { filename: 'p.png', type: 'input', channel: 'rgb' });
    expect((await sharp(Buffer.from(await rgb.arrayBuffer())).metadata()).channels).toBe(3);
  });

  it('/upload/mask puts the uploaded alpha on the original and keeps its text chunks', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url);
    const { history } = await runPrompt(f.url, ws, txt2img({ width: 16, height: 16 }));
    const ref = history.outputs['9'].images[0];
    const mask = await png({ r: 0, g: 0, b: 0 }, 4, 4, 10);
    const r = await upload(
      f.url,
      'masked.png',
      mask,
      { original_ref: JSON.stringify({ filename: ref.filename, type: 'output' }) },
      '/upload/mask',
    );
    expect(r.json).toEqual({ name: 'masked.png', subfolder: '', type: 'input' });
    const out = Buffer.from(await (await view(f.url, { filename: 'masked.png', type: 'input' })).arrayBuffer());
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.channels, data[3]]).toEqual([16, 4, 10]);
    expect(readPngText(out).prompt).toBeDefined();
  });
});

describe('image outputs', () => {
  it('writes deterministic PNGs: same seed+text identical bytes, other seed differs, colour = expectedColor', async () => {
    const f = await fake({ cacheOutputs: false });
    const ws = await WsClient.connect(f.url);
    const one = await runPrompt(f.url, ws, txt2img({ seed: 42, text: 'a red fox', width: 40, height: 24 }));
    const two = await runPrompt(f.url, ws, txt2img({ seed: 42, text: 'a red fox', width: 40, height: 24 }));
    const other = await runPrompt(f.url, ws, txt2img({ seed: 43, text: 'a red fox', width: 40, height: 24 }));
    const refs = [one, two, other].map((r) => r.history.outputs['9'].images[0]);
    expect(refs.map((r) => r.filename)).toEqual(['ComfyUI_00001_.png', 'ComfyUI_00002_.png', 'ComfyUI_00003_.png']);
    const [b1, b2, b3] = await Promise.all(refs.map((r) => viewBytes(f.url, r)));
    expect(b1!.equals(b2!)).toBe(true);
    expect(b1!.equals(b3!)).toBe(false);
    const { data, info } = await sharp(b1!).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([40, 24]);
    const c = expectedColor(42, 'a red fox');
    expect([data[0], data[1], data[2]]).toEqual([c.r, c.g, c.b]);
    expect(expectedColor(43, 'a red fox')).not.toEqual(c);
  });

  it('embeds tEXt prompt (coerced API JSON) and workflow chunks', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url);
    const workflow = { last_node_id: 9, nodes: [], version: 0.4 };
    const { history } = await runPrompt(f.url, ws, txt2img(), { extra_data: { extra_pnginfo: { workflow } } });
    const bytes = await viewBytes(f.url, history.outputs['9'].images[0]);
    const text = readPngText(bytes);
    expect(Object.keys(text)).toEqual(['prompt', 'workflow']);
    expect(JSON.parse(text.prompt!)['3'].inputs.cfg).toBe(8);
    expect(text.prompt).toContain('"cfg": 8.0');
    expect(JSON.parse(text.workflow!)).toEqual(workflow);
    expect(history.prompt[3]).toEqual({ extra_pnginfo: { workflow }, client_id: ws.sid });
  });

  it('follows the counter rule with subfolders, batches and existing files; PreviewImage goes to temp', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url);
    const a = await runPrompt(f.url, ws, txt2img({ seed: 1, prefix: 'proj/run1/img', batch: 2 }));
    expect(a.history.outputs['9'].images).toEqual([
      { filename: 'img_00001_.png', subfolder: 'proj/run1', type: 'output' },
      { filename: 'img_00002_.png', subfolder: 'proj/run1', type: 'output' },
    ]);
    await upload(f.url, 'ComfyUI_00041_.png', Buffer.from('not really'), { type: 'output' });
    const b = await runPrompt(f.url, ws, txt2img({ seed: 2 }));
    expect(b.history.outputs['9'].images[0].filename).toBe('ComfyUI_00042_.png');
    const p = await runPrompt(f.url, ws, txt2img({ seed: 3, output: 'PreviewImage' }));
    const ref = p.history.outputs['9'].images[0];
    expect(ref.filename).toMatch(/^ComfyUI_temp_[a-z]{5}_00001_\.png$/);
    expect([ref.subfolder, ref.type]).toEqual(['', 'temp']);
    expect((await viewBytes(f.url, ref)).length).toBeGreaterThan(0);
    const esc = await runPrompt(f.url, ws, txt2img({ seed: 4, prefix: '../../escape' }));
    const err = esc.history.status.messages.at(-1);
    expect(err[0]).toBe('execution_error');
    expect(err[1].exception_type).toBe('Exception');
    expect(err[1].exception_message).toContain('Saving image outside the output folder is not allowed');
  });

  it('sizes follow the graph: LatentUpscale, ImageScale, img2img from the uploaded image', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url);
    const up = txt2img({ width: 64, height: 64 });
    up['10'] = {
      class_type: 'LatentUpscale',
      inputs: { samples: ['3', 0], upscale_method: 'bilinear', width: 128, height: 0, crop: 'disabled' },
    };
    up['8'].inputs.samples = ['10', 0];
    up['11'] = {
      class_type: 'ImageScale',
      inputs: { image: ['8', 0], upscale_method: 'area', width: 100, height: 50, crop: 'disabled' },
    };
    up['12'] = { class_type: 'PreviewImage', inputs: { images: ['11', 0] } };
    const r = await runPrompt(f.url, ws, up);
    const m9 = await sharp(await viewBytes(f.url, r.history.outputs['9'].images[0])).metadata();
    const m12 = await sharp(await viewBytes(f.url, r.history.outputs['12'].images[0])).metadata();
    expect([m9.width, m9.height, m12.width, m12.height]).toEqual([128, 128, 100, 50]);

    await upload(f.url, 'src.png', await png({ r: 5, g: 5, b: 5 }, 72, 40));
    const i2i = {
      '1': { class_type: 'LoadImage', inputs: { image: 'src.png' } },
      '2': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
      '3': { class_type: 'VAEEncode', inputs: { pixels: ['1', 0], vae: ['2', 2] } },
      '4': { class_type: 'CLIPTextEncode', inputs: { text: 'oil painting of a harbor', clip: ['2', 1] } },
      '5': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['2', 1] } },
      '6': {
        class_type: 'KSampler',
        inputs: {
          seed: 42,
          steps: 2,
          cfg: 7,
          sampler_name: 'euler',
          scheduler: 'normal',
          denoise: 0.6,
          model: ['2', 0],
          positive: ['4', 0],
          negative: ['5', 0],
          latent_image: ['3', 0],
        },
      },
      '7': { class_type: 'VAEDecode', inputs: { samples: ['6', 0], vae: ['2', 2] } },
      '8': { class_type: 'SaveImage', inputs: { filename_prefix: 'img2img/out', images: ['7', 0] } },
    };
    const res = await runPrompt(f.url, ws, i2i);
    const bytes = await viewBytes(f.url, res.history.outputs['8'].images[0]);
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    const c = expectedColor(42, 'oil painting of a harbor');
    expect([info.width, info.height, data[0], data[1], data[2]]).toEqual([72, 40, c.r, c.g, c.b]);
  });
});

describe('misc', () => {
  it('the upload route accepts the /api prefix too', async () => {
    const f = await fake();
    const r = await upload(f.url, 'z.png', Buffer.from('x'), {}, '/api/upload/image');
    expect(r.json).toEqual({ name: 'z.png', subfolder: '', type: 'input' });
    expect((await postJson(f.url, '/api/upload/mask', 'x')).status).toBe(400);
  });
});
