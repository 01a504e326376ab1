import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Op } from '@comfygate/shared';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gradient } from './fixtures.js';
import { createPostprocessor, fileSink, type PostprocessError, type SinkTarget } from './index.js';
import { encodeChunk, PNG_SIGNATURE } from './png-text.js';
import { variantError } from './processor.js';
import { inspectSource } from './source.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pp-limits-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs `fn` while sampling RSS every 2 ms; returns how far the peak rose above the start. */
async function rssRise(fn: () => Promise<unknown>): Promise<number> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage.rss()) - start;
}

/** A PNG that is all header: 10000x10000 RGBA with 16 bytes of pixel data. Decoding it could only fail. */
async function headerOnlyPng(width: number, height: number): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, deflate, adaptive filter, no interlace
  const idat = await promisify(zlib.deflate)(Buffer.alloc(16)); // libvips wants an IDAT to accept the header
  return Buffer.concat([
    PNG_SIGNATURE,
    encodeChunk('IHDR', ihdr),
    encodeChunk('IDAT', idat),
    encodeChunk('IEND', Buffer.alloc(0)),
  ]);
}

const spec = { variants: { hero: { ops: [{ op: 'resize', width: 1024 }] as Op[] } } };
const MB = 1024 * 1024;

describe('the pixel limit', () => {
  test('a 100-megapixel header is refused from its metadata, with memory flat', async () => {
    const pp = createPostprocessor();
    const bomb = await headerOnlyPng(10_000, 10_000);
    await expect(createPostprocessor({ maxPixels: 200_000_000 }).process(bomb, spec)).rejects.toMatchObject({
      code: 'unsupported_media_type',
      message: expect.stringMatching(/^variants\.hero: the image data is damaged/),
    });
    // the same through a file sink: the decoder's error is reported, and no partial file is left
    const dir = fs.mkdtempSync(path.join(tmp, 'bomb-'));
    await expect(
      createPostprocessor({ maxPixels: 200_000_000 }).processInto(bomb, spec, undefined, fileSink(dir)),
    ).rejects.toMatchObject({ code: 'unsupported_media_type' });
    expect(fs.readdirSync(dir)).toEqual([]);
    let err: PostprocessError | undefined;
    const rise = await rssRise(async () => {
      err = (await pp.process(bomb, spec).catch((e: unknown) => e)) as PostprocessError;
    });
    expect(err?.code).toBe('payload_too_large');
    expect(err?.status).toBe(413);
    expect(err?.message).toBe('image exceeds the 40000000-pixel limit');
    expect(rise).toBeLessThan(40 * MB); // decoding would need 400 MB
  });

  test('damage is classified by the image, whichever libvips stage reports it (reading or encoding)', async () => {
    // On a loaded machine the header-only PNG's damage surfaced as the encoder's "vips2png: …" instead of the
    // decoder's message, and came out as a spec error. Both stages' messages are given here, deterministically.
    const damaged = await inspectSource(await headerOnlyPng(2_000, 2_000), 200_000_000);
    const healthy = await inspectSource(await gradient(64, 64), 200_000_000);
    const fromEncoder = new Error(
      'vips2png: unable to write to target\nVipsForeignSavePngTarget: unable to call VipsForeignSave',
    );
    const fromDecoder = new Error('pngload_buffer: libpng read error');
    for (const err of [fromEncoder, fromDecoder]) {
      await expect(variantError(err, 'hero', damaged)).resolves.toMatchObject({
        code: 'unsupported_media_type',
        message: expect.stringMatching(/^variants\.hero: the image data is damaged/),
      });
    }
    // A healthy image that fails to render is the spec's fault, whatever the message says.
    await expect(variantError(fromEncoder, 'hero', healthy)).resolves.toMatchObject({
      code: 'validation_failed',
      message: 'variants.hero: vips2png: unable to write to target',
    });
  });

  test('a real 100-megapixel PNG file is refused the same way, without being decoded', async () => {
    // Made in a child process, so that this process has never held those pixels (and cannot reuse their memory).
    const file = path.join(tmp, 'huge.png');
    const script = `import sharp from 'sharp'; await sharp({ create: { width: 10000, height: 10000, channels: 4, background: '#336699' } }).png({ compressionLevel: 1 }).toFile(${JSON.stringify(file)});`;
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../..'),
    });
    const pp = createPostprocessor();
    let err: PostprocessError | undefined;
    const started = Date.now();
    const rise = await rssRise(async () => {
      err = (await pp.process(file, spec).catch((e: unknown) => e)) as PostprocessError;
    });
    expect(err?.code).toBe('payload_too_large');
    expect(rise).toBeLessThan(40 * MB);
    expect(Date.now() - started).toBeLessThan(1000); // decoding 100 MP takes seconds here
  }, 60_000);

  test('the limit is configurable', async () => {
    const grad = await gradient();
    const small = createPostprocessor({ maxPixels: 100_000 });
    expect(small.maxPixels).toBe(100_000);
    await expect(small.process(grad, spec)).rejects.toMatchObject({ code: 'payload_too_large' });
    await expect(
      createPostprocessor({ maxPixels: 120_000 }).process(grad, { variants: { v: { ops: [] } } }),
    ).resolves.toHaveLength(2);
  });

  test('not an image, or SVG, is refused as an unsupported media type', async () => {
    const pp = createPostprocessor();
    await expect(pp.process(Buffer.from('hello'), spec)).rejects.toMatchObject({ code: 'unsupported_media_type' });
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    await expect(pp.process(svg, spec)).rejects.toMatchObject({
      code: 'unsupported_media_type',
      message: "cannot post-process 'svg' images",
    });
    await expect(pp.process(path.join(tmp, 'absent.png'), spec)).rejects.toMatchObject({ code: 'missing_asset' });
  });

  test('a bad spec is refused before the image is even read', async () => {
    await expect(
      createPostprocessor().process(Buffer.from('not an image'), { variants: { v: { ops: [{ op: 'nope' }] } } }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });
});

