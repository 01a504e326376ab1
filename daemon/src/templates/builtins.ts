import type { ComfyGraph } from '@comfygate/shared';
import { commonParams as common } from './builtin-params.js';
import { chooseOutpaint, OUTPAINT_GRAPH, OUTPAINT_PARAMS } from './outpaint.js';
import { chooseRemoveBackground, REMOVE_BG_GRAPH, REMOVE_BG_PARAMS } from './removebg.js';
import {
  type Choice,
  type ChoiceContext,
  chooseUpscale,
  UPSCALE_EXTRA_SCHEMA,
  UPSCALE_GRAPH,
  UPSCALE_PARAMS,
} from './upscale.js';

/** Templates every daemon has. Graphs from docs/comfyui-protocol.md §6; parameter maps written by hand. */
export interface Builtin {
  name: string;
  description: string;
  graph: ComfyGraph;
  params: unknown[];
  /** For built-ins whose graph depends on the backends or the input: the graph and values for one job. */
  choose?: (values: Record<string, unknown>, ctx: ChoiceContext) => Promise<Choice>;
  /** Parameters not bound to one input (the choice turns them into others), for the JSON schema. */
  extraSchema?: Record<string, Record<string, unknown>>;
}

export const builtinNamed = (name: string): Builtin | undefined => BUILTIN_TEMPLATES.find((b) => b.name === name);

export const BUILTIN_TEMPLATES: Builtin[] = [
  {
    name: 'txt2img',
    description: 'Text to image (checkpoint, prompt, negative, seed, size)',
    graph: {
      '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
      '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
      '6': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['4', 1] } },
      '7': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['4', 1] } },
      '3': {
        class_type: 'KSampler',
        inputs: {
          seed: 0,
          steps: 20,
          cfg: 7,
          sampler_name: 'euler',
          scheduler: 'normal',
          denoise: 1,
          model: ['4', 0],
          positive: ['6', 0],
          negative: ['7', 0],
          latent_image: ['5', 0],
        },
      },
      '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
      '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'comfygate', images: ['8', 0] } },
    },
    params: [
      ...common('3', '6', '7', '4'),
      { name: 'width', node: '5', input: 'width', type: 'int', default: 512, min: 16, max: 16384 },
      { name: 'height', node: '5', input: 'height', type: 'int', default: 512, min: 16, max: 16384 },
      { name: 'batch_size', node: '5', input: 'batch_size', type: 'int', default: 1, min: 1, max: 64 },
    ],
  },
  {
    name: 'img2img',
    description: 'Image to image: a reference image (asset id) re-drawn with a prompt; denoise sets how much changes',
    graph: {
      '1': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
      '2': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
      '3': { class_type: 'VAEEncode', inputs: { pixels: ['1', 0], vae: ['2', 2] } },
      '4': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['2', 1] } },
      '5': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['2', 1] } },
      '6': {
        class_type: 'KSampler',
        inputs: {
          seed: 0,
          steps: 20,
          cfg: 7,
          sampler_name: 'euler',
          scheduler: 'normal',
          denoise: 0.6,
          model: ['2', 0],
          positive: ['4', 0],
          negative: ['5', 0],
          latent_image: ['3', 0],
        },
      },
      '7': { class_type: 'VAEDecode', inputs: { samples: ['6', 0], vae: ['2', 2] } },
      '8': { class_type: 'SaveImage', inputs: { filename_prefix: 'comfygate', images: ['7', 0] } },
    },
    params: [
      ...common('6', '4', '5', '2'),
      { name: 'image', node: '1', input: 'image', type: 'image' },
      { name: 'denoise', node: '6', input: 'denoise', type: 'float', default: 0.6, min: 0, max: 1 },
    ],
  },
  {
    name: 'inpaint',
    description: 'Inpaint: redraw the masked part of an image (mask = an image whose alpha marks the area)',
    graph: {
      '1': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
      '2': { class_type: 'LoadImageMask', inputs: { image: 'mask.png', channel: 'alpha' } },
      '3': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
      '4': {
        class_type: 'VAEEncodeForInpaint',
        inputs: { pixels: ['1', 0], vae: ['3', 2], mask: ['2', 0], grow_mask_by: 6 },
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
      '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'comfygate', images: ['8', 0] } },
    },
    params: [
      ...common('7', '5', '6', '3'),
      { name: 'image', node: '1', input: 'image', type: 'image' },
      { name: 'mask', node: '2', input: 'image', type: 'image' },
      { name: 'grow_mask_by', node: '4', input: 'grow_mask_by', type: 'int', default: 6, min: 0, max: 64 },
    ],
  },
  {
    name: 'outpaint',
    description:
      'Expand an image: pad it by left/top/right/bottom pixels and draw the new border (ImagePadForOutpaint + inpainting)',
    graph: OUTPAINT_GRAPH,
    params: OUTPAINT_PARAMS,
    choose: chooseOutpaint,
  },
  {
    name: 'upscale',
    description:
      'Upscale an image: with an upscale model when a backend has one, else a latent upscale re-sampled by a checkpoint',
    graph: UPSCALE_GRAPH,
    params: UPSCALE_PARAMS,
    choose: chooseUpscale,
    extraSchema: UPSCALE_EXTRA_SCHEMA,
  },
  {
    name: 'remove-background',
    description:
      'Remove the background (needs ComfyUI-Inspyrenet-Rembg, or a RemoveBackground node; only backends that have one get the job)',
    graph: REMOVE_BG_GRAPH,
    params: REMOVE_BG_PARAMS,
    choose: chooseRemoveBackground,
  },
];
