import crypto from 'node:crypto';
import type { Op } from '@comfygate/shared';
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { gradient, near, pixels, type Pixels } from './fixtures.js';
import { createPostprocessor, type PostprocessError, type Postprocessor } from './index.js';

let grad: Buffer;
let blue: Buffer; // 40x40 opaque blue
let blueSha: string;

beforeAll(async () => {
  grad = await gradient();
  blue = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#0000ff' } })
    .png()
    .toBuffer();
  blueSha = crypto.createHash('sha256').update(blue).digest('hex');
});

async function variant(pp: Postprocessor, ops: Op[], name = 'v'): Promise<Pixels> {
  const out = await pp.process(grad, {
    variants: { [name]: { ops: [...ops, { op: 'format', format: 'png' }] } },
    provenance: false,
  });
  return pixels(out.find((r) => r.variant === name)!.bytes);
}

/** The bounding box of pixels that differ between two same-sized images. */
function changed(a: Pixels, b: Pixels): { count: number; minX: number; minY: number; maxX: number; maxY: number } {
  const box = { count: 0, minX: Infinity, minY: Infinity, maxX: -1, maxY: -1 };
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      if (near(a.at(x, y).slice(0, 3), b.at(x, y).slice(0, 3), 2)) continue;
      box.count++;
      [box.minX, box.minY] = [Math.min(box.minX, x), Math.min(box.minY, y)];
      [box.maxX, box.maxY] = [Math.max(box.maxX, x), Math.max(box.maxY, y)];
    }
  }
  return box;
}

describe('text watermark', () => {
  const pp = createPostprocessor();

  test('changes pixels in the bottom-right corner only, inside the margin', async () => {
    const [plain, marked] = await Promise.all([
      variant(pp, []),
      variant(pp, [{ op: 'watermark', text: 'comfygate', opacity: 1 }]),
    ]);
    const box = changed(plain, marked);
    expect(box.count).toBeGreaterThan(100);
    expect(box.minX).toBeGreaterThan(200);
    expect(box.minY).toBeGreaterThan(150);
    const margin = Math.round(300 * 0.02);
    expect(box.maxX).toBeLessThanOrEqual(399 - margin);
    expect(box.maxY).toBeLessThanOrEqual(299 - margin);
  });

  test('gravity and margin place it; colour and opacity paint it', async () => {
    const [plain, marked] = await Promise.all([
      variant(pp, []),
      variant(pp, [
        { op: 'watermark', text: '■■■', gravity: 'northwest', margin: 20, color: '#00ff00', opacity: 1, fontSize: 0.1 },
      ]),
    ]);
    const box = changed(plain, marked);
    expect(box.minX).toBeGreaterThanOrEqual(20);
    expect(box.minY).toBeGreaterThanOrEqual(20);
    expect(box.maxX).toBeLessThan(200);
    expect(box.maxY).toBeLessThan(150);
    const centre = marked.at(Math.round((box.minX + box.maxX) / 2), Math.round((box.minY + box.maxY) / 2));
    expect(near(centre.slice(0, 3), [0, 255, 0], 30)).toBe(true);
  });

  test('font size is relative to the image, so @2x text is twice as wide', async () => {
    const out = await pp.process(grad, {
      variants: {
        hero: {
          densities: [1, 2],
          ops: [
            { op: 'resize', width: 300 },
            { op: 'watermark', text: 'comfy', opacity: 1 },
            { op: 'format', format: 'png' },
          ],
        },
      },
      provenance: false,
    });
    const plain = await pp.process(grad, {
      variants: {
        hero: {
          densities: [1, 2],
          ops: [
            { op: 'resize', width: 300 },
            { op: 'format', format: 'png' },
          ],
        },
      },
      provenance: false,
    });
    const widths = [];
    for (const i of [0, 1]) widths.push(changed(await pixels(plain[i]!.bytes), await pixels(out[i]!.bytes)));
    expect([out[0]!.width, out[1]!.width]).toEqual([300, 600]);
    const ratio = (widths[1]!.maxX - widths[1]!.minX) / (widths[0]!.maxX - widths[0]!.minX);
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.2);
  });

  test('markup in the text is text', async () => {
    const marked = await variant(pp, [{ op: 'watermark', text: '<b>&amp;"\'</b>', opacity: 1 }]);
    expect(changed(await variant(pp, []), marked).count).toBeGreaterThan(50);
  });
});

describe('image watermark', () => {
  test('by sha256, resolved once per job, scaled to the image width, in its corner', async () => {
    let calls = 0;
    const pp = createPostprocessor({ resolveImage: async (sha) => (calls++, expect(sha).toBe(blueSha), blue) });
    const ops: Op[] = [
      { op: 'watermark', image: { sha256: blueSha }, scale: 0.25, margin: 10 },
      { op: 'format', format: 'png' },
    ];
    const out = await pp.process(grad, { variants: { a: { ops }, b: { ops } }, provenance: false });
    expect(calls).toBe(1);
    const p = await pixels(out[0]!.bytes);
    // 100x100 (25% of 400) blue block, 10 px from the right and bottom edges
    for (const [x, y] of [
      [290, 190],
      [389, 289],
      [340, 240],
    ] as const)
      expect(p.at(x, y).slice(0, 3)).toEqual([0, 0, 255]);
    for (const [x, y] of [
      [289, 240],
      [390, 240],
      [340, 189],
      [340, 290],
      [10, 10],
    ] as const)
      expect(p.at(x, y)[2]).toBe(64);
  });

  test('inline base64, half opacity blends with what is beneath', async () => {
    const pp = createPostprocessor();
    const p = await variant(pp, [
      {
        op: 'watermark',
        image: { base64: blue.toString('base64') },
        gravity: 'northwest',
        margin: 0,
        scale: 0.1,
        opacity: 0.5,
      },
    ]);
    const [r, g, b] = p.at(20, 20);
    const under = [Math.round((20 / 399) * 255), Math.round((20 / 299) * 255), 64];
    expect(near([r!, g!, b!], [under[0]! / 2, under[1]! / 2, (64 + 255) / 2], 3)).toBe(true);
  });

  test('after a resize it sits in the corner of the resized image', async () => {
    const pp = createPostprocessor({ resolveImage: async () => blue });
    const p = await variant(pp, [
      { op: 'resize', width: 200 },
      { op: 'watermark', image: { sha256: blueSha }, scale: 0.25, margin: 0 },
    ]);
    expect([p.width, p.height]).toEqual([200, 150]);
    expect(p.at(199, 149).slice(0, 3)).toEqual([0, 0, 255]);
    expect(p.at(150, 100).slice(0, 3)).toEqual([0, 0, 255]);
    expect(p.at(149, 99)[2]).not.toBe(255);
  });

  test('without a resolver, or when it fails, the job fails with a typed error', async () => {
    const ops: Op[] = [{ op: 'watermark', image: { sha256: blueSha } }];
    const none = (await variant(createPostprocessor(), ops).catch((e: unknown) => e)) as PostprocessError;
    expect([none.code, none.message]).toEqual([
      'validation_failed',
      'watermark images by sha256 need a resolveImage callback',
    ]);
    const failing = createPostprocessor({ resolveImage: () => Promise.reject(new Error('no such asset')) });
    const missing = (await variant(failing, ops).catch((e: unknown) => e)) as PostprocessError;
    expect(missing.code).toBe('missing_asset');
    expect(missing.status).toBe(422);
  });
});
