// Node classes the fake advertises and executes, with the input names, types, defaults and tooltips of
// ComfyUI's nodes.py at the protocol reference's commit (§6.3), and the /object_info rendering (§2.10).
import { PyFloat, type PyValue } from './pyjson.js';

export type InputSpec = [PyValue] | [PyValue, Record<string, PyValue>];

export interface NodeInputs {
  required?: Record<string, InputSpec>;
  optional?: Record<string, InputSpec>;
  hidden?: Record<string, string>;
}

/** What a node definition may ask about the server's current state. */
export interface NodeContext {
  /** Visible, sorted file names of a model folder. */
  modelList(folder: string): string[];
  /** Sorted top-level files of input/, optionally only images. */
  inputFiles(imagesOnly: boolean): string[];
}

export interface NodeDef {
  name: string;
  displayName?: string;
  description?: string;
  pythonModule?: string;
  category: string;
  inputs(ctx: NodeContext): NodeInputs;
  returnTypes: string[];
  returnNames?: string[];
  outputNode?: boolean;
  outputTooltips?: string[];
  /** Inputs taken by the class's VALIDATE_INPUTS; they skip min/max/list checks (§2.1.1). */
  validateInputs?: string[];
}

export interface InputInfo {
  type: PyValue;
  category: 'required' | 'optional' | 'hidden';
  extra: Record<string, PyValue>;
}

const f = (v: number): PyFloat => new PyFloat(v);
const MAX_RESOLUTION = 16384;
const SEED_MAX = 18446744073709551615n;

