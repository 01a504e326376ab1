/**
 * The `outpaint` built-in: grow an image by margins and let a checkpoint draw the new border. ComfyUI's own
 * `ImagePadForOutpaint` pads the pixels and returns the mask of the new area (feathered into the old one), and
 * `VAEEncodeForInpaint` makes a latent that only that area is redrawn in. Both are core nodes, so routing
 * sends the job to any backend whose node list has them; an inpainting checkpoint gives the cleanest seams.
 */
import type { ComfyGraph } from '@comfygate/shared';
import { GatewayError } from '../errors.js';
import { commonParams } from './builtin-params.js';
import type { Choice, ChoiceContext } from './upscale.js';

const MARGIN = { type: 'int', default: 0, min: 0, max: 16384 } as const;

export const OUTPAINT_GRAPH: ComfyGraph = {
  '1': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
  '2': {
    class_type: 'ImagePadForOutpaint',
    inputs: { image: ['1', 0], left: 0, top: 0, right: 0, bottom: 0, feathering: 40 },
  },
  '3': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
  '4': {
    class_type: 'VAEEncodeForInpaint',
    inputs: { pixels: ['2', 0], vae: ['3', 2], mask: ['2', 1], grow_mask_by: 8 },
  },
  '5': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['3', 1] } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['3', 1] } },
  '7': {
    class_type: 'KSampler',
    inputs: {
      seed: 0,
      steps: 20,
      cfg: 7,
      sampler_name: 'euler',
      scheduler: 'normal',
      denoise: 1,
      model: ['3', 0],
      positive: ['5', 0],
      negative: ['6', 0],
      latent_image: ['4', 0],
    },
  },
  '8': { class_type: 'VAEDecode', inputs: { samples: ['7', 0], vae: ['3', 2] } },
  '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'comfygate_outpaint', images: ['8', 0] } },
};

export const OUTPAINT_PARAMS = [
  { name: 'image', node: '1', input: 'image', type: 'image' },
  { name: 'left', node: '2', input: 'left', ...MARGIN },
  { name: 'top', node: '2', input: 'top', ...MARGIN },
  { name: 'right', node: '2', input: 'right', ...MARGIN },
  { name: 'bottom', node: '2', input: 'bottom', ...MARGIN },
  { name: 'feathering', node: '2', input: 'feathering', type: 'int', default: 40, min: 0, max: 16384 },
  { name: 'grow_mask_by', node: '4', input: 'grow_mask_by', type: 'int', default: 8, min: 0, max: 64 },
  ...commonParams('7', '5', '6', '3'),
];

/**
 * One graph, but the padded size depends on the image: margins up to the schema's maximum would hand ComfyUI a
 * gigapixel, so the result is checked against `maxPixels` at submit, as upscale's is. An image of unknown size
 * counts as one pixel (the margins alone can be too much). Values that are not integers are left to the
 * parameter checks, which name them.
 */
export async function chooseOutpaint(values: Record<string, unknown>, ctx: ChoiceContext): Promise<Choice> {
  const [left, top, right, bottom] = ['left', 'top', 'right', 'bottom'].map((k) => values[k] ?? 0);
  if ([left, top, right, bottom].every(Number.isInteger) && typeof values.image === 'string') {
    const size = (await ctx.imageSize(values.image)) ?? { width: 1, height: 1 };
    const width = size.width + (left as number) + (right as number);
    const height = size.height + (top as number) + (bottom as number);
    if (width * height > ctx.maxPixels) {
      const message = `the padded image would be ${width}×${height}, over the ${ctx.maxPixels}-pixel limit (security.maxPixels); pad less`;
      throw new GatewayError({ code: 'validation_failed', message });
    }
  }
  return { variant: null, graph: OUTPAINT_GRAPH, params: OUTPAINT_PARAMS, values: { ...values }, warning: null };
}
