import type { ComfyGraph, PostprocessSpec } from '@comfygate/shared';
import { GatewayError } from '../errors.js';
import type { SecurityConfig } from '../config/schema.js';
import { planCost } from '../postprocess/cost.js';
import type { Plan } from '../postprocess/validate.js';

/**
 * Bounds on what one job may ask for, checked at submit, before anything is stored or sent to a GPU: a request
 * that is cheap to send must not be expensive to hold, list or run. Each refusal names its config key.
 */
export type JobLimits = Pick<
  SecurityConfig,
  | 'maxGraphNodes'
  | 'maxGraphBytes'
  | 'maxMetadataBytes'
  | 'maxPromptChars'
  | 'maxOpsPerVariant'
  | 'maxPostprocessCost'
  | 'maxPixels'
>;

/** A refusal naming the limit's config key, with the limit in `details`. */
const over = (limits: Partial<JobLimits>, key: keyof JobLimits, message: string, extra: Record<string, unknown> = {}) =>
  new GatewayError({
    code: 'validation_failed',
    message: `${message} (security.${key})`,
    details: { limit: limits[key], ...extra },
  });
const PROMPT_KEY = /text|prompt|negative|clip_[lg]|t5xxl/i;

/** Cheap checks on the raw request, before schema parsing walks it: a 100k-node graph costs seconds to validate. */
export function checkRawGraphSize(graph: unknown, limits: Pick<JobLimits, 'maxGraphNodes'>): void {
  if (typeof graph !== 'object' || graph === null || Array.isArray(graph)) return;
  let n = 0;
  for (const _ in graph) {
    if (++n > limits.maxGraphNodes)
      throw over(limits, 'maxGraphNodes', `the graph has more than ${limits.maxGraphNodes} nodes`);
  }
}

/** Text inputs (prompts) of a graph and template parameter values, each at most `maxPromptChars`. */
export function checkPrompts(
  graph: ComfyGraph,
  params: Record<string, unknown> | undefined,
  limits: Pick<JobLimits, 'maxPromptChars'>,
): void {
  const check = (where: string, v: unknown) => {
    if (typeof v === 'string' && v.length > limits.maxPromptChars) {
      throw over(limits, 'maxPromptChars', `${where} is ${v.length} characters; at most ${limits.maxPromptChars}`, {
        field: where,
      });
    }
  };
  for (const [k, v] of Object.entries(params ?? {})) check(`params.${k}`, v);
  for (const [id, node] of Object.entries(graph)) {
    for (const [k, v] of Object.entries(node.inputs ?? {}))
      if (PROMPT_KEY.test(k)) check(`node ${id} (${node.class_type}) input '${k}'`, v);
  }
}

/** The largest image a graph asks for: any node with numeric width and height (empty latents, latent and image scales). */
export function largestImage(graph: ComfyGraph): { width: number; height: number; nodeId: string } | null {
  let best: { width: number; height: number; nodeId: string } | null = null;
  for (const [id, node] of Object.entries(graph)) {
    const { width, height } = node.inputs ?? {};
    if (typeof width !== 'number' || typeof height !== 'number') continue;
    if (!best || width * height > best.width * best.height) best = { width, height, nodeId: id };
  }
  return best;
}

/** Everything about the final graph, its metadata and post-processing plan. */
export function checkJob(
  job: {
    graph: ComfyGraph;
    graphJson: string;
    metadataBytes: number;
    postprocess: PostprocessSpec | null;
    plan: Plan | null;
  },
  limits: JobLimits,
): void {
  const nodes = Object.keys(job.graph).length;
  if (nodes > limits.maxGraphNodes)
    throw over(limits, 'maxGraphNodes', `the graph has ${nodes} nodes; at most ${limits.maxGraphNodes}`);
  const bytes = Buffer.byteLength(job.graphJson);
  if (bytes > limits.maxGraphBytes)
    throw over(limits, 'maxGraphBytes', `the graph is ${bytes} bytes; at most ${limits.maxGraphBytes}`);
  if (job.metadataBytes > limits.maxMetadataBytes) {
    throw over(
      limits,
      'maxMetadataBytes',
      `metadata is ${job.metadataBytes} bytes; at most ${limits.maxMetadataBytes}`,
    );
  }
  const image = largestImage(job.graph);
  if (image && image.width * image.height > limits.maxPixels) {
    throw over(
      limits,
      'maxPixels',
      `node ${image.nodeId} asks for ${image.width}×${image.height} = ${image.width * image.height} pixels, ` +
        `more than ${limits.maxPixels} (its result could not be post-processed)`,
      image,
    );
  }
  if (!job.postprocess || !job.plan) return;
  for (const [name, v] of Object.entries(job.postprocess.variants)) {
    if (v.ops.length > limits.maxOpsPerVariant) {
      throw over(
        limits,
        'maxOpsPerVariant',
        `variants.${name} has ${v.ops.length} ops; at most ${limits.maxOpsPerVariant}`,
      );
    }
  }
  // Unknown output size: assume the largest image allowed.
  const source = image ? image.width * image.height : limits.maxPixels;
  const cost = planCost(job.plan, source);
  if (cost > limits.maxPostprocessCost) {
    throw over(
      limits,
      'maxPostprocessCost',
      `post-processing would cost about ${Math.round(cost)} megapixel-passes, more than ` +
        `${limits.maxPostprocessCost}: ask for fewer or cheaper ops, or smaller sizes`,
      { estimate: Math.round(cost) },
    );
  }
}