export const SAMPLERS = [
  'euler',
  'euler_cfg_pp',
  'euler_ancestral',
  'euler_ancestral_cfg_pp',
  'heun',
  'heunpp2',
  'dpm_2',
  'dpm_2_ancestral',
  'lms',
  'dpm_fast',
  'dpm_adaptive',
  'dpmpp_2s_ancestral',
  'dpmpp_2s_ancestral_cfg_pp',
  'dpmpp_sde',
  'dpmpp_sde_gpu',
  'dpmpp_2m',
  'dpmpp_2m_cfg_pp',
  'dpmpp_2m_sde',
  'dpmpp_2m_sde_gpu',
  'dpmpp_2m_sde_heun',
  'dpmpp_2m_sde_heun_gpu',
  'dpmpp_3m_sde',
  'dpmpp_3m_sde_gpu',
  'ddpm',
  'lcm',
  'ipndm',
  'ipndm_v',
  'deis',
  'res_multistep',
  'res_multistep_cfg_pp',
  'res_multistep_ancestral',
  'res_multistep_ancestral_cfg_pp',
  'gradient_estimation',
  'gradient_estimation_cfg_pp',
  'er_sde',
  'seeds_2',
  'seeds_3',
  'sa_solver',
  'sa_solver_pece',
  'ddim',
  'uni_pc',
  'uni_pc_bh2',
];
export const SCHEDULERS = [
  'simple',
  'sgm_uniform',
  'karras',
  'exponential',
  'ddim_uniform',
  'beta',
  'normal',
  'linear_quadratic',
  'kl_optimal',
];
const HIDDEN_PROMPT = { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' };
const SAVE_DESCRIPTION = 'Saves the input images to your ComfyUI output directory.';
const UPSCALE_MODULE = 'comfy_extras.nodes_upscale_model';

function sizeInput(tooltip?: string, min = 16, step = 8): InputSpec {
  const opts: Record<string, PyValue> = { default: 512, min, max: MAX_RESOLUTION, step };
  if (tooltip) opts.tooltip = tooltip;
  return ['INT', opts];
}

/** ImagePadForOutpaint's margins: 0 by default, in steps of 8 like latents. */
const PAD: InputSpec = ['INT', { default: 0, min: 0, max: MAX_RESOLUTION, step: 8 }];

const CORE_NODES: NodeDef[] = [
  {
    name: 'CheckpointLoaderSimple',
    displayName: 'Load Checkpoint',
    description: 'Loads a diffusion model checkpoint, diffusion models are used to denoise latents.',
    category: 'loaders',
    inputs: (ctx) => ({
      required: {
        ckpt_name: [ctx.modelList('checkpoints'), { tooltip: 'The name of the checkpoint (model) to load.' }],
      },
    }),
    returnTypes: ['MODEL', 'CLIP', 'VAE'],
    outputTooltips: [
      'The model used for denoising latents.',
      'The CLIP model used for encoding text prompts.',
      'The VAE model used for encoding and decoding images to and from latent space.',
    ],
  },
  {
    name: 'CLIPTextEncode',
    displayName: 'CLIP Text Encode (Prompt)',
    description:
      'Encodes a text prompt using a CLIP model into an embedding that can be used to guide the diffusion model towards generating specific images.',
    category: 'conditioning',
    inputs: () => ({
      required: {
        text: ['STRING', { multiline: true, dynamicPrompts: true, tooltip: 'The text to be encoded.' }],
        clip: ['CLIP', { tooltip: 'The CLIP model used for encoding the text.' }],
      },
    }),
    returnTypes: ['CONDITIONING'],
    outputTooltips: ['A conditioning containing the embedded text used to guide the diffusion model.'],
  },
  {
    name: 'EmptyLatentImage',
    displayName: 'Empty Latent Image',
    description: 'Create a new batch of empty latent images to be denoised via sampling.',
    category: 'latent',
    inputs: () => ({
      required: {
        width: sizeInput('The width of the latent images in pixels.'),
        height: sizeInput('The height of the latent images in pixels.'),
        batch_size: ['INT', { default: 1, min: 1, max: 4096, tooltip: 'The number of latent images in the batch.' }],
      },
    }),
    returnTypes: ['LATENT'],
    outputTooltips: ['The empty latent image batch.'],
  },
  {
    name: 'KSampler',
    displayName: 'KSampler',
    description: 'Uses the provided model, positive and negative conditioning to denoise the latent image.',
    category: 'sampling',
    inputs: () => ({
      required: {
        model: ['MODEL', { tooltip: 'The model used for denoising the input latent.' }],
        seed: [
          'INT',
          {
            default: 0,
            min: 0,
            max: SEED_MAX,
            control_after_generate: true,
            tooltip: 'The random seed used for creating the noise.',
          },
        ],
        steps: [
          'INT',
          { default: 20, min: 1, max: 10000, tooltip: 'The number of steps used in the denoising process.' },
        ],
        cfg: [
          'FLOAT',
          {
            default: f(8),
            min: f(0),
            max: f(100),
            step: f(0.1),
            round: f(0.01),
            tooltip:
              'The Classifier-Free Guidance scale balances creativity and adherence to the prompt. Higher values result in images more closely matching the prompt however too high values will negatively impact quality.',
          },
        ],
        sampler_name: [
          SAMPLERS,
          {
            tooltip:
              'The algorithm used when sampling, this can affect the quality, speed, and style of the generated output.',
          },
        ],
        scheduler: [
          SCHEDULERS,
          { tooltip: 'The scheduler controls how noise is gradually removed to form the image.' },
        ],
        positive: [
          'CONDITIONING',
          { tooltip: 'The conditioning describing the attributes you want to include in the image.' },
        ],
        negative: [
          'CONDITIONING',
          { tooltip: 'The conditioning describing the attributes you want to exclude from the image.' },
        ],
        latent_image: ['LATENT', { tooltip: 'The latent image to denoise.' }],
        denoise: [
          'FLOAT',
          {
            default: f(1),
            min: f(0),
            max: f(1),
            step: f(0.01),
            tooltip:
              'The amount of denoising applied, lower values will maintain the structure of the initial image allowing for image to image sampling.',
          },
        ],
      },
    }),
    returnTypes: ['LATENT'],
    outputTooltips: ['The denoised latent.'],
  },
  {
    name: 'VAEDecode',
    displayName: 'VAE Decode',
    description: 'Decodes latent images back into pixel space images.',
    category: 'latent',
    inputs: () => ({
      required: {
        samples: ['LATENT', { tooltip: 'The latent to be decoded.' }],
        vae: ['VAE', { tooltip: 'The VAE model used for decoding the latent.' }],
      },
    }),
    returnTypes: ['IMAGE'],
    outputTooltips: ['The decoded image.'],
  },
  {
    name: 'VAEEncode',
    displayName: 'VAE Encode',
    category: 'latent',
    inputs: () => ({ required: { pixels: ['IMAGE'], vae: ['VAE'] } }),
    returnTypes: ['LATENT'],
  },
  {
    name: 'VAEEncodeForInpaint',
    displayName: 'VAE Encode (for Inpainting)',
    category: 'latent/inpaint',
    inputs: () => ({
      required: {
        pixels: ['IMAGE'],
        vae: ['VAE'],
        mask: ['MASK'],
        grow_mask_by: ['INT', { default: 6, min: 0, max: 64, step: 1 }],
      },
    }),
    returnTypes: ['LATENT'],
  },
  {
    name: 'SetLatentNoiseMask',
    displayName: 'Set Latent Noise Mask',
    category: 'latent/inpaint',
    inputs: () => ({ required: { samples: ['LATENT'], mask: ['MASK'] } }),
    returnTypes: ['LATENT'],
  },
  {
    name: 'LatentUpscale',
    displayName: 'Upscale Latent',
    category: 'latent',
    inputs: () => ({
      required: {
        samples: ['LATENT'],
        upscale_method: [['nearest-exact', 'bilinear', 'area', 'bicubic', 'bislerp']],
        width: sizeInput(undefined, 0),
        height: sizeInput(undefined, 0),
        crop: [['disabled', 'center']],
      },
    }),
    returnTypes: ['LATENT'],
  },
  {
    name: 'ImageScale',
    displayName: 'Upscale Image',
    category: 'image/upscaling',
    inputs: () => ({
      required: {
        image: ['IMAGE'],
        upscale_method: [['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']],
        width: sizeInput(undefined, 0, 1),
        height: sizeInput(undefined, 0, 1),
        crop: [['disabled', 'center']],
      },
    }),
    returnTypes: ['IMAGE'],
  },
  {
    name: 'ImagePadForOutpaint',
    displayName: 'Pad Image for Outpainting',
    category: 'image',
    inputs: () => ({
      required: {
        image: ['IMAGE'],
        left: PAD,
        top: PAD,
        right: PAD,
        bottom: PAD,
        feathering: ['INT', { default: 40, min: 0, max: MAX_RESOLUTION, step: 1 }],
      },
    }),
    returnTypes: ['IMAGE', 'MASK'],
  },
  {
    name: 'LoraLoader',
    displayName: 'Load LoRA',
    description:
      'LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are denoised such as applying styles. Multiple LoRA nodes can be linked together.',
    category: 'loaders',
    inputs: (ctx) => ({
      required: {
        model: ['MODEL', { tooltip: 'The diffusion model the LoRA will be applied to.' }],
        clip: ['CLIP', { tooltip: 'The CLIP model the LoRA will be applied to.' }],
        lora_name: [ctx.modelList('loras'), { tooltip: 'The name of the LoRA.' }],
        strength_model: [
          'FLOAT',
          {
            default: f(1),
            min: f(-100),
            max: f(100),
            step: f(0.01),
            tooltip: 'How strongly to modify the diffusion model. This value can be negative.',
          },
        ],
        strength_clip: [
          'FLOAT',
          {
            default: f(1),
            min: f(-100),
            max: f(100),
            step: f(0.01),
            tooltip: 'How strongly to modify the CLIP model. This value can be negative.',
          },
        ],
      },
    }),
    returnTypes: ['MODEL', 'CLIP'],
    outputTooltips: ['The modified diffusion model.', 'The modified CLIP model.'],
  },
  {
    name: 'UpscaleModelLoader',
    displayName: 'Load Upscale Model',
    pythonModule: UPSCALE_MODULE,
    category: 'loaders',
    inputs: (ctx) => ({ required: { model_name: [ctx.modelList('upscale_models')] } }),
    returnTypes: ['UPSCALE_MODEL'],
  },
  {
    name: 'ImageUpscaleWithModel',
    displayName: 'Upscale Image (using Model)',
    pythonModule: UPSCALE_MODULE,
    category: 'image/upscaling',
    inputs: () => ({ required: { upscale_model: ['UPSCALE_MODEL'], image: ['IMAGE'] } }),
    returnTypes: ['IMAGE'],
  },
  {
    name: 'SaveImage',
    displayName: 'Save Image',
    description: SAVE_DESCRIPTION,
    category: 'image',
    inputs: () => ({
      required: {
        images: ['IMAGE', { tooltip: 'The images to save.' }],
        filename_prefix: [
          'STRING',
          {
            default: 'ComfyUI',
            tooltip:
              'The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.',
          },
        ],
      },
      hidden: { ...HIDDEN_PROMPT },
    }),
    returnTypes: [],
    outputNode: true,
  },
  {
    name: 'PreviewImage',
    displayName: 'Preview Image',
    description: SAVE_DESCRIPTION,
    category: 'image',
    inputs: () => ({ required: { images: ['IMAGE'] }, hidden: { ...HIDDEN_PROMPT } }),
    returnTypes: [],
    outputNode: true,
  },
  {
    name: 'LoadImage',
    displayName: 'Load Image',
    category: 'image',
    inputs: (ctx) => ({ required: { image: [ctx.inputFiles(true), { image_upload: true }] } }),
    returnTypes: ['IMAGE', 'MASK'],
    validateInputs: ['image'],
  },
  {
    name: 'LoadImageMask',
    displayName: 'Load Image (as Mask)',
    category: 'mask',
    inputs: (ctx) => ({
      required: {
        image: [ctx.inputFiles(false), { image_upload: true }],
        channel: [['alpha', 'red', 'green', 'blue']],
      },
    }),
    returnTypes: ['MASK'],
    validateInputs: ['image'],
  },
  {
    name: 'SaveImageWebsocket',
    pythonModule: 'custom_nodes.websocket_image_save',
    category: 'api/image',
    inputs: () => ({ required: { images: ['IMAGE'] } }),
    returnTypes: [],
    outputNode: true,
  },
];

const SAVE_PREFIX: InputSpec = ['STRING', { default: 'ComfyUI' }];

/**
 * Core nodes that need no model (the real-ComfyUI transcripts use them) and output nodes of other kinds:
 * animated images and video (`images` + `animated: [true]`) and text (`PreviewAny`).
 */
const MEDIA_NODES: NodeDef[] = [
  {
    name: 'EmptyImage',
    category: 'image',
    inputs: () => ({
      required: {
        width: ['INT', { default: 512, min: 1, max: MAX_RESOLUTION, step: 1 }],
        height: ['INT', { default: 512, min: 1, max: MAX_RESOLUTION, step: 1 }],
        batch_size: ['INT', { default: 1, min: 1, max: 4096 }],
        color: ['INT', { default: 0, min: 0, max: 0xffffff, step: 1, display: 'color' }],
      },
    }),
    returnTypes: ['IMAGE'],
  },
  {
    name: 'ImageBlur',
    displayName: 'Image Blur',
    pythonModule: 'comfy_extras.nodes_post_processing',
    category: 'image/postprocessing',
    inputs: () => ({
      required: {
        image: ['IMAGE'],
        blur_radius: ['INT', { default: 1, min: 1, max: 31, step: 1 }],
        sigma: ['FLOAT', { default: f(1), min: f(0.1), max: f(10), step: f(0.1) }],
      },
    }),
    returnTypes: ['IMAGE'],
  },
  {
    name: 'ImageInvert',
    displayName: 'Invert Image',
    category: 'image',
    inputs: () => ({ required: { image: ['IMAGE'] } }),
    returnTypes: ['IMAGE'],
  },
  {
    name: 'PrimitiveInt',
    displayName: 'Int',
    pythonModule: 'comfy_extras.nodes_primitive',
    category: 'utils/primitive',
    inputs: () => ({
      required: {
        value: ['INT', { min: -9223372036854775807n, max: 9223372036854775807n, control_after_generate: true }],
      },
    }),
    returnTypes: ['INT'],
  },
  {
    name: 'PreviewAny',
    displayName: 'Preview Any',
    pythonModule: 'comfy_extras.nodes_preview_any',
    category: 'utils',
    inputs: () => ({ required: { source: ['*', {}] } }),
    returnTypes: [],
    outputNode: true,
  },
  {
    name: 'SaveAnimatedWEBP',
    pythonModule: 'comfy_extras.nodes_images',
    category: 'image/animation',
    inputs: () => ({
      required: {
        images: ['IMAGE'],
        filename_prefix: SAVE_PREFIX,
        fps: ['FLOAT', { default: f(6), min: f(0.01), max: f(1000), step: f(0.01) }],
        lossless: ['BOOLEAN', { default: true }],
        quality: ['INT', { default: 80, min: 0, max: 100 }],
        method: [['default', 'fastest', 'slowest']],
      },
      hidden: { ...HIDDEN_PROMPT },
    }),
    returnTypes: [],
    outputNode: true,
  },
  {
    name: 'SaveWEBM',
    pythonModule: 'comfy_extras.nodes_video',
    category: 'image/video',
    inputs: () => ({
      required: {
        images: ['IMAGE'],
        filename_prefix: SAVE_PREFIX,
        codec: [['vp9', 'av1']],
        fps: ['FLOAT', { default: f(24), min: f(0.01), max: f(1000), step: f(0.01) }],
        crf: ['FLOAT', { default: f(32), min: f(0), max: f(63), step: f(1) }],
      },
      hidden: { ...HIDDEN_PROMPT },
    }),
    returnTypes: [],
    outputNode: true,
  },
];

/** Real custom nodes the fake can pretend to have, with their declared inputs (run as IMAGE passthroughs). */
const KNOWN_CUSTOM_NODES: Record<string, NodeDef> = {
  // john-mnz/ComfyUI-Inspyrenet-Rembg, nodes.py: InspyrenetRembg
  InspyrenetRembg: {
    name: 'InspyrenetRembg',
    displayName: 'Inspyrenet Rembg',
    pythonModule: 'custom_nodes.ComfyUI-Inspyrenet-Rembg',
    category: 'image',
    inputs: () => ({ required: { image: ['IMAGE'], torchscript_jit: [['default', 'on']] } }),
    returnTypes: ['IMAGE', 'MASK'],
  },
  // Kosinkadink/ComfyUI-VideoHelperSuite, videohelpersuite/nodes.py: VideoCombine (its ui key is `gifs`)
  VHS_VideoCombine: {
    name: 'VHS_VideoCombine',
    displayName: 'Video Combine 🎥🅥🅗🅢',
    pythonModule: 'custom_nodes.ComfyUI-VideoHelperSuite',
    category: 'Video Helper Suite 🎥🅥🅗🅢',
    inputs: () => ({
      required: {
        images: ['IMAGE'],
        frame_rate: ['FLOAT', { default: f(8), min: f(1), step: f(1) }],
        loop_count: ['INT', { default: 0, min: 0, max: 100, step: 1 }],
        filename_prefix: ['STRING', { default: 'AnimateDiff' }],
        format: [['image/gif', 'image/webp', 'video/h264-mp4']],
        pingpong: ['BOOLEAN', { default: false }],
        save_output: ['BOOLEAN', { default: true }],
      },
      hidden: { ...HIDDEN_PROMPT },
    }),
    returnTypes: ['VHS_FILENAMES'],
    outputNode: true,
  },
};

/** A simple custom node: IMAGE in, IMAGE out (e.g. 'RemoveBackground'), for capability routing tests. */
export function extraNodeDef(name: string): NodeDef {
  if (KNOWN_CUSTOM_NODES[name]) return KNOWN_CUSTOM_NODES[name];
  return {
    name,
    pythonModule: 'custom_nodes.comfygate_fake_extras',
    category: 'image/fake_extras',
    inputs: () => ({ required: { image: ['IMAGE'] } }),
    returnTypes: ['IMAGE'],
  };
}

/** NodeInfo with the exact key order of server.py's node_info(). */
export function nodeInfo(def: NodeDef, ctx: NodeContext): Record<string, PyValue> {
  const inputs = def.inputs(ctx);
  const order: Record<string, string[]> = {};
  for (const [section, value] of Object.entries(inputs)) order[section] = Object.keys(value as object);
  const info: Record<string, PyValue> = {
    input: inputs as unknown as PyValue,
    input_order: order,
    output: def.returnTypes,
    output_is_list: def.returnTypes.map(() => false),
    output_name: def.returnNames ?? def.returnTypes,
    name: def.name,
    display_name: def.displayName ?? def.name,
    description: def.description ?? '',
    python_module: def.pythonModule ?? 'nodes',
    category: def.category,
    output_node: def.outputNode === true,
  };
  if (def.outputTooltips) info.output_tooltips = def.outputTooltips;
  return info;
}

/** get_input_info(): the declared type, section and options of one input, or undefined. */
export function inputInfo(inputs: NodeInputs, name: string): InputInfo | undefined {
  for (const category of ['required', 'optional'] as const) {
    const spec = inputs[category]?.[name];
    if (spec) return { type: spec[0], category, extra: spec[1] ?? {} };
  }
  const hidden = inputs.hidden?.[name];
  return hidden === undefined ? undefined : { type: hidden, category: 'hidden', extra: {} };
}

/** The node classes of one server, with hideNode()/showNode() applied to what clients can see. */
export class NodeRegistry {
  private readonly defs = new Map<string, NodeDef>();
  private readonly hidden = new Set<string>();

  constructor(extraNodes: string[] = []) {
    for (const def of [...CORE_NODES, ...MEDIA_NODES]) this.defs.set(def.name, def);
    for (const name of extraNodes) if (!this.defs.has(name)) this.defs.set(name, extraNodeDef(name));
  }

  /** A class as validation and /object_info see it (hidden classes do not exist). */
  visible(name: string): NodeDef | undefined {
    return this.hidden.has(name) ? undefined : this.defs.get(name);
  }

  /** A class as the worker sees it: prompts queued before hideNode() still run. */
  any(name: string): NodeDef | undefined {
    return this.defs.get(name);
  }

  visibleNames(): string[] {
    return [...this.defs.keys()].filter((n) => !this.hidden.has(n));
  }

  hide(name: string): void {
    this.hidden.add(name);
  }

  show(name: string): void {
    this.hidden.delete(name);
  }

  showAll(): void {
    this.hidden.clear();
  }
}
