import type { Op } from '@comfygate/shared';
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { checkerboard, gradient, near, pixels, squareOn } from './fixtures.js';
import { createPostprocessor } from './index.js';

const pp = createPostprocessor();
let grad: Buffer;
let square: Buffer; // grey with a red square at (300, 40), 60 px
let edge: Buffer; // grey with a darker grey square: same hue, an edge in luminance only

beforeAll(async () => {
  [grad, square, edge] = await Promise.all([
    gradient(),
    squareOn({ left: 300, top: 40, size: 60 }),
    squareOn({ left: 300, top: 40, size: 60, color: '#404040' }),
  ]);
});

async function run(src: Buffer, ops: Op[]): Promise<Buffer> {
  const out = await pp.process(src, {
    variants: { v: { ops: [...ops, { op: 'format', format: 'png' }] } },
    provenance: false,
  });
  return out.find((r) => r.variant === 'v')!.bytes;
}

const mean = async (img: Buffer) => (await sharp(img).stats()).channels.slice(0, 3).reduce((s, c) => s + c.mean, 0) / 3;

describe('modulate', () => {
  test('brightness and lightness brighten', async () => {
    const base = await mean(grad);
    expect(await mean(await run(grad, [{ op: 'modulate', brightness: 1.5 }]))).toBeGreaterThan(base + 20);
    expect(await mean(await run(grad, [{ op: 'modulate', lightness: 20 }]))).toBeGreaterThan(base + 20);
  });

  test('saturation 0 leaves only grey; hue 180 turns red to cyan', async () => {
    const grey = await pixels(await run(grad, [{ op: 'modulate', saturation: 0 }]));
    for (const [x, y] of [
      [10, 10],
      [390, 20],
      [200, 290],
    ] as const) {
      const [r, g, b] = grey.at(x, y);
      expect(Math.max(r!, g!, b!) - Math.min(r!, g!, b!)).toBeLessThanOrEqual(3);
    }
    const [r, g, b] = (await pixels(await run(square, [{ op: 'modulate', hue: 180 }]))).at(330, 70);
    expect(g!).toBeGreaterThan(r!);
    expect(b!).toBeGreaterThan(r!);
  });
});

describe('grayscale and tint', () => {
  test('grayscale leaves R = G = B and keeps alpha', async () => {
    const p = await pixels(await run(grad, [{ op: 'grayscale' }]));
    for (const [x, y] of [
      [10, 10],
      [390, 20],
      [200, 290],
    ] as const) {
      const [r, g, b] = p.at(x, y);
      expect([g, b]).toEqual([r, r]);
    }
    const translucent = await sharp({
      create: { width: 8, height: 8, channels: 4, background: { r: 200, g: 50, b: 50, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    expect((await pixels(await run(translucent, [{ op: 'grayscale' }, { op: 'flip' }]))).at(0, 0)[3]).toBe(128);
  });

  test('grayscale then tint is a tinted monochrome, not grey (the tint is not swallowed)', async () => {
    const p = await pixels(await run(grad, [{ op: 'grayscale' }, { op: 'tint', color: '#704214' }]));
    expect(p.channels).toBe(3);
    const [r, , b] = p.at(200, 150);
    expect(r! - b!).toBeGreaterThan(20);
  });
});

describe('blur, sharpen, gamma', () => {
  test('blur softens an edge', async () => {
    expect((await pixels(await run(square, []))).at(298, 70)).toEqual([128, 128, 128]);
    const [r] = (await pixels(await run(square, [{ op: 'blur', sigma: 3 }]))).at(298, 70);
    expect(r!).toBeGreaterThan(140);
  });

  test('sharpen overshoots beside an edge', async () => {
    const before = (await pixels(await run(edge, []))).at(297, 70)[0]!;
    const after = (await pixels(await run(edge, [{ op: 'sharpen', sigma: 2, m2: 5 }]))).at(297, 70)[0]!;
    expect(after).toBeGreaterThan(before + 3);
    const mild = (await pixels(await run(edge, [{ op: 'sharpen' }]))).at(297, 70)[0]!;
    expect(mild).toBeGreaterThanOrEqual(before);
  });

  test('gamma makes a downscale average in linear light', async () => {
    const checks = await checkerboard();
    const plain = (await pixels(await run(checks, [{ op: 'resize', width: 50 }]))).at(25, 25)[0]!;
    const linear = (
      await pixels(
        await run(checks, [
          { op: 'gamma', gamma: 2.2 },
          { op: 'resize', width: 50 },
        ]),
      )
    ).at(25, 25)[0]!;
    expect(near([plain], [128], 4)).toBe(true);
    expect(linear).toBeGreaterThan(170);
  });
});
