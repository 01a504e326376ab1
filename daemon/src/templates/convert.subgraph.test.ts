// Subgraphs (§5.3 item 5): inner ids "<instance>:<inner>", boundary nodes -10/-20, promoted widget values.
import { describe, expect, it } from 'vitest';
import { uiToApi } from './convert.js';
import { txt2imgBuilder } from './fixtures/graphs.js';
import { objectInfo, UiBuilder, withoutMeta } from './fixtures/support.js';
import type { UiSubgraphDef } from './workflow.js';

const info = objectInfo();
const SAMPLER_ID = '0b3c4a52-1d1e-4f6a-9a51-000000000001';
const DECODE_ID = '0b3c4a52-1d1e-4f6a-9a51-000000000002';
const FINISH_ID = '0b3c4a52-1d1e-4f6a-9a51-000000000003';

/** KSampler + negative prompt inside; model, positive, latent, seed, steps and clip come from outside. */
function samplerBlock(): UiSubgraphDef {
  return new UiBuilder()
    .node(1, 'KSampler', {
      inputs: [
        'model',
        ['positive', 'CONDITIONING'],
        ['negative', 'CONDITIONING'],
        ['latent_image', 'LATENT'],
        { name: 'seed', type: 'INT', widget: { name: 'seed' } },
        { name: 'steps', type: 'INT', widget: { name: 'steps' } },
      ],
      outputs: ['LATENT'],
      widgets: [5, 'fixed', 10, 6, 'euler', 'normal', 0.9],
    })
    .node(2, 'CLIPTextEncode', { inputs: ['clip'], outputs: ['CONDITIONING'], widgets: ['inner negative'] })
    .link(-10, 0, 1, 'model')
    .link(-10, 1, 1, 'positive')
    .link(-10, 2, 1, 'latent_image')
    .link(-10, 3, 1, 'seed')
    .link(-10, 4, 1, 'steps')
    .link(-10, 5, 2, 'clip')
    .link(2, 0, 1, 'negative')
    .linkOut(1, 0, 0)
    .subgraph(
      SAMPLER_ID,
      'Sampler block',
      [
        ['model', 'MODEL'],
        ['positive', 'CONDITIONING'],
        ['latent', 'LATENT'],
        ['seed', 'INT'],
        ['steps', 'INT'],
        ['clip', 'CLIP'],
      ],
      [['LATENT', 'LATENT']],
    );
}

/** The txt2img graph with KSampler 3 and negative prompt 7 replaced by instance 20 of the sampler block. */
function withSamplerBlock(widgets?: unknown[], markWidgets = true): UiBuilder {
  const b = txt2imgBuilder();
  b.nodes.splice(
    b.nodes.findIndex((n) => n.id === 3),
    1,
  );
  b.nodes.splice(
    b.nodes.findIndex((n) => n.id === 7),
    1,
  );
  b.links.length = 0;
  b.find(8).inputs!.forEach((i) => (i.link = null));
  b.find(6).inputs![0]!.link = null;
  const widget = (name: string) => (markWidgets ? { widget: { name } } : {});
  b.node(20, SAMPLER_ID, {
    inputs: [
      ['model', 'MODEL'],
      ['positive', 'CONDITIONING'],
      ['latent', 'LATENT'],
      { name: 'seed', type: 'INT', ...widget('seed') },
      { name: 'steps', type: 'INT', ...widget('steps') },
      ['clip', 'CLIP'],
    ],
    outputs: ['LATENT'],
    ...(widgets ? { widgets } : {}),
  }).node(21, 'PrimitiveInt', { outputs: ['INT'], widgets: [30, 'fixed'] });
  return b
    .link(4, 0, 20, 'model')
    .link(4, 1, 6, 'clip')
    .link(6, 0, 20, 'positive')
    .link(5, 0, 20, 'latent')
    .link(21, 0, 20, 'steps')
    .link(4, 1, 20, 'clip')
    .link(20, 0, 8, 'samples')
    .link(4, 2, 8, 'vae')
    .link(8, 0, 9, 'images');
}

function convert(
  b: UiBuilder,
  subgraphs: UiSubgraphDef[],
): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  const result = uiToApi(b.workflow(1, { definitions: { subgraphs } }), info);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return withoutMeta(result.graph) as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
}

