import type { Op } from '@comfygate/shared';
import sharp, { type Sharp } from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { gradient, near, pixels, squareOn } from './fixtures.js';
import { createPostprocessor, type PostprocessError } from './index.js';

const pp = createPostprocessor();
let grad: Buffer; // 400x300, red = x ramp, green = y ramp
let square: Buffer; // 400x300 grey, red 60x60 square at (300, 40)

beforeAll(async () => {
  [grad, square] = await Promise.all([gradient(), squareOn({ left: 300, top: 40, size: 60 })]);
});

/** One lossless variant made of `ops`. */
async function run(src: Buffer, ops: Op[]): Promise<Buffer> {
  const out = await pp.process(src, {
    variants: { v: { ops: [...ops, { op: 'format', format: 'png' }] } },
    provenance: false,
  });
  return out.find((r) => r.variant === 'v')!.bytes;
}

/** The reference: each step in a pipeline of its own, so sharp cannot reorder anything. */
async function stepwise(src: Buffer, steps: Array<(s: Sharp) => Sharp>): Promise<Buffer> {
  let buf = src;
  for (const step of steps) buf = await step(sharp(buf)).png().toBuffer();
  return buf;
}

async function sameImage(a: Buffer, b: Buffer): Promise<void> {
  const [pa, pb] = await Promise.all([
    sharp(a).raw().toBuffer({ resolveWithObject: true }),
    sharp(b).raw().toBuffer({ resolveWithObject: true }),
  ]);
  expect([pa.info.width, pa.info.height, pa.info.channels]).toEqual([pb.info.width, pb.info.height, pb.info.channels]);
  expect(pa.data.equals(pb.data)).toBe(true);
}

describe('resize', () => {
  test.each([
    [{ width: 200, height: 200, fit: 'inside' }, 200, 150],
    [{ width: 100, height: 100 }, 100, 100],
    [{ width: 100, height: 50, fit: 'fill' }, 100, 50],
    [{ width: 100, height: 100, fit: 'outside' }, 133, 100],
    [{ width: 100 }, 100, 75],
    [{ height: 600 }, 800, 600],
    [{ width: 800, withoutEnlargement: true }, 400, 300],
  ] as const)('%j → %ix%i', async (o, w, h) => {
    const p = await pixels(await run(grad, [{ op: 'resize', ...o }]));
    expect([p.width, p.height]).toEqual([w, h]);
  });

  test('fill keeps the corners where they were', async () => {
    const p = await pixels(
      await run(grad, [{ op: 'resize', width: 200, height: 100, fit: 'fill', kernel: 'nearest' }]),
    );
    expect(near(p.at(0, 0), [0, 0, 64])).toBe(true);
    expect(near(p.at(199, 99), [255, 255, 64])).toBe(true);
  });

  test('contain pads with the background colour; position picks the part cover keeps', async () => {
    const padded = await pixels(
      await run(grad, [{ op: 'resize', width: 100, height: 100, fit: 'contain', background: '#00ff00' }]),
    );
    expect(near(padded.at(50, 2), [0, 255, 0])).toBe(true);
    const east = await pixels(await run(grad, [{ op: 'resize', width: 100, height: 300, position: 'east' }]));
    expect(east.at(0, 0)[0]).toBeGreaterThan(180); // the right quarter of a red ramp
  });
});

describe('crop', () => {
  test('a box cuts exactly that region', async () => {
    const p = await pixels(await run(square, [{ op: 'crop', left: 300, top: 40, width: 60, height: 60 }]));
    expect([p.width, p.height]).toEqual([60, 60]);
    for (const [x, y] of [
      [0, 0],
      [59, 59],
      [30, 30],
    ] as const)
      expect(p.at(x, y)).toEqual([255, 0, 0]);
  });

  test('attention finds the red square without scaling', async () => {
    const p = await pixels(await run(square, [{ op: 'crop', width: 100, height: 100, position: 'attention' }]));
    expect([p.width, p.height]).toEqual([100, 100]);
    let red = 0;
    for (let y = 0; y < 100; y++) for (let x = 0; x < 100; x++) if (near(p.at(x, y), [255, 0, 0], 2)) red++;
    expect(red).toBe(60 * 60);
  });

  test('a gravity window is cut unscaled from that side', async () => {
    const p = await pixels(await run(grad, [{ op: 'crop', width: 100, height: 100, position: 'northeast' }]));
    expect([p.width, p.height]).toEqual([100, 100]);
    expect(near(p.at(0, 0), [Math.round((300 / 399) * 255), 0, 64], 2)).toBe(true);
    expect(near(p.at(99, 99), [255, Math.round((99 / 299) * 255), 64], 2)).toBe(true);
  });

  test('after a resize it crops the resized image', async () => {
    const p = await pixels(
      await run(square, [
        { op: 'resize', width: 200 },
        { op: 'crop', left: 152, top: 22, width: 26, height: 26 },
      ]),
    );
    expect(near(p.at(0, 0), [255, 0, 0])).toBe(true);
    expect(near(p.at(25, 25), [255, 0, 0])).toBe(true);
  });

  test('a crop that does not fit is refused, naming the op', async () => {
    const err = (await run(grad, [{ op: 'flip' }, { op: 'crop', width: 500, height: 100 }]).catch(
      (e: unknown) => e,
    )) as PostprocessError;
    expect(err.code).toBe('validation_failed');
    expect(err.message).toBe('variants.v.ops[1] (crop): crop 500x100 does not fit the 400x300 image');
  });
});

