import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ComfyGraph } from '@comfygate/shared';
import { uiToApi } from './convert.js';
import { defaultGraph, hiresBuilder, txt2imgBuilder } from './fixtures/graphs.js';
import { objectInfo, type UiBuilder } from './fixtures/support.js';
import type { ObjectInfo } from './objectInfo.js';
import { detectParams } from './params.js';

/** Flux / SD3 classes (custom sampling, guiders, loaders) as ComfyUI's /object_info reports them (fixtures/README.md). */
const fluxInfo = (): ObjectInfo =>
  JSON.parse(fs.readFileSync(new URL('./fixtures/object_info.flux.json', import.meta.url), 'utf8')) as ObjectInfo;

const info: ObjectInfo = {
  ...objectInfo(),
  ...fluxInfo(),
  ControlNetApplyAdvanced: {
    input: {
      required: {
        positive: ['CONDITIONING'],
        negative: ['CONDITIONING'],
        control_net: ['CONTROL_NET'],
        image: ['IMAGE'],
        strength: ['FLOAT', { default: 1, min: 0, max: 10 }],
      },
    },
    output: ['CONDITIONING', 'CONDITIONING'],
    output_name: ['positive', 'negative'],
  },
  ConditioningCombine: {
    input: { required: { conditioning_1: ['CONDITIONING'], conditioning_2: ['CONDITIONING'] } },
    output: ['CONDITIONING'],
  },
};
const SAMPLERS = (info.KSampler!.input!.required!.sampler_name![0] as string[]).slice();
const SCHEDULERS = [
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
const SEED_MAX = 18446744073709551615n;

function api(workflow: unknown): ComfyGraph {
  const result = uiToApi(workflow, info);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.graph;
}
const names = (g: ComfyGraph) => detectParams(g, info).map((p) => `${p.name}=${p.node}.${p.input}`);

describe('detectParams', () => {
  it('finds the parameters of the default graph with types, bounds and options from /object_info', () => {
    expect(detectParams(api(defaultGraph()), info)).toEqual([
      {
        name: 'prompt',
        node: '6',
        input: 'text',
        type: 'string',
        default: 'beautiful scenery nature glass bottle landscape, , purple galaxy bottle,',
      },
      { name: 'negative', node: '7', input: 'text', type: 'string', default: 'text, watermark' },
      { name: 'seed', node: '3', input: 'seed', type: 'int', default: 156680208700286, min: 0, max: SEED_MAX },
      { name: 'steps', node: '3', input: 'steps', type: 'int', default: 20, min: 1, max: 10000 },
      { name: 'cfg', node: '3', input: 'cfg', type: 'float', default: 8, min: 0, max: 100 },
      { name: 'sampler', node: '3', input: 'sampler_name', type: 'enum', default: 'euler', options: SAMPLERS },
      { name: 'scheduler', node: '3', input: 'scheduler', type: 'enum', default: 'normal', options: SCHEDULERS },
      { name: 'denoise', node: '3', input: 'denoise', type: 'float', default: 1, min: 0, max: 1 },
      { name: 'width', node: '5', input: 'width', type: 'int', default: 512, min: 16, max: 16384 },
      { name: 'height', node: '5', input: 'height', type: 'int', default: 512, min: 16, max: 16384 },
      { name: 'batch_size', node: '5', input: 'batch_size', type: 'int', default: 1, min: 1, max: 4096 },
      {
        name: 'checkpoint',
        node: '4',
        input: 'ckpt_name',
        type: 'enum',
        default: 'v1-5-pruned-emaonly.safetensors',
        options: ['sd_xl_base_1.0.safetensors', 'v1-5-pruned-emaonly.safetensors'],
      },
    ]);
  });

  it('numbers the second pass of a hires fix (_2) and binds the shared prompts once', () => {
    const params = detectParams(api(hiresBuilder().workflow()), info);
    expect(params.map((p) => `${p.name}=${p.node}.${p.input}`)).toEqual([
      'prompt=6.text',
      'negative=7.text',
      'seed=3.seed',
      'steps=3.steps',
      'cfg=3.cfg',
      'sampler=3.sampler_name',
      'scheduler=3.scheduler',
      'denoise=3.denoise',
      'width=5.width',
      'height=5.height',
      'batch_size=5.batch_size',
      'seed_2=11.seed',
      'steps_2=11.steps',
      'cfg_2=11.cfg',
      'sampler_2=11.sampler_name',
      'scheduler_2=11.scheduler',
      'denoise_2=11.denoise',
      'checkpoint=4.ckpt_name',
    ]);
    expect(params.find((p) => p.name === 'denoise_2')?.default).toBe(0.5);
  });

  it('orders samplers by pipeline, not by id, and gives each its own prompt when they differ', () => {
    const b = hiresBuilder()
      .node(2, 'CLIPTextEncode', { inputs: ['clip'], outputs: ['CONDITIONING'], widgets: ['sharp details'] })
      .link(4, 1, 2, 'clip');
    const g = api(b.workflow());
    // Give the second pass the lowest id: numbering still follows the pipeline.
    g['1'] = { ...g['11']!, inputs: { ...g['11']!.inputs, positive: ['2', 0] } };
    delete g['11'];
    g['8']!.inputs.samples = ['1', 0];
    const found = names(g);
    expect(found.slice(0, 3)).toEqual(['prompt=6.text', 'negative=7.text', 'seed=3.seed']);
    expect(found).toContain('prompt_2=2.text');
    expect(found).toContain('seed_2=1.seed');
    expect(found).not.toContain('negative_2=7.text');
  });

  it('binds a seed shared through a PrimitiveInt once, on the primitive', () => {
    const b = hiresBuilder().node(20, 'PrimitiveInt', { outputs: ['INT'], widgets: [99, 'fixed'] });
    for (const id of [3, 11])
      b.find(id).inputs!.push({ name: 'seed', type: 'INT', widget: { name: 'seed' }, link: null });
    const found = names(api(b.link(20, 0, 3, 'seed').link(20, 0, 11, 'seed').workflow()));
    expect(found).toContain('seed=20.value');
    expect(found.filter((n) => n.startsWith('seed'))).toEqual(['seed=20.value']);
  });

  it('numbers LoRAs along the chain and images by node id; img2img has no size', () => {
    const b: UiBuilder = txt2imgBuilder()
      .node(30, 'LoraLoader', {
        inputs: ['model', 'clip'],
        outputs: ['MODEL', 'CLIP'],
        widgets: ['style.safetensors', 0.7, 0.5],
      })
      .node(12, 'LoraLoader', {
        inputs: ['model', 'clip'],
        outputs: ['MODEL', 'CLIP'],
        widgets: ['detail.safetensors', 1, 1],
      })
      .node(40, 'LoadImage', { outputs: ['IMAGE', 'MASK'], widgets: ['b.png', 'image'] })
      .node(21, 'LoadImage', { outputs: ['IMAGE', 'MASK'], widgets: ['a.png', 'image'] })
      .node(22, 'VAEEncode', { inputs: [['pixels', 'IMAGE'], 'vae'], outputs: ['LATENT'] });
    const g = api(
      b
        .link(4, 0, 30, 'model')
        .link(4, 1, 30, 'clip')
        .link(30, 0, 12, 'model')
        .link(30, 1, 12, 'clip')
        .link(21, 0, 22, 'pixels')
        .link(4, 2, 22, 'vae')
        .workflow(),
    );
    Object.assign(g['3']!.inputs, { model: ['12', 0], latent_image: ['22', 0] });
    const params = detectParams(g, info);
    expect(params.map((p) => `${p.name}=${p.node}.${p.input}`).filter((n) => /^(lora|image|width)/.test(n))).toEqual([
      'lora1=30.lora_name',
      'lora1_strength_model=30.strength_model',
      'lora1_strength_clip=30.strength_clip',
      'lora2=12.lora_name',
      'lora2_strength_model=12.strength_model',
      'lora2_strength_clip=12.strength_clip',
      'image=21.image',
      'image2=40.image',
    ]);
    expect(params.find((p) => p.name === 'lora1')).toMatchObject({
      type: 'enum',
      options: ['detail.safetensors', 'style.safetensors'],
    });
    expect(params.find((p) => p.name === 'image')).toEqual({
      name: 'image',
      node: '21',
      input: 'image',
      type: 'image',
      default: 'a.png',
    });
  });

  it('traces prompts through conditioning nodes with one path, and stops where paths merge', () => {
    const g = api(txt2imgBuilder().workflow());
    g['50'] = {
      class_type: 'ControlNetApplyAdvanced',
      inputs: { positive: ['6', 0], negative: ['7', 0], control_net: ['51', 0], image: ['52', 0], strength: 1 },
    };
    Object.assign(g['3']!.inputs, { positive: ['50', 0], negative: ['50', 1] });
    expect(names(g).slice(0, 2)).toEqual(['prompt=6.text', 'negative=7.text']);
    g['53'] = { class_type: 'ConditioningCombine', inputs: { conditioning_1: ['6', 0], conditioning_2: ['7', 0] } };
    g['3']!.inputs.positive = ['53', 0];
    expect(names(g).filter((n) => n.startsWith('prompt'))).toEqual([]);
  });

  it('reads KSamplerAdvanced (noise_seed becomes seed)', () => {
    const g = api(txt2imgBuilder().workflow());
    g['3'] = {
      class_type: 'KSamplerAdvanced',
      inputs: {
        ...g['3']!.inputs,
        noise_seed: 7,
        add_noise: 'enable',
        start_at_step: 0,
        end_at_step: 10000,
        return_with_leftover_noise: 'disable',
      },
    };
    delete g['3'].inputs.seed;
    expect(names(g)).toContain('seed=3.noise_seed');
  });
});

const FLUX_PROMPT =
  'cute anime girl with massive fluffy fennec ears and a big fluffy tail blonde messy long hair blue eyes wearing a maid outfit with a long black gold leaf pattern dress and a white apron mouth open holding a fancy black forest cake with candles on top in the kitchen of an old dark Victorian mansion lit by candlelight with a bright window to the foggy forest and very expensive stuff everywhere';

/**
 * ComfyUI's Flux dev example (ComfyUI_examples/flux, flux_dev_example.png) in API form, written by hand: UNETLoader →
 * ModelSamplingFlux, DualCLIPLoader → CLIPTextEncode → FluxGuidance → BasicGuider, RandomNoise, KSamplerSelect,
 * BasicScheduler, EmptySD3LatentImage → SamplerCustomAdvanced. The editor's width/height PrimitiveNodes are literals.
 */
function fluxDev(): ComfyGraph {
  return {
    '6': { class_type: 'CLIPTextEncode', inputs: { text: FLUX_PROMPT, clip: ['11', 0] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['13', 0], vae: ['10', 0] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
    '10': { class_type: 'VAELoader', inputs: { vae_name: 'ae.safetensors' } },
    '11': {
      class_type: 'DualCLIPLoader',
      inputs: {
        clip_name1: 't5xxl_fp16.safetensors',
        clip_name2: 'clip_l.safetensors',
        type: 'flux',
        device: 'default',
      },
    },
    '12': { class_type: 'UNETLoader', inputs: { unet_name: 'flux1-dev.safetensors', weight_dtype: 'default' } },
    '13': {
      class_type: 'SamplerCustomAdvanced',
      inputs: { noise: ['25', 0], guider: ['22', 0], sampler: ['16', 0], sigmas: ['17', 0], latent_image: ['27', 0] },
    },
    '16': { class_type: 'KSamplerSelect', inputs: { sampler_name: 'euler' } },
    '17': { class_type: 'BasicScheduler', inputs: { scheduler: 'simple', steps: 20, denoise: 1, model: ['30', 0] } },
    '22': { class_type: 'BasicGuider', inputs: { model: ['30', 0], conditioning: ['26', 0] } },
    '25': { class_type: 'RandomNoise', inputs: { noise_seed: 219670278747233 } },
    '26': { class_type: 'FluxGuidance', inputs: { guidance: 3.5, conditioning: ['6', 0] } },
    '27': { class_type: 'EmptySD3LatentImage', inputs: { width: 1024, height: 1024, batch_size: 1 } },
    '30': {
      class_type: 'ModelSamplingFlux',
      inputs: { max_shift: 1.15, base_shift: 0.5, width: 1024, height: 1024, model: ['12', 0] },
    },
  };
}

describe('detectParams: the custom-sampling family (Flux, SD3)', () => {
  it("finds the parameters of ComfyUI's Flux dev example on the nodes feeding SamplerCustomAdvanced", () => {
    expect(detectParams(fluxDev(), info)).toEqual([
      { name: 'prompt', node: '6', input: 'text', type: 'string', default: FLUX_PROMPT },
      { name: 'seed', node: '25', input: 'noise_seed', type: 'int', default: 219670278747233, min: 0, max: SEED_MAX },
      { name: 'steps', node: '17', input: 'steps', type: 'int', default: 20, min: 1, max: 10000 },
      { name: 'guidance', node: '26', input: 'guidance', type: 'float', default: 3.5, min: 0, max: 100 },
      { name: 'sampler', node: '16', input: 'sampler_name', type: 'enum', default: 'euler', options: SAMPLERS },
      { name: 'scheduler', node: '17', input: 'scheduler', type: 'enum', default: 'simple', options: SCHEDULERS },
      { name: 'denoise', node: '17', input: 'denoise', type: 'float', default: 1, min: 0, max: 1 },
      { name: 'width', node: '27', input: 'width', type: 'int', default: 1024, min: 16, max: 16384 },
      { name: 'height', node: '27', input: 'height', type: 'int', default: 1024, min: 16, max: 16384 },
      { name: 'batch_size', node: '27', input: 'batch_size', type: 'int', default: 1, min: 1, max: 4096 },
      {
        name: 'model',
        node: '12',
        input: 'unet_name',
        type: 'enum',
        default: 'flux1-dev.safetensors',
        options: ['flux1-dev.safetensors', 'flux1-schnell.safetensors'],
      },
    ]);
  });

  it('reads CFGGuider (prompt, negative, cfg) and CLIPTextEncodeFlux (t5xxl is the prompt, clip_l its own parameter)', () => {
    const g = fluxDev();
    g['6'] = {
      class_type: 'CLIPTextEncodeFlux',
      inputs: { clip_l: 'a cat', t5xxl: 'a cat on a sofa', guidance: 3.5, clip: ['11', 0] },
    };
    g['7'] = { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['11', 0] } };
    g['22'] = {
      class_type: 'CFGGuider',
      inputs: { model: ['30', 0], positive: ['26', 0], negative: ['7', 0], cfg: 2 },
    };
    const found = names(g);
    expect(found).toEqual([
      'prompt=6.t5xxl',
      'prompt_clip_l=6.clip_l',
      'negative=7.text',
      'seed=25.noise_seed',
      'steps=17.steps',
      'cfg=22.cfg',
      'guidance=26.guidance',
      'sampler=16.sampler_name',
      'scheduler=17.scheduler',
      'denoise=17.denoise',
      'width=27.width',
      'height=27.height',
      'batch_size=27.batch_size',
      'model=12.unet_name',
    ]);
    // FluxGuidance overrides the encoder's guidance, so only its value is a parameter; without it, the encoder's is.
    g['22']!.inputs.positive = ['6', 0];
    expect(names(g).filter((n) => n.startsWith('guidance'))).toEqual(['guidance=6.guidance']);
  });

  it('numbers a second SamplerCustomAdvanced pass; shared noise and sampler nodes stay one parameter, a shared seed primitive too', () => {
    const g = fluxDev();
    g['40'] = {
      class_type: 'LatentUpscale',
      inputs: { samples: ['13', 0], upscale_method: 'nearest-exact', width: 1536, height: 1536, crop: 'disabled' },
    };
    g['41'] = {
      class_type: 'BasicScheduler',
      inputs: { scheduler: 'beta', steps: 10, denoise: 0.45, model: ['30', 0] },
    };
    // The second pass gets a lower id than the first: numbering follows the pipeline.
    g['2'] = {
      class_type: 'SamplerCustomAdvanced',
      inputs: { noise: ['25', 0], guider: ['22', 0], sampler: ['16', 0], sigmas: ['41', 0], latent_image: ['40', 0] },
    };
    g['8']!.inputs.samples = ['2', 0];
    g['50'] = { class_type: 'PrimitiveInt', inputs: { value: 7 } };
    g['25']!.inputs.noise_seed = ['50', 0];
    expect(names(g)).toEqual([
      'prompt=6.text',
      'seed=50.value',
      'steps=17.steps',
      'guidance=26.guidance',
      'sampler=16.sampler_name',
      'scheduler=17.scheduler',
      'denoise=17.denoise',
      'width=27.width',
      'height=27.height',
      'batch_size=27.batch_size',
      'steps_2=41.steps',
      'scheduler_2=41.scheduler',
      'denoise_2=41.denoise',
      'model=12.unet_name',
    ]);
  });

  it("reads SamplerCustom's sampler and sigmas inputs, and DisableNoise leaves no seed", () => {
    const g = fluxDev();
    g['13'] = {
      class_type: 'SamplerCustom',
      inputs: {
        model: ['30', 0],
        add_noise: true,
        noise_seed: 3,
        cfg: 1,
        positive: ['26', 0],
        negative: ['26', 0],
        sampler: ['16', 0],
        sigmas: ['17', 0],
        latent_image: ['27', 0],
      },
    };
    expect(names(g).slice(0, 8)).toEqual([
      'prompt=6.text',
      'seed=13.noise_seed',
      'steps=17.steps',
      'cfg=13.cfg',
      'guidance=26.guidance',
      'sampler=16.sampler_name',
      'scheduler=17.scheduler',
      'denoise=17.denoise',
    ]);
    const h = fluxDev();
    h['25'] = { class_type: 'DisableNoise', inputs: {} };
    expect(names(h).filter((n) => n.startsWith('seed'))).toEqual([]);
  });

  it("finds the parameters of an SD3.5 graph (KSampler on EmptySD3LatentImage), and CLIPTextEncodeSD3's three texts", () => {
    const g: ComfyGraph = {
      '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd3.5_large_fp8_scaled.safetensors' } },
      '16': {
        class_type: 'CLIPTextEncode',
        inputs: { text: 'a bottle with a rainbow galaxy inside it on top of a wooden table', clip: ['4', 1] },
      },
      '40': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['4', 1] } },
      '53': { class_type: 'EmptySD3LatentImage', inputs: { width: 1024, height: 1024, batch_size: 1 } },
      '3': {
        class_type: 'KSampler',
        inputs: {
          seed: 585483408983215,
          steps: 20,
          cfg: 4.01,
          sampler_name: 'euler',
          scheduler: 'sgm_uniform',
          denoise: 1,
          model: ['4', 0],
          positive: ['16', 0],
          negative: ['40', 0],
          latent_image: ['53', 0],
        },
      },
      '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
      '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
    };
    expect(names(g)).toEqual([
      'prompt=16.text',
      'negative=40.text',
      'seed=3.seed',
      'steps=3.steps',
      'cfg=3.cfg',
      'sampler=3.sampler_name',
      'scheduler=3.scheduler',
      'denoise=3.denoise',
      'width=53.width',
      'height=53.height',
      'batch_size=53.batch_size',
      'checkpoint=4.ckpt_name',
    ]);
    expect(detectParams(g, info).find((p) => p.name === 'width')).toMatchObject({ min: 16, max: 16384 });
    g['16'] = {
      class_type: 'CLIPTextEncodeSD3',
      inputs: { clip_l: 'l', clip_g: 'g', t5xxl: 't5', empty_padding: 'none', clip: ['4', 1] },
    };
    expect(names(g).slice(0, 4)).toEqual([
      'prompt=16.t5xxl',
      'prompt_clip_l=16.clip_l',
      'prompt_clip_g=16.clip_g',
      'negative=40.text',
    ]);
  });
});
