import type { Op } from '@comfygate/shared';
import sharp, { type Sharp } from 'sharp';
import { PostprocessError } from './errors.js';
import { colorOps } from './ops/color.js';
import { geometryOps } from './ops/geometry.js';
import { type Dims, type OpDef, type OpEnv, OpMisfit, type Stage } from './ops/types.js';
import { watermarkOps } from './ops/watermark.js';

/** Ops that change pixels; `format` and `metadata` are output settings, read by the encoder. */
export type PixelOp = Exclude<Op, { op: 'format' | 'metadata' }>;

const DEFS = { ...geometryOps, ...colorOps, ...watermarkOps } as Record<PixelOp['op'], OpDef>;

export interface Rendered {
  img: Sharp;
  /** Predicted output size (exact unless the last stage resized, rotated by a free angle or trimmed). */
  dims: Dims;
}

/**
 * Applies `ops` in the order given. Ops that one sharp pipeline would reorder are split into stages: the stage so
 * far is rendered to raw pixels and a new pipeline starts from them. The common orders (crop/resize, colour,
 * watermark) stay in one stage.
 */
export async function render(
  open: () => Sharp,
  start: Dims,
  ops: Array<{ op: PixelOp; index: number }>,
  env: OpEnv,
  where: (index: number) => string,
): Promise<Rendered> {
  let img = open();
  let dims = start;
  let stage = freshStage();
  for (const { op, index } of ops) {
    const def = DEFS[op.op];
    const rank = def.rank(op);
    if (stage.names.size > 0 && mustFlush(def, rank, stage)) {
      ({ img, dims } = await materialise(img, env));
      stage = freshStage();
    }
    const next = predictAt(def, op, dims, where(index));
    guardPixels(next, env.maxPixels, where(index));
    img = await def.apply(img, op, dims, env);
    stage.names.add(op.op);
    stage.rank = def.closes?.(stage) ? Infinity : rank;
    stage.exact &&= next.exact !== false;
    dims = { width: next.width, height: next.height };
  }
  return { img, dims };
}

const freshStage = (): Stage => ({ names: new Set(), rank: -Infinity, exact: true });

function mustFlush(def: OpDef, rank: number, stage: Stage): boolean {
  return rank <= stage.rank || (def.needsExact === true && !stage.exact) || def.flushIf?.(stage) === true;
}

/** Raw 8-bit pixels between stages: no encode/decode cost, and the next pipeline is bounded like the input. */
async function materialise(img: Sharp, env: OpEnv): Promise<{ img: Sharp; dims: Dims }> {
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const raw = { width: info.width, height: info.height, channels: info.channels };
  return {
    img: sharp(data, { raw, limitInputPixels: env.maxPixels }),
    dims: { width: info.width, height: info.height },
  };
}

function predictAt(def: OpDef, op: PixelOp, dims: Dims, where: string) {
  try {
    return def.predict(dims, op);
  } catch (err) {
    if (err instanceof OpMisfit)
      throw new PostprocessError({
        code: 'validation_failed',
        message: `${where}: ${err.message}`,
        details: { issues: [`${where}: ${err.message}`] },
      });
    throw err;
  }
}

/** The input limit applies to every intermediate too: a spec must not upscale its way past it. */
function guardPixels(d: Dims, maxPixels: number, where: string): void {
  if (d.width * d.height <= maxPixels) return;
  throw new PostprocessError({
    code: 'payload_too_large',
    message: `${where}: the result would be ${d.width}x${d.height} (${d.width * d.height} pixels); the limit is ${maxPixels}`,
    details: { width: d.width, height: d.height, maxPixels },
  });
}