describe('extend, rotate, flip, flop, trim', () => {
  test('extend pads each edge with the background', async () => {
    const p = await pixels(await run(grad, [{ op: 'extend', top: 10, left: 5, background: '#0000ff' }]));
    expect([p.width, p.height]).toEqual([405, 310]);
    expect(p.at(0, 0)).toEqual([0, 0, 255]);
    expect(p.at(5, 10)).toEqual([0, 0, 64]);
  });

  test('rotate 90 turns clockwise; 45 grows the canvas and fills with the background', async () => {
    const r = await pixels(await run(grad, [{ op: 'rotate', angle: 90 }]));
    expect([r.width, r.height]).toEqual([300, 400]);
    expect(r.at(299, 0)).toEqual([0, 0, 64]);
    expect(r.at(0, 0)).toEqual([0, 255, 64]);
    const t = await pixels(await run(grad, [{ op: 'rotate', angle: 45, background: '#ff00ff' }]));
    expect(Math.abs(t.width - 495)).toBeLessThanOrEqual(1);
    expect(near(t.at(0, 0), [255, 0, 255])).toBe(true);
  });

  test('flip mirrors top-bottom, flop left-right', async () => {
    expect((await pixels(await run(grad, [{ op: 'flip' }]))).at(0, 0)).toEqual([0, 255, 64]);
    expect((await pixels(await run(grad, [{ op: 'flop' }]))).at(0, 0)).toEqual([255, 0, 64]);
  });

  test('trim removes a uniform border', async () => {
    const p = await pixels(await run(square, [{ op: 'trim', threshold: 10 }]));
    expect([p.width, p.height]).toEqual([60, 60]);
  });
});

describe('ops apply in the order given, even where one sharp pipeline would reorder them', () => {
  const sequences: Array<[string, Op[], Array<(s: Sharp) => Sharp>]> = [
    [
      'flip, crop',
      [{ op: 'flip' }, { op: 'crop', left: 10, top: 20, width: 50, height: 40 }],
      [(s) => s.flip(), (s) => s.extract({ left: 10, top: 20, width: 50, height: 40 })],
    ],
    ['rotate, flip', [{ op: 'rotate', angle: 90 }, { op: 'flip' }], [(s) => s.rotate(90), (s) => s.flip()]],
    ['flip, rotate', [{ op: 'flip' }, { op: 'rotate', angle: 90 }], [(s) => s.flip(), (s) => s.rotate(90)]],
    [
      'crop, rotate',
      [
        { op: 'crop', left: 10, top: 20, width: 50, height: 40 },
        { op: 'rotate', angle: 270 },
      ],
      [(s) => s.extract({ left: 10, top: 20, width: 50, height: 40 }), (s) => s.rotate(270)],
    ],
    [
      'extend, crop',
      [
        { op: 'extend', left: 30, background: '#ff0000' },
        { op: 'crop', left: 0, top: 0, width: 60, height: 60 },
      ],
      [
        (s) => s.extend({ left: 30, background: '#ff0000' }),
        (s) => s.extract({ left: 0, top: 0, width: 60, height: 60 }),
      ],
    ],
    [
      'extend, trim',
      [{ op: 'extend', top: 20, background: '#000000' }, { op: 'trim' }],
      [(s) => s.extend({ top: 20, background: '#000000' }), (s) => s.trim({ threshold: 10 })],
    ],
    [
      'flop, extend, flip',
      [{ op: 'flop' }, { op: 'extend', right: 9, background: '#00ff00' }, { op: 'flip' }],
      [(s) => s.flop(), (s) => s.extend({ right: 9, background: '#00ff00' }), (s) => s.flip()],
    ],
  ];

  test.each(sequences)('%s', async (_name, ops, steps) => {
    await sameImage(await run(grad, ops), await stepwise(grad, steps));
  });
});

test('no op may produce more pixels than the input limit', async () => {
  const err = (await run(grad, [{ op: 'resize', width: 16384, height: 16384 }]).catch(
    (e: unknown) => e,
  )) as PostprocessError;
  expect(err.code).toBe('payload_too_large');
  expect(err.message).toMatch(
    /^variants\.v\.ops\[0\] \(resize\): the result would be 16384x16384 \(268435456 pixels\); the limit is 40000000$/,
  );
});
