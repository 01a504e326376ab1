import type { Op, OpName } from '@comfygate/shared';
import type { Sharp } from 'sharp';

export interface Dims {
  width: number;
  height: number;
}

/** What a size prediction knows: `exact: false` when sharp's rounding (resize, rotate by 45°, trim) may differ. */
export interface Predicted extends Dims {
  exact?: boolean;
}

/** The ops applied so far in the current sharp pipeline. */
export interface Stage {
  names: Set<OpName>;
  /** Highest rank so far; Infinity once an op has closed the stage. */
  rank: number;
  /** Whether the stage's output size is known exactly. */
  exact: boolean;
}

export interface OpEnv {
  maxPixels: number;
  /** Bytes of a watermark image given by sha256 (cached per job). */
  resolveImage(sha256: string): Promise<Buffer>;
}

/** Thrown by `predict` for a spec that cannot apply to this image; the pipeline adds the op's location. */
export class OpMisfit extends Error {}

/**
 * One op. sharp applies operations in a fixed internal order, not call order, so each op declares its `rank` in
 * that order; the pipeline starts a new sharp stage whenever the spec's order would otherwise be changed.
 */
export interface OpDef<O extends Op = Op> {
  rank(op: O): number;
  /** Needs the exact current size (crop, watermark): a stage of inexact size is materialised first. */
  needsExact?: boolean;
  /** Extra reasons to start a new stage before this op. */
  flushIf?(stage: Stage): boolean;
  /** After this op nothing more may join the stage. */
  closes?(stage: Stage): boolean;
  predict(dims: Dims, op: O): Predicted;
  apply(img: Sharp, op: O, dims: Dims, env: OpEnv): Sharp | Promise<Sharp>;
}

export type OpDefs = { [K in OpName]?: OpDef<Extract<Op, { op: K }>> };
