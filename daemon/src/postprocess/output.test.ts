import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Op, Provenance } from '@comfygate/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AssetFiles } from '../assets/files.js';
import { gradient, pixels } from './fixtures.js';
import { assetFilesSink, createPostprocessor, fileSink, readTextChunks } from './index.js';
import { insertChunksAfterIHDR, textChunk, walkChunks } from './png-text.js';

const pp = createPostprocessor();
const prov: Provenance = {
  prompt: 'a cat in a hat, ü 🎨',
  negative: 'blurry',
  seed: 1234567890123,
  template: 'sdxl-basic',
  jobId: 'job_42',
  backend: 'gpu1',
  model: 'sdxl.safetensors',
};
let grad: Buffer;
let tmp: string;

beforeAll(async () => {
  grad = await gradient();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pp-out-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
async function one(ops: Op[], p: Provenance | undefined = prov, src = grad) {
  const out = await pp.process(src, { variants: { v: { ops } } }, p);
  return out.find((r) => r.variant === 'v')!;
}

describe('formats', () => {
  test.each([
    ['png', 'png', 'image/png'],
    ['jpeg', 'jpeg', 'image/jpeg'],
    ['webp', 'webp', 'image/webp'],
    ['avif', 'heif', 'image/avif'],
  ] as const)('%s', async (format, decoder, contentType) => {
    const r = await one([
      { op: 'resize', width: 200 },
      { op: 'format', format },
    ]);
    const meta = await sharp(r.bytes).metadata();
    expect(meta.format).toBe(decoder);
    expect(r).toMatchObject({
      variant: 'v',
      format,
      contentType,
      width: 200,
      height: 150,
      sizeBytes: r.bytes.length,
      sha256: sha(r.bytes),
    });
    expect([meta.width, meta.height]).toEqual([200, 150]);
  });

  test('png by default, and the same input gives the same bytes', async () => {
    const [a, b] = [await one([]), await one([])];
    expect(a.format).toBe('png');
    expect(a.sha256).toBe(b.sha256);
  });

  test('quality, lossless and effort reach the encoder', async () => {
    const [low, high] = [
      await one([{ op: 'format', format: 'jpeg', quality: 10 }]),
      await one([{ op: 'format', format: 'jpeg', quality: 95 }]),
    ];
    expect(low.sizeBytes).toBeLessThan(high.sizeBytes / 2);
    const lossless = await one([{ op: 'format', format: 'webp', lossless: true }]);
    const [a, b] = await Promise.all([sharp(lossless.bytes).raw().toBuffer(), sharp(grad).raw().toBuffer()]);
    expect(a.equals(b)).toBe(true);
    expect((await sharp((await one([{ op: 'format', format: 'png', effort: 1 }])).bytes).metadata()).isPalette).toBe(
      true,
    );
  });
});

describe('provenance', () => {
  test('PNG: one comfygate JSON chunk and a parameters text, right after IHDR, CRCs valid', async () => {
    const r = await one([{ op: 'format', format: 'png' }]);
    const chunks = [...walkChunks(r.bytes)];
    expect(chunks.map((c) => c.type).slice(0, 3)).toEqual(['IHDR', 'iTXt', 'iTXt']);
    expect(chunks.every((c) => c.crcOk)).toBe(true);
    const text = Object.fromEntries(readTextChunks(r.bytes).map((t) => [t.keyword, t.text]));
    expect(JSON.parse(text.comfygate!)).toEqual({ software: 'comfygate', ...prov });
    expect(text.parameters).toBe(
      'a cat in a hat, ü 🎨\nNegative prompt: blurry\nSeed: 1234567890123, Model: sdxl.safetensors, Template: sdxl-basic, Job: job_42, Backend: gpu1',
    );
  });

  test.each(['jpeg', 'webp', 'avif'] as const)('%s: EXIF (ASCII-safe JSON) and XMP (UTF-8)', async (format) => {
    const r = await one([{ op: 'format', format }]);
    const meta = await sharp(r.bytes).metadata();
    const exif = meta.exif!.toString('latin1');
    expect(exif).toContain('comfygate');
    expect(exif).toContain('a cat in a hat');
    expect(exif).toContain('"prompt":"a cat in a hat, \\u00fc \\ud83c\\udfa8"');
    expect(exif).toContain('"jobId":"job_42"');
    const xmp = meta.xmp!.toString('utf8');
    expect(xmp).toContain('<rdf:li xml:lang="x-default">a cat in a hat, ü 🎨</rdf:li>');
    expect(xmp).toContain('<cg:seed>1234567890123</cg:seed>');
  });

  test('metadata strip removes everything, provenance included', async () => {
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const r = await one([
        { op: 'format', format },
        { op: 'metadata', mode: 'strip' },
      ]);
      const meta = await sharp(r.bytes).metadata();
      expect([meta.exif, meta.xmp, meta.icc]).toEqual([undefined, undefined, undefined]);
      if (format === 'png')
        expect(
          [...walkChunks(r.bytes)]
            .map((c) => c.type)
            .filter((t) => ['tEXt', 'iTXt', 'zTXt', 'eXIf', 'iCCP'].includes(t)),
        ).toEqual([]);
    }
  });

  test('provenance: false, or none given, writes none', async () => {
    const off = await pp.process(grad, { variants: { v: { ops: [] } }, provenance: false }, prov);
    const none = await pp.process(grad, { variants: { v: { ops: [{ op: 'format', format: 'webp' }] } } });
    expect(readTextChunks(off[0]!.bytes)).toEqual([]);
    expect((await sharp(off[1]!.bytes).metadata()).exif).toBeUndefined(); // the webp thumb
    expect((await sharp(none[0]!.bytes).metadata()).exif).toBeUndefined();
  });

  test("metadata keep also carries the source PNG's own text (ComfyUI's workflow); ours replace a stale parameters", async () => {
    const chunks = [textChunk('workflow', '{"nodes":[1]}'), textChunk('parameters', 'stale')];
    const parts: Buffer[] = [];
    for await (const c of Readable.from([grad]).pipe(insertChunksAfterIHDR(chunks))) parts.push(c as Buffer);
    const comfy = Buffer.concat(parts);
    const kept = readTextChunks((await one([{ op: 'metadata', mode: 'keep' }], prov, comfy)).bytes);
    expect(kept.map((t) => t.keyword)).toEqual(['parameters', 'comfygate', 'workflow']);
    expect(kept[0]!.text).not.toBe('stale');
    expect(readTextChunks((await one([], prov, comfy)).bytes).map((t) => t.keyword)).toEqual([
      'parameters',
      'comfygate',
    ]);
  });
});

describe('@1x/@2x from one spec', () => {
  test('sizes scale, every variant carries provenance, thumb comes last', async () => {
    const spec = {
      variants: {
        card: {
          densities: [1, 2],
          ops: [
            { op: 'resize', width: 160, height: 90 },
            { op: 'format', format: 'webp' },
          ],
        },
      },
    };
    const out = await pp.process(grad, spec, prov);
    expect(out.map((r) => [r.variant, r.width, r.height, r.format])).toEqual([
      ['card@1x', 160, 90, 'webp'],
      ['card@2x', 320, 180, 'webp'],
      ['thumb', 256, 192, 'webp'],
    ]);
    for (const r of out) expect((await sharp(r.bytes).metadata()).exif!.toString('latin1')).toContain('job_42');
  });
});

describe('sources and sinks', () => {
  test('a file path in, files out; or straight into the content-addressed store', async () => {
    const src = path.join(tmp, 'src.png');
    fs.writeFileSync(src, grad);
    const dir = fs.mkdtempSync(path.join(tmp, 'files-'));
    const files = await pp.processInto(
      src,
      { variants: { big: { ops: [{ op: 'format', format: 'jpeg' }] } } },
      prov,
      fileSink(dir),
    );
    expect(files.map((f) => path.basename(f.path))).toEqual(['big.jpg', 'thumb.webp']);
    for (const f of files) expect(sha(fs.readFileSync(f.path))).toBe(f.sha256);
    const store = new AssetFiles(path.join(tmp, 'store'));
    const stored = await pp.processInto(grad, { variants: { big: { ops: [] } } }, prov, assetFilesSink(store));
    for (const s of stored) {
      expect(s.stored.sha256).toBe(s.sha256);
      expect(s.path).toBe(store.pathFor(s.sha256));
      expect(fs.statSync(s.path).size).toBe(s.sizeBytes);
    }
  });

  test('a sink that fails, early or midway, fails the job with storage_error and nothing left hanging', async () => {
    const spec = { variants: { v: { ops: [] } } };
    const early = async () => Promise.reject(new Error('disk full'));
    await expect(pp.processInto(grad, spec, prov, early)).rejects.toMatchObject({
      code: 'storage_error',
      message: 'variants.v: could not store the output: disk full',
    });
    const midway = async (_t: unknown, s: Readable) => {
      // eslint-disable-next-line no-unreachable-loop -- the first chunk is where the sink fails
      for await (const _ of s) throw new Error('connection reset');
      return {};
    };
    await expect(pp.processInto(grad, spec, prov, midway)).rejects.toMatchObject({ code: 'storage_error' });
    const dir = fs.mkdtempSync(path.join(tmp, 'twice-'));
    await pp.processInto(grad, spec, prov, fileSink(dir));
    await expect(pp.processInto(grad, spec, prov, fileSink(dir))).rejects.toMatchObject({
      code: 'storage_error',
      message: expect.stringMatching(/EEXIST/),
    });
    expect(fs.readdirSync(dir).sort()).toEqual(['thumb.webp', 'v.png']);
  });

  test('16-bit and greyscale sources survive a multi-stage variant', async () => {
    const deep = await sharp(grad).png({ compressionLevel: 1 }).toColourspace('rgb16').toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const p = await pixels((await one([{ op: 'rotate', angle: 90 }, { op: 'flip' }], undefined, deep)).bytes);
    expect(p.at(0, 0).slice(0, 3)).toEqual([255, 255, 64]);
    const grey = await sharp(grad).toColourspace('b-w').png().toBuffer();
    expect((await one([{ op: 'extend', left: 2, background: '#ff0000' }, { op: 'flip' }], undefined, grey)).width).toBe(
      402,
    );
  });
});
