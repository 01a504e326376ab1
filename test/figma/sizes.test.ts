import { expect, it } from 'vitest';
import { fitLongSide, gridCells, outpaintMargins, sizePresets } from '../../figma-plugin/src/sizes.js';

it('size presets follow the frame: its aspect kept, sides in multiples of 8, its own size first', () => {
  expect(fitLongSide(1200, 800, 1024)).toEqual({ width: 1024, height: 680 });
  expect(fitLongSide(375, 812, 768)).toEqual({ width: 352, height: 768 });
  const presets = sizePresets({ width: 1200, height: 801 });
  expect(presets[0]).toEqual({ label: 'Frame 1200×800', width: 1200, height: 800 });
  for (const p of presets) expect([p.width % 8, p.height % 8]).toEqual([0, 0]);
  expect(presets.slice(1).map((p) => Math.abs(p.width / p.height - 1200 / 801))).toSatisfy((d: number[]) =>
    d.every((x) => x < 0.02),
  );
  expect(sizePresets(null).map((p) => [p.width, p.height])).toEqual([
    [512, 512],
    [768, 768],
    [1024, 1024],
    [1536, 1536],
  ]);
  expect(sizePresets({ width: 4000, height: 10 }).every((p) => p.height >= 64)).toBe(true);
});

it("expand pads the image to the frame's new aspect at the image's own scale, centred", () => {
  expect(outpaintMargins({ width: 256, height: 128 }, { width: 384, height: 128 })).toEqual({
    left: 64,
    right: 64,
    top: 0,
    bottom: 0,
  });
  // The frame shown at half the image's pixels, grown taller: the image keeps its pixels, the height grows.
  expect(outpaintMargins({ width: 512, height: 512 }, { width: 256, height: 384 })).toEqual({
    left: 0,
    right: 0,
    top: 128,
    bottom: 128,
  });
  expect(outpaintMargins({ width: 512, height: 512 }, { width: 512, height: 512 })).toEqual({
    left: 0,
    right: 0,
    top: 0,
    bottom: 0,
  });
});

it('a batch is laid out as a near-square grid', () => {
  expect(gridCells(4, 100, 50, 10)).toEqual([
    { x: 0, y: 0 },
    { x: 110, y: 0 },
    { x: 0, y: 60 },
    { x: 110, y: 60 },
  ]);
  expect(gridCells(3, 10, 10, 0).map((c) => c.y)).toEqual([0, 0, 10]);
});
