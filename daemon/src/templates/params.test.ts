import { describe, expect, it } from 'vitest';
import type { ComfyGraph } from '@comfygate/shared';
import { uiToApi } from './convert.js';
import { defaultGraph, hiresBuilder, txt2imgBuilder } from './fixtures/graphs.js';
import { objectInfo, type UiBuilder } from './fixtures/support.js';
import type { ObjectInfo } from './objectInfo.js';
import { detectParams } from './params.js';

const info: ObjectInfo = {
  ...objectInfo(),
  ControlNetApplyAdvanced: {
    input: { required: { positive: ['CONDITIONING'], negative: ['CONDITIONING'], control_net: ['CONTROL_NET'], image: ['IMAGE'], strength: ['FLOAT', { default: 1, min: 0, max: 10 }] } },
    output: ['CONDITIONING', 'CONDITIONING'],
    output_name: ['positive', 'negative'],
  },
  ConditioningCombine: { input: { required: { conditioning_1: ['CONDITIONING'], conditioning_2: ['CONDITIONING'] } }, output: ['CONDITIONING'] },
};
const SAMPLERS = (info.KSampler!.input!.required!.sampler_name![0] as string[]).slice();
const SCHEDULERS = ['simple', 'sgm_uniform', 'karras', 'exponential', 'ddim_uniform', 'beta', 'normal', 'linear_quadratic', 'kl_optimal'];
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
      { name: 'prompt', node: '6', input: 'text', type: 'string', default: 'beautiful scenery nature glass bottle landscape, , purple galaxy bottle,' },
      { name: 'negative', node: '7', input: 'text', type: 'string', default: 'text, watermark' },
      { name: 'seed', node: '3', input: 'seed', type: 'int', default: 156680208700286, min: 0, max: SEED_MAX },
      { name: 'steps', node: '3', input: 'steps', type: 'int', default: 20, min: 1, max: 10000 },
      { name: 'cfg', node: '3', input: 'cfg', type: 'float', default: 8, min: 0, max: 100 },
      { name: 'sampler_name', node: '3', input: 'sampler_name', type: 'enum', default: 'euler', options: SAMPLERS },
      { name: 'scheduler', node: '3', input: 'scheduler', type: 'enum', default: 'normal', options: SCHEDULERS },
      { name: 'denoise', node: '3', input: 'denoise', type: 'float', default: 1, min: 0, max: 1 },
      { name: 'width', node: '5', input: 'width', type: 'int', default: 512, min: 16, max: 16384 },
      { name: 'height', node: '5', input: 'height', type: 'int', default: 512, min: 16, max: 16384 },
      { name: 'batch_size', node: '5', input: 'batch_size', type: 'int', default: 1, min: 1, max: 4096 },
      { name: 'checkpoint', node: '4', input: 'ckpt_name', type: 'enum', default: 'v1-5-pruned-emaonly.safetensors', options: ['sd_xl_base_1.0.safetensors', 'v1-5-pruned-emaonly.safetensors'] },
    ]);
  });

  it('numbers the second pass of a hires fix (_2) and binds the shared prompts once', () => {
    const params = detectParams(api(hiresBuilder().workflow()), info);
    expect(params.map((p) => `${p.name}=${p.node}.${p.input}`)).toEqual([
      'prompt=6.text', 'negative=7.text', 'seed=3.seed', 'steps=3.steps', 'cfg=3.cfg', 'sampler_name=3.sampler_name', 'scheduler=3.scheduler', 'denoise=3.denoise',
      'width=5.width', 'height=5.height', 'batch_size=5.batch_size',
      'seed_2=11.seed', 'steps_2=11.steps', 'cfg_2=11.cfg', 'sampler_name_2=11.sampler_name', 'scheduler_2=11.scheduler', 'denoise_2=11.denoise',
      'checkpoint=4.ckpt_name',
    ]);
    expect(params.find((p) => p.name === 'denoise_2')?.default).toBe(0.5);
  });

  it('orders samplers by pipeline, not by id, and gives each its own prompt when they differ', () => {
    const b = hiresBuilder().node(2, 'CLIPTextEncode', { inputs: ['clip'], outputs: ['CONDITIONING'], widgets: ['sharp details'] }).link(4, 1, 2, 'clip');
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
    for (const id of [3, 11]) b.find(id).inputs!.push({ name: 'seed', type: 'INT', widget: { name: 'seed' }, link: null });
    const found = names(api(b.link(20, 0, 3, 'seed').link(20, 0, 11, 'seed').workflow()));
    expect(found).toContain('seed=20.value');
    expect(found.filter((n) => n.startsWith('seed'))).toEqual(['seed=20.value']);
  });

  it('numbers LoRAs along the chain and images by node id; img2img has no size', () => {
    const b: UiBuilder = txt2imgBuilder()
      .node(30, 'LoraLoader', { inputs: ['model', 'clip'], outputs: ['MODEL', 'CLIP'], widgets: ['style.safetensors', 0.7, 0.5] })
      .node(12, 'LoraLoader', { inputs: ['model', 'clip'], outputs: ['MODEL', 'CLIP'], widgets: ['detail.safetensors', 1, 1] })
      .node(40, 'LoadImage', { outputs: ['IMAGE', 'MASK'], widgets: ['b.png', 'image'] })
      .node(21, 'LoadImage', { outputs: ['IMAGE', 'MASK'], widgets: ['a.png', 'image'] })
      .node(22, 'VAEEncode', { inputs: [['pixels', 'IMAGE'], 'vae'], outputs: ['LATENT'] });
    const g = api(b.link(4, 0, 30, 'model').link(4, 1, 30, 'clip').link(30, 0, 12, 'model').link(30, 1, 12, 'clip').link(21, 0, 22, 'pixels').link(4, 2, 22, 'vae').workflow());
    Object.assign(g['3']!.inputs, { model: ['12', 0], latent_image: ['22', 0] });
    const params = detectParams(g, info);
    expect(params.map((p) => `${p.name}=${p.node}.${p.input}`).filter((n) => /^(lora|image|width)/.test(n))).toEqual([
      'lora1=30.lora_name', 'lora1_strength_model=30.strength_model', 'lora1_strength_clip=30.strength_clip',
      'lora2=12.lora_name', 'lora2_strength_model=12.strength_model', 'lora2_strength_clip=12.strength_clip',
      'image=21.image', 'image2=40.image',
    ]);
    expect(params.find((p) => p.name === 'lora1')).toMatchObject({ type: 'enum', options: ['detail.safetensors', 'style.safetensors'] });
    expect(params.find((p) => p.name === 'image')).toEqual({ name: 'image', node: '21', input: 'image', type: 'image', default: 'a.png' });
  });

  it('traces prompts through conditioning nodes with one path, and stops where paths merge', () => {
    const g = api(txt2imgBuilder().workflow());
    g['50'] = { class_type: 'ControlNetApplyAdvanced', inputs: { positive: ['6', 0], negative: ['7', 0], control_net: ['51', 0], image: ['52', 0], strength: 1 } };
    Object.assign(g['3']!.inputs, { positive: ['50', 0], negative: ['50', 1] });
    expect(names(g).slice(0, 2)).toEqual(['prompt=6.text', 'negative=7.text']);
    g['53'] = { class_type: 'ConditioningCombine', inputs: { conditioning_1: ['6', 0], conditioning_2: ['7', 0] } };
    g['3']!.inputs.positive = ['53', 0];
    expect(names(g).filter((n) => n.startsWith('prompt'))).toEqual([]);
  });

  it('reads KSamplerAdvanced (noise_seed becomes seed)', () => {
    const g = api(txt2imgBuilder().workflow());
    g['3'] = { class_type: 'KSamplerAdvanced', inputs: { ...g['3']!.inputs, noise_seed: 7, add_noise: 'enable', start_at_step: 0, end_at_step: 10000, return_with_leftover_noise: 'disable' } };
    delete g['3'].inputs.seed;
    expect(names(g)).toContain('seed=3.noise_seed');
  });
});