describe('subgraphs', () => {
  it('flattens one level: inner ids, outer links through -10, the -20 output, promoted widget literals', () => {
    const api = convert(withSamplerBlock([1234, 30]), [samplerBlock()]);
    expect(api['20:1']).toEqual({
      class_type: 'KSampler',
      inputs: {
        seed: 1234,
        steps: ['21', 0],
        cfg: 6,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 0.9,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['20:2', 0],
        latent_image: ['5', 0],
      },
    });
    expect(api['20:2']).toEqual({ class_type: 'CLIPTextEncode', inputs: { text: 'inner negative', clip: ['4', 1] } });
    expect(api['8']?.inputs).toEqual({ samples: ['20:1', 0], vae: ['4', 2] });
    expect(api['21']).toEqual({ class_type: 'PrimitiveInt', inputs: { value: 30 } });
    expect(Object.keys(api).sort()).toEqual(['20:1', '20:2', '21', '4', '5', '6', '8', '9']);
  });

  it('finds promoted widgets from the definition when the instance inputs carry no widget marks', () => {
    expect(convert(withSamplerBlock([1234, 30], false), [samplerBlock()])['20:1']?.inputs.seed).toBe(1234);
  });

  it('reads object-shaped instance widgets_values by input name, and keeps the inner value when none is stored', () => {
    expect(convert(withSamplerBlock({ seed: 99 } as unknown as unknown[]), [samplerBlock()])['20:1']?.inputs.seed).toBe(
      99,
    );
    expect(convert(withSamplerBlock(), [samplerBlock()])['20:1']?.inputs.seed).toBe(5);
  });

  it('treats a bypassed instance like a bypassed node, and a muted one as muted inside', () => {
    const bypassed = withSamplerBlock([1234, 30]);
    bypassed.find(20).mode = 4;
    let api = convert(bypassed, [samplerBlock()]);
    expect(api['8']?.inputs.samples).toEqual(['5', 0]);
    expect(Object.keys(api).filter((k) => k.startsWith('20:'))).toEqual([]);
    const muted = withSamplerBlock([1234, 30]);
    muted.find(20).mode = 2;
    api = convert(muted, [samplerBlock()]);
    expect(api['8']?.inputs).toEqual({ vae: ['4', 2] });
  });

  it('flattens nested subgraphs to a:b:c ids', () => {
    const decode = new UiBuilder()
      .node(1, 'VAEDecode', { inputs: [['samples', 'LATENT'], 'vae'], outputs: ['IMAGE'] })
      .link(-10, 0, 1, 'samples')
      .link(-10, 1, 1, 'vae')
      .linkOut(1, 0, 0)
      .subgraph(
        DECODE_ID,
        'Decode',
        [
          ['samples', 'LATENT'],
          ['vae', 'VAE'],
        ],
        [['IMAGE', 'IMAGE']],
      );
    const finish = new UiBuilder()
      .node(7, DECODE_ID, { inputs: [['samples', 'LATENT'], 'vae'], outputs: ['IMAGE'] })
      .node(8, 'SaveImage', { inputs: [['images', 'IMAGE']], widgets: ['nested'] })
      .link(-10, 0, 7, 'samples')
      .link(-10, 1, 7, 'vae')
      .link(7, 0, 8, 'images')
      .subgraph(
        FINISH_ID,
        'Finish',
        [
          ['samples', 'LATENT'],
          ['vae', 'VAE'],
        ],
        [],
      );
    const b = txt2imgBuilder();
    b.nodes.splice(
      b.nodes.findIndex((n) => n.id === 8),
      2,
    );
    b.links.splice(6);
    b.node(30, FINISH_ID, { inputs: [['samples', 'LATENT'], 'vae'] })
      .link(3, 0, 30, 'samples')
      .link(4, 2, 30, 'vae');
    const api = convert(b, [decode, finish]);
    expect(api['30:7:1']).toEqual({ class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } });
    expect(api['30:8']).toEqual({
      class_type: 'SaveImage',
      inputs: { filename_prefix: 'nested', images: ['30:7:1', 0] },
    });
  });

  it('passes an input wired straight to an output through', () => {
    const pass = new UiBuilder().subgraph(DECODE_ID, 'Pass', [['image', 'IMAGE']], [['IMAGE', 'IMAGE']]);
    pass.links = [{ id: 1, origin_id: -10, origin_slot: 0, target_id: -20, target_slot: 0, type: 'IMAGE' }];
    const b = txt2imgBuilder().node(40, DECODE_ID, { inputs: [['image', 'IMAGE']], outputs: ['IMAGE'] });
    b.find(9).inputs![0]!.link = null;
    b.link(8, 0, 40, 'image').link(40, 0, 9, 'images');
    expect(convert(b, [pass])['9']?.inputs.images).toEqual(['8', 0]);
  });

  it('rejects a subgraph that contains itself', () => {
    const loop = new UiBuilder().node(1, DECODE_ID, {}).subgraph(DECODE_ID, 'Loop', [], []);
    const result = uiToApi(
      new UiBuilder().node(50, DECODE_ID, {}).workflow(1, { definitions: { subgraphs: [loop] } }),
      info,
    );
    expect(result).toEqual({
      ok: false,
      errors: [{ node: '50:1', type: DECODE_ID, reason: 'subgraph contains itself (circular definition)' }],
    });
  });
});
