import crypto from 'node:crypto';
import os from 'node:os';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { OutputFormat, Provenance } from '@comfygate/shared';
import type { OutputInfo, Sharp } from 'sharp';
import { GatewayError } from '../errors.js';
import { PostprocessError } from './errors.js';
import { contentTypeOf, DEFAULT_FORMAT, encode, type FormatOp } from './format.js';
import type { OpEnv } from './ops/types.js';
import { type PixelOp, render } from './pipeline.js';
import { insertChunksAfterIHDR } from './png-text.js';
import { hasProvenance, PROVENANCE_KEYWORDS, pngProvenanceChunks, withProvenance } from './provenance.js';
import { Semaphore } from './semaphore.js';
import { bufferSink, type SinkTarget, type VariantSink } from './sinks.js';
import { decodeFailure, inspectSource, openSource, type Source, sourceError, sourceTextChunks } from './source.js';
import { parseProvenance, type PlannedVariant, planSpec } from './validate.js';

export interface PostprocessorOptions {
  /** Largest source, intermediate or output in pixels (width × height). Default 40 MP. */
  maxPixels?: number;
  /** Variants rendered at once, across all jobs of this postprocessor. Default min(2, available cores). */
  concurrency?: number;
  /** Bytes of a watermark image named by sha256 (e.g. from the asset store). */
  resolveImage?: (sha256: string) => Promise<Buffer>;
}

export interface VariantInfo {
  variant: string;
  format: OutputFormat;
  contentType: string;
  width: number;
  height: number;
  sizeBytes: number;
  sha256: string;
}

export type VariantResult<R = { bytes: Buffer }> = VariantInfo & R;

export interface Postprocessor {
  readonly maxPixels: number;
  readonly concurrency: number;
  /** Every variant of `spec` (plus `thumb`) as buffers, in spec order. */
  process(input: Buffer | string, spec: unknown, provenance?: unknown): Promise<VariantResult[]>;
  /** The same, each variant streamed into `sink` instead of buffered. */
  processInto<R extends object>(
    input: Buffer | string,
    spec: unknown,
    provenance: unknown,
    sink: VariantSink<R>,
  ): Promise<Array<VariantResult<R>>>;
}

export const DEFAULT_MAX_PIXELS = 40_000_000;

export function createPostprocessor(opts: PostprocessorOptions = {}): Postprocessor {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!Number.isInteger(maxPixels) || maxPixels < 1)
    throw new RangeError(`maxPixels must be a positive integer, got ${maxPixels}`);
  const gate = new Semaphore(opts.concurrency ?? Math.min(2, os.availableParallelism()));
  const processInto = async <R extends object>(
    input: Buffer | string,
    spec: unknown,
    provenance: unknown,
    sink: VariantSink<R>,
  ) => {
    // Validate everything before touching the image, so a bad spec costs nothing.
    const plan = planSpec(spec);
    const prov = provenance === undefined || !plan.provenance ? undefined : parseProvenance(provenance);
    const source = await inspectSource(input, maxPixels);
    const env: OpEnv = { maxPixels, resolveImage: imageResolver(opts.resolveImage) };
    const jobs = plan.variants.map((v) =>
      gate.run(() => renderVariant({ source, variant: v, provenance: prov, env, sink })),
    );
    // Wait for all, so no variant is still writing into the sink when the caller sees the failure.
    const settled = await Promise.allSettled(jobs);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<VariantResult<R>>).value);
  };
  return {
    maxPixels,
    concurrency: gate.limit,
    processInto,
    process: (input, spec, provenance) => processInto(input, spec, provenance, bufferSink),
  };
}

interface VariantJob<R> {
  source: Source;
  variant: PlannedVariant;
  provenance: Provenance | undefined;
  env: OpEnv;
  sink: VariantSink<R>;
}

