/**
 * The `upscale` built-in chooses its graph when a job is made (docs/architecture.md §3): with an upscale model when a
 * backend the job may run on has one (or the job names one), otherwise a latent upscale re-sampled by a
 * checkpoint, a hires-fix pass, because scaling a latent without sampling it again only blurs. Both end at an
 * exact size: `width`×`height`, one of them with the aspect ratio kept, or the image's own size × `scale`.
 */
import type { ComfyGraph } from '@comfygate/shared';
import type { Capabilities } from '../comfy/capabilities.js';
import { GatewayError } from '../errors.js';
import { show } from './apply.js';

export interface ChoiceContext {
  /** What the backends the job may run on can do (last known for a backend that is down). */
  capabilities: Capabilities[];
  /** Whether every backend of the pool is in `capabilities` (false while one was never reached). */
  complete: boolean;
  /** The pixel size of an image asset (asset id, output id or sha256), null when unknown. */
  imageSize(assetId: string): Promise<{ width: number; height: number } | null>;
  maxPixels: number;
}

/** The graph a built-in uses for one job, with its own parameter map and the values for it. */
export interface Choice {
  /** Which graph was picked, recorded with the job; null for a built-in of one graph. */
  variant: string | null;
  graph: ComfyGraph;
  params: unknown[];
  values: Record<string, unknown>;
  /** Something the caller asked for that this graph does not do. */
  warning: string | null;
}

const SEED_MAX = 18446744073709551615n;
const SIZE = { type: 'int', default: 0, min: 0, max: 16384 } as const;

const MODEL_GRAPH: ComfyGraph = {
  '1': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
  '2': { class_type: 'UpscaleModelLoader', inputs: { model_name: '4x-UltraSharp.pth' } },
  '3': { class_type: 'ImageUpscaleWithModel', inputs: { upscale_model: ['2', 0], image: ['1', 0] } },
  '4': {
    class_type: 'ImageScale',
    inputs: { image: ['3', 0], upscale_method: 'lanczos', width: 0, height: 0, crop: 'disabled' },
  },
  '5': { class_type: 'SaveImage', inputs: { filename_prefix: 'comfygate_up', images: ['4', 0] } },
};
const MODEL_PARAMS = [
  { name: 'image', node: '1', input: 'image', type: 'image' },
  { name: 'model', node: '2', input: 'model_name', type: 'string' },
  { name: 'width', node: '4', input: 'width', ...SIZE },
  { name: 'height', node: '4', input: 'height', ...SIZE },
];

// Node ids apart from the model graph's, so the union of both parameter maps binds every input once.
const LATENT_GRAPH: ComfyGraph = {
  '11': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
  '12': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
  '13': { class_type: 'VAEEncode', inputs: { pixels: ['11', 0], vae: ['12', 2] } },
  '14': {
    class_type: 'LatentUpscale',
    inputs: { samples: ['13', 0], upscale_method: 'bilinear', width: 0, height: 0, crop: 'disabled' },
  },
  '15': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['12', 1] } },
  '16': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['12', 1] } },
  '17': {
    class_type: 'KSampler',
    inputs: {
      seed: 0,
      steps: 12,
      cfg: 7,
      sampler_name: 'euler',
      scheduler: 'normal',
      denoise: 0.45,
      model: ['12', 0],
      positive: ['15', 0],
      negative: ['16', 0],
      latent_image: ['14', 0],
    },
  },
  '18': { class_type: 'VAEDecode', inputs: { samples: ['17', 0], vae: ['12', 2] } },
  // Latents come in steps of 8 pixels (and at least 64): the exact size is made in pixel space.
  '19': {
    class_type: 'ImageScale',
    inputs: { image: ['18', 0], upscale_method: 'lanczos', width: 0, height: 0, crop: 'disabled' },
  },
  '20': { class_type: 'SaveImage', inputs: { filename_prefix: 'comfygate_up', images: ['19', 0] } },
};
const LATENT_ONLY = [
  { name: 'prompt', node: '15', input: 'text', type: 'string', default: '' },
  { name: 'negative', node: '16', input: 'text', type: 'string', default: '' },
  { name: 'seed', node: '17', input: 'seed', type: 'int', min: 0, max: SEED_MAX },
  { name: 'steps', node: '17', input: 'steps', type: 'int', default: 12, min: 1, max: 10000 },
  { name: 'denoise', node: '17', input: 'denoise', type: 'float', default: 0.45, min: 0, max: 1 },
  { name: 'checkpoint', node: '12', input: 'ckpt_name', type: 'string', default: 'v1-5-pruned-emaonly.safetensors' },
];
const LATENT_PARAMS = [
  { name: 'image', node: '11', input: 'image', type: 'image' },
  { name: 'width', node: '19', input: 'width', ...SIZE },
  { name: 'height', node: '19', input: 'height', ...SIZE },
  { name: 'latent_width', node: '14', input: 'width', ...SIZE },
  { name: 'latent_height', node: '14', input: 'height', ...SIZE },
  ...LATENT_ONLY,
];

