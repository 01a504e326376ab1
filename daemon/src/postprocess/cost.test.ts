import { expect, test } from 'vitest';
import { planCost } from './cost.js';
import { planSpec } from './validate.js';

const MP = 1024 * 1024;

test('cost grows with size and sigma; resizes change what later ops cost', () => {
  const ordinary = planSpec({
    variants: { hero: { ops: [{ op: 'resize', width: 2048 }, { op: 'sharpen' }, { op: 'format', format: 'webp' }] } },
  });
  const small = planCost(ordinary, MP);
  expect(small).toBeGreaterThan(10);
  expect(small).toBeLessThan(30);
  const resize = { op: 'resize', width: 6000, height: 6000, fit: 'fill' };
  const blurs = planSpec({ variants: { hero: { ops: [resize, ...Array(31).fill({ op: 'blur', sigma: 100 })] } } });
  expect(planCost(blurs, MP)).toBeGreaterThan(100_000);
  // The same blur after a downscale costs less than before it.
  const before = planSpec({
    variants: {
      a: {
        ops: [
          { op: 'blur', sigma: 10 },
          { op: 'resize', width: 256, height: 256 },
        ],
      },
    },
  });
  const after = planSpec({
    variants: {
      a: {
        ops: [
          { op: 'resize', width: 256, height: 256 },
          { op: 'blur', sigma: 10 },
        ],
      },
    },
  });
  expect(planCost(after, 16 * MP)).toBeLessThan(planCost(before, 16 * MP) / 5);
  // Densities multiply the pixels: @2x costs about four times @1x.
  const one = planSpec({
    variants: {
      a: {
        ops: [
          { op: 'resize', width: 1000, height: 1000 },
          { op: 'blur', sigma: 4 },
        ],
      },
    },
  });
  const two = planSpec({
    variants: {
      a: {
        densities: [2],
        ops: [
          { op: 'resize', width: 1000, height: 1000 },
          { op: 'blur', sigma: 4 },
        ],
      },
    },
  });
  expect(planCost(two, MP) / planCost(one, MP)).toBeGreaterThan(3);
});