describe('concurrency and the event loop', () => {
  /** A sink that holds each variant a little while and records how many it held at once. */
  function countingSink() {
    const seen = { active: 0, max: 0, calls: 0 };
    const sink = async (_t: SinkTarget, stream: Readable) => {
      seen.calls++;
      seen.max = Math.max(seen.max, ++seen.active);
      await new Promise((r) => setTimeout(r, 20));
      for await (const _ of stream);
      seen.active--;
      return {};
    };
    return { seen, sink };
  }

  const many = (n: number) => ({
    variants: Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`v${i}`, { ops: [{ op: 'resize', width: 50 + i }] as Op[] }]),
    ),
  });

  test.each([1, 2, 3])('at most %i variants at once, across concurrent jobs', async (limit) => {
    const grad = await gradient(200, 150);
    const pp = createPostprocessor({ concurrency: limit });
    expect(pp.concurrency).toBe(limit);
    const { seen, sink } = countingSink();
    await Promise.all([pp.processInto(grad, many(6), undefined, sink), pp.processInto(grad, many(4), undefined, sink)]);
    expect(seen.calls).toBe(6 + 1 + 4 + 1);
    expect(seen.max).toBe(limit);
  });

  test('the event loop keeps ticking through a big batch', async () => {
    const big = await gradient(1600, 1600);
    const pp = createPostprocessor();
    const heavy: Op[] = [
      { op: 'blur', sigma: 4 },
      { op: 'modulate', saturation: 1.5 },
      { op: 'watermark', text: 'comfygate' },
      { op: 'format', format: 'webp', effort: 6 },
    ];
    const variants = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => [n, { ops: heavy }]));
    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      [maxGap, last, ticks] = [Math.max(maxGap, now - last), now, ticks + 1];
    }, 5);
    const started = performance.now();
    const out = await pp.process(big, { variants });
    const took = performance.now() - started;
    clearInterval(timer);
    expect(out).toHaveLength(7);
    expect(took).toBeGreaterThan(500);
    expect(maxGap).toBeLessThan(Math.max(150, took / 5));
    expect(ticks).toBeGreaterThan(took / 5 / 4);
  }, 60_000);
});
