import type { Op } from '@comfygate/shared';
import type { Plan } from './validate.js';

/**
 * Estimated work of a plan, in megapixel-passes: each op costs one pass over the image as it is at that op,
 * except blur and sharpen, whose Gaussian kernels grow with sigma (about 6σ taps a pixel, separable), counted as
 * 1 + σ passes. Resizes and crops change the size the following ops work on. Rough, but proportional to sharp's
 * CPU time, which is what a bound at submit needs. `sourcePixels`: the expected output size (or a worst case).
 */
export function planCost(plan: Plan, sourcePixels: number): number {
  let total = 0;
  for (const v of plan.variants) {
    let px = sourcePixels;
    for (const op of v.ops) {
      const after = sizeAfter(op, px);
      total += (Math.max(px, after) / 1e6) * passes(op); // a resize reads all of its input
      px = after;
    }
  }
  return total;
}

function passes(op: Op): number {
  if (op.op === 'blur' || op.op === 'sharpen') return 1 + (op.sigma ?? 1);
  return 1;
}

/** Pixels after an op; an edge given alone is taken as a square (the aspect is not known at submit). */
function sizeAfter(op: Op, px: number): number {
  switch (op.op) {
    case 'resize': {
      const w = op.width ?? op.height!;
      const h = op.height ?? op.width!;
      return op.withoutEnlargement ? Math.min(px, w * h) : w * h;
    }
    case 'crop':
      return Math.min(px, op.width * op.height);
    case 'extend': {
      const side = Math.sqrt(px);
      return (side + (op.left ?? 0) + (op.right ?? 0)) * (side + (op.top ?? 0) + (op.bottom ?? 0));
    }
    case 'rotate':
      return px * 2; // a bounding box of up to twice the area
    default:
      return px;
  }
}
