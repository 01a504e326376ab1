import type { Op } from '@comfygate/shared';
import { type Dims, type OpDefs, OpMisfit, type Predicted, type Stage } from './types.js';

type O<K extends Op['op']> = Extract<Op, { op: K }>;

/**
 * Ranks follow sharp's pipeline.cc: rotate-before (flip, flop, rotate), trim, pre-extract, resize, extend. Flip and
 * flop are only moved ahead of a resize by sharp, not ahead of trim or extract, hence their flushIf.
 */
const afterMirror = (s: Stage) => s.names.has('flip') || s.names.has('flop');

export const geometryOps: OpDefs = {
  flip: { rank: () => 10, predict: (d) => d, apply: (img) => img.flip() },
  flop: { rank: () => 11, predict: (d) => d, apply: (img) => img.flop() },
  rotate: {
    rank: () => 12,
    predict: rotated,
    apply: (img, o) => img.rotate(o.angle, o.background ? { background: o.background } : undefined),
  },
  trim: {
    rank: () => 20,
    flushIf: afterMirror,
    predict: (d) => ({ ...d, exact: false }),
    apply: (img, o) =>
      img.trim({
        threshold: o.threshold ?? 10,
        ...(o.background && { background: o.background }),
        margin: o.margin ?? 0,
      }),
  },
  crop: {
    // A box is sharp's pre-resize extract; a positioned window is a cover-resize that may not reduce, i.e. a pure crop.
    rank: (o) => (o.left === undefined ? 50 : 30),
    needsExact: true,
    flushIf: afterMirror,
    closes: gammaPending,
    predict: cropped,
    apply: (img, o) =>
      o.left !== undefined && o.top !== undefined
        ? img.extract({ left: o.left, top: o.top, width: o.width, height: o.height })
        : img.resize({
            width: o.width,
            height: o.height,
            fit: 'cover',
            position: o.position ?? 'centre',
            withoutReduction: true,
          }),
  },
  resize: {
    rank: () => 50,
    closes: gammaPending,
    predict: resized,
    apply: (img, o) =>
      img.resize({
        ...(o.width && { width: o.width }),
        ...(o.height && { height: o.height }),
        fit: o.fit ?? 'cover',
        position: o.position ?? 'centre',
        kernel: o.kernel ?? 'lanczos3',
        withoutEnlargement: o.withoutEnlargement ?? false,
        ...(o.background && { background: o.background }),
      }),
  },
  extend: {
    rank: () => 70,
    predict: (d, o) => ({
      width: d.width + (o.left ?? 0) + (o.right ?? 0),
      height: d.height + (o.top ?? 0) + (o.bottom ?? 0),
    }),
    apply: (img, o) =>
      img.extend({
        top: o.top ?? 0,
        bottom: o.bottom ?? 0,
        left: o.left ?? 0,
        right: o.right ?? 0,
        extendWith: o.extendWith ?? 'background',
        ...(o.background && { background: o.background }),
      }),
  },
};

/** sharp's gamma brightens again only at the end of the stage: after the resize it wraps, end the stage. */
function gammaPending(stage: Stage): boolean {
  return stage.names.has('gamma');
}

function rotated(d: Dims, o: O<'rotate'>): Predicted {
  const a = ((o.angle % 360) + 360) % 360;
  if (a % 90 === 0) return a % 180 === 0 ? d : { width: d.height, height: d.width };
  const r = (a * Math.PI) / 180;
  const [c, s] = [Math.abs(Math.cos(r)), Math.abs(Math.sin(r))];
  return { width: Math.ceil(d.width * c + d.height * s), height: Math.ceil(d.width * s + d.height * c), exact: false };
}

function cropped(d: Dims, o: O<'crop'>): Predicted {
  const left = o.left ?? 0;
  const top = o.top ?? 0;
  if (left + o.width > d.width || top + o.height > d.height) {
    const box = o.left === undefined ? `${o.width}x${o.height}` : `${o.width}x${o.height} at ${left},${top}`;
    throw new OpMisfit(`crop ${box} does not fit the ${d.width}x${d.height} image`);
  }
  return { width: o.width, height: o.height };
}

/** A prediction for the memory bound only (sharp's rounding may differ by a pixel), hence never exact. */
function resized(d: Dims, o: O<'resize'>): Predicted {
  const sx = o.width ? o.width / d.width : undefined;
  const sy = o.height ? o.height / d.height : undefined;
  const fit = o.fit ?? 'cover';
  let w: number;
  let h: number;
  if (sx === undefined || sy === undefined) {
    const s = (sx ?? sy)!;
    [w, h] = [o.width ?? Math.round(d.width * s), o.height ?? Math.round(d.height * s)];
  } else if (fit === 'inside' || fit === 'outside') {
    const s = fit === 'inside' ? Math.min(sx, sy) : Math.max(sx, sy);
    [w, h] = [Math.round(d.width * s), Math.round(d.height * s)];
  } else {
    [w, h] = [o.width!, o.height!];
  }
  if (o.withoutEnlargement) [w, h] = [Math.min(w, Math.max(d.width, 1)), Math.min(h, Math.max(d.height, 1))];
  return { width: Math.max(1, w), height: Math.max(1, h), exact: false };
}