async function renderVariant<R extends object>(job: VariantJob<R>): Promise<VariantResult<R>> {
  const { source, variant, env } = job;
  const where = (i: number) => `variants.${variant.name}.ops[${i}] (${variant.ops[i]!.op})`;
  const pixelOps = variant.ops.flatMap((op, index) =>
    op.op === 'format' || op.op === 'metadata' ? [] : [{ op: op as PixelOp, index }],
  );
  const format = (variant.ops.find((o) => o.op === 'format') as FormatOp | undefined) ?? DEFAULT_FORMAT;
  const mode = variant.ops.find((o) => o.op === 'metadata')?.mode;
  const prov = mode !== 'strip' && hasProvenance(job.provenance) ? job.provenance : undefined;
  try {
    const rendered = await render(() => openSource(source), source.dims, pixelOps, env, where);
    let img = encode(rendered.img, format);
    if (prov) img = withProvenance(img, format.format, prov);
    const chunks =
      format.format !== 'png'
        ? []
        : [
            ...(prov ? pngProvenanceChunks(prov) : []),
            ...(mode === 'keep' ? await sourceTextChunks(source, prov ? PROVENANCE_KEYWORDS : new Set()) : []),
          ];
    const target = { variant: variant.name, format: format.format, contentType: contentTypeOf(format.format) };
    const { extra, info, digest } = await deliver(img, chunks, target, job.sink);
    const size = info ?? rendered.dims;
    return { ...target, width: size.width, height: size.height, ...digest, ...extra };
  } catch (err) {
    throw await variantError(err, variant.name, source);
  }
}

/** Streams the encoder's output (with PNG chunks spliced in) through the meter into the sink. */
async function deliver<R>(img: Sharp, chunks: Buffer[], target: SinkTarget, sink: VariantSink<R>) {
  let info: OutputInfo | undefined;
  img.once('info', (i: OutputInfo) => (info = i));
  const { stream, digest } = meter();
  const encoder = [img, ...(chunks.length ? [insertChunksAfterIHDR(chunks)] : [])];
  // A failure on either side echoes through the other (pipeline destroys every stream with the same error), so
  // the side whose stream errored first is the cause.
  let origin: 'encoder' | 'sink' | undefined;
  for (const s of encoder) s.once('error', () => (origin ??= 'encoder'));
  stream.once('error', () => (origin ??= 'sink'));
  const piped = pipeline([...encoder, stream]);
  const stored = sink(target, stream);
  stored.catch(() => {
    origin ??= 'sink';
    stream.destroy(); // a sink that gave up must not leave the encoder waiting on it
  });
  const [s, p] = await Promise.allSettled([stored, piped]);
  if (p.status === 'rejected' && (origin === 'encoder' || s.status === 'fulfilled')) throw p.reason;
  if (s.status === 'rejected') throw sinkError(s.reason, target.variant);
  return { extra: (s as PromiseFulfilledResult<R>).value, info, digest: digest() };
}

function sinkError(err: unknown, variant: string): GatewayError {
  if (err instanceof GatewayError) return err;
  const message = `variants.${variant}: could not store the output: ${err instanceof Error ? err.message : String(err)}`;
  return new PostprocessError({ code: 'storage_error', message, cause: err });
}

/** sha256 and size of what passes through, so every sink gets them without buffering. */
function meter(): { stream: Transform; digest: () => { sha256: string; sizeBytes: number } } {
  const hash = crypto.createHash('sha256');
  let sizeBytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, digest: () => ({ sha256: hash.digest('hex'), sizeBytes }) };
}

/** One lookup per sha256 per job, however many variants use the same watermark. */
function imageResolver(resolve: PostprocessorOptions['resolveImage']): (sha256: string) => Promise<Buffer> {
  const cache = new Map<string, Promise<Buffer>>();
  return (sha256) => {
    if (!resolve) {
      return Promise.reject(
        new PostprocessError({
          code: 'validation_failed',
          message: 'watermark images by sha256 need a resolveImage callback',
        }),
      );
    }
    let hit = cache.get(sha256);
    if (!hit) {
      hit = resolve(sha256).catch((err: unknown) => {
        throw new PostprocessError({
          code: 'missing_asset',
          message: `watermark image ${sha256} not found`,
          details: { sha256 },
          cause: err,
        });
      });
      cache.set(sha256, hit);
    }
    return hit;
  };
}

/**
 * A failure while rendering is the image's fault or the spec's. Classified by cause, not by which libvips stage
 * happened to report it: the source is decoded again on its own, and only if that succeeds is the spec to blame.
 */
export async function variantError(err: unknown, variant: string, source: Source): Promise<GatewayError> {
  if (err instanceof GatewayError) return err;
  const wrapped = sourceError(err, source.maxPixels);
  if (wrapped.code !== 'unsupported_media_type') return wrapped;
  const message = (err as Error).message.split('\n')[0];
  const damage = await decodeFailure(source);
  return damage !== null
    ? new PostprocessError({
        code: 'unsupported_media_type',
        message: `variants.${variant}: the image data is damaged: ${damage}`,
        cause: err,
      })
    : new PostprocessError({ code: 'validation_failed', message: `variants.${variant}: ${message}`, cause: err });
}