/** What clients see: every parameter either graph takes (the model graph's bindings for the shared ones). */
export const UPSCALE_PARAMS = [...MODEL_PARAMS, ...LATENT_ONLY];
export const UPSCALE_GRAPH = MODEL_GRAPH;
/** Not bound to one input: turned into `width`/`height` from the image's size. */
export const UPSCALE_EXTRA_SCHEMA = {
  scale: {
    type: 'number',
    minimum: 0.25,
    maximum: 8,
    default: 2,
    description: "output = the image's size × scale, when width and height are 0",
  },
};

const bad = (message: string) => new GatewayError({ code: 'validation_failed', message });

/** The first upscale model any of these backends has (and can run), or undefined. */
export function firstUpscaleModel(caps: Capabilities[]): string | undefined {
  return caps.flatMap((c) =>
    c.nodes.includes('ImageUpscaleWithModel') ? (c.combos.UpscaleModelLoader?.model_name ?? []) : [],
  )[0];
}

/**
 * `width`×`height` as asked, one side 0 following the image's aspect ratio, or the image's size × `scale` when
 * both are 0. Computed here rather than left to the nodes: a latent is cropped to steps of 8 pixels, so the
 * nodes' own "0 keeps the aspect ratio" would follow the cropped latent, not the image.
 */
async function targetSize(
  values: Record<string, unknown>,
  ctx: ChoiceContext,
): Promise<{ width: number; height: number }> {
  const { width = 0, height = 0, scale = 2 } = values;
  if (typeof scale !== 'number' || !(scale >= 0.25 && scale <= 8))
    throw bad(`scale: expected a number from 0.25 to 8, got ${show(scale)}`);
  for (const [name, v] of Object.entries({ width, height })) {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > SIZE.max)
      throw bad(`${name}: expected an integer from 0 to ${SIZE.max}, got ${show(v)}`);
  }
  if (typeof values.image !== 'string') throw bad('image: give the image to upscale (an asset id)');
  const target = await sizeFor(width as number, height as number, scale, values.image, ctx);
  if (target.width * target.height > ctx.maxPixels) {
    throw bad(
      `the upscaled image would be ${target.width}×${target.height}, over the ${ctx.maxPixels}-pixel limit; ask for less`,
    );
  }
  return target;
}

async function sizeFor(
  width: number,
  height: number,
  scale: number,
  image: string,
  ctx: ChoiceContext,
): Promise<{ width: number; height: number }> {
  if (width !== 0 && height !== 0) return { width, height };
  const size = await ctx.imageSize(image);
  if (!size) {
    if (width !== 0 || height !== 0) return { width, height }; // the nodes keep the aspect ratio as well as they can
    throw bad("the image's size is unknown, so `scale` cannot be applied: give width and height");
  }
  if (width !== 0) return { width, height: Math.max(1, Math.round((width * size.height) / size.width)) };
  if (height !== 0) return { width: Math.max(1, Math.round((height * size.width) / size.height)), height };
  return { width: Math.round(size.width * scale), height: Math.round(size.height * scale) };
}

const latentSide = (px: number) => (px === 0 ? 0 : Math.max(64, Math.round(px / 8) * 8));

export async function chooseUpscale(given: Record<string, unknown>, ctx: ChoiceContext): Promise<Choice> {
  const { scale: _scale, ...values } = given;
  const size = await targetSize(given, ctx);
  const model = values.model ?? firstUpscaleModel(ctx.capabilities);
  if (model !== undefined) {
    const ignored = LATENT_ONLY.map((p) => p.name).filter((n) => values[n] !== undefined);
    for (const n of ignored) delete values[n];
    const warning =
      ignored.length > 0
        ? `${ignored.join(', ')} ignored: only the latent upscale uses them, and this job uses the upscale model '${String(model)}'`
        : null;
    return {
      variant: `model:${String(model)}`,
      graph: MODEL_GRAPH,
      params: MODEL_PARAMS,
      values: { ...values, ...size, model },
      warning,
    };
  }
  const latent = { latent_width: latentSide(size.width), latent_height: latentSide(size.height) };
  return {
    variant: 'latent',
    graph: LATENT_GRAPH,
    params: LATENT_PARAMS,
    values: { ...values, ...size, ...latent },
    warning: null,
  };
}
