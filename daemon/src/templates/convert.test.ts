// Widget mapping and link formats. Every expected graph is written by hand from docs/comfyui-protocol.md §5/§6.
import { describe, expect, it } from 'vitest';
import { uiToApi } from './convert.js';
import { defaultGraph, txt2imgBuilder } from './fixtures/graphs.js';
import { objectInfo, toObject, UiBuilder, withoutMeta } from './fixtures/support.js';
import type { UiLinkTuple } from './workflow.js';

const info = objectInfo();

function convert(workflow: unknown): Record<string, unknown> {
  const result = uiToApi(workflow, info);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return withoutMeta(result.graph);
}

/** §6.1 with the default graph's values; SaveImage has no widgets_values, so filename_prefix is the default. */
const DEFAULT_API = {
  '7': { class_type: 'CLIPTextEncode', inputs: { text: 'text, watermark', clip: ['4', 1] } },
  '6': {
    class_type: 'CLIPTextEncode',
    inputs: { text: 'beautiful scenery nature glass bottle landscape, , purple galaxy bottle,', clip: ['4', 1] },
  },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
  '3': {
    class_type: 'KSampler',
    inputs: {
      seed: 156680208700286,
      steps: 20,
      cfg: 8,
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
  '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
};

describe('uiToApi: the default graph', () => {
  it('converts schema 0.4 (links as arrays), skipping the old `true` control value after the seed', () => {
    expect(convert(defaultGraph())).toEqual(DEFAULT_API);
  });

  it('converts version 1 (links as objects) to the same graph', () => {
    const wf = defaultGraph();
    wf.links = (wf.links as UiLinkTuple[]).map(toObject);
    wf.version = 1;
    expect(convert(wf)).toEqual(DEFAULT_API);
  });

  it('accepts links stored as a record of objects, as subgraph definitions sometimes are', () => {
    const wf = defaultGraph();
    wf.links = Object.fromEntries((wf.links as UiLinkTuple[]).map((l) => [String(l[0]), toObject(l)]));
    expect(convert(wf)).toEqual(DEFAULT_API);
  });

  it("titles nodes with _meta.title: the node's title, else the class's display name", () => {
    const wf = defaultGraph();
    wf.nodes[0]!.title = 'Negative';
    const result = uiToApi(wf, info);
    expect(result.ok && result.graph['7']?._meta).toEqual({ title: 'Negative' });
    expect(result.ok && result.graph['4']?._meta).toEqual({ title: 'Load Checkpoint' });
  });
});

describe('uiToApi: widgets_values', () => {
  it('maps [seed, "randomize", steps, cfg, sampler, scheduler, denoise] around the injected control widget', () => {
    const api = convert(txt2imgBuilder().workflow());
    expect(api['3']).toEqual({
      class_type: 'KSampler',
      inputs: {
        seed: 42,
        steps: 25,
        cfg: 7.5,
        sampler_name: 'dpmpp_2m',
        scheduler: 'karras',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    });
    expect(api['5']).toEqual({ class_type: 'EmptyLatentImage', inputs: { width: 768, height: 512, batch_size: 2 } });
  });

  it('skips the upload widget: LoadImage ["example.png","image"], LoadImageMask ["mask.png","alpha","image"]', () => {
    const wf = new UiBuilder()
      .node(1, 'LoadImage', { outputs: ['IMAGE', 'MASK'], widgets: ['example.png', 'image'] })
      .node(2, 'LoadImageMask', { outputs: ['MASK'], widgets: ['mask.png', 'alpha', 'image'] })
      .node(3, 'PreviewImage', { inputs: [['images', 'IMAGE']] })
      .link(1, 0, 3, 'images')
      .workflow();
    expect(convert(wf)).toEqual({
      '1': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
      '2': { class_type: 'LoadImageMask', inputs: { image: 'mask.png', channel: 'alpha' } },
      '3': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
    });
  });

  it('reads object-shaped widgets_values by name, with defaults for missing names', () => {
    const wf = new UiBuilder()
      .node(5, 'EmptyLatentImage', { outputs: ['LATENT'], widgets: { width: 640, height: 384, somethingElse: true } })
      .workflow();
    expect(convert(wf)).toEqual({
      '5': { class_type: 'EmptyLatentImage', inputs: { width: 640, height: 384, batch_size: 1 } },
    });
  });

  it('fills a too-short array (an input added since the workflow was saved) with defaults', () => {
    const wf = new UiBuilder().node(5, 'EmptyLatentImage', { outputs: ['LATENT'], widgets: [640] }).workflow();
    expect(convert(wf)).toEqual({
      '5': { class_type: 'EmptyLatentImage', inputs: { width: 640, height: 512, batch_size: 1 } },
    });
  });

  it('handles V3 COMBO (control + filter widgets), multi-select arrays (wrapped), forceInput and optional widgets', () => {
    const wf = new UiBuilder()
      .node(10, 'LoadImage', { outputs: ['IMAGE', 'MASK'], widgets: ['example.png', 'image'] })
      .node(20, 'PrimitiveInt', { outputs: ['INT'], widgets: [7, 'fixed'] })
      .node(30, 'TestV3Node', {
        inputs: [
          ['count', 'INT'],
          ['image', 'IMAGE'],
        ],
        outputs: ['IMAGE'],
        widgets: ['b', 'increment', '', ['x', 'z'], 0.25, 'hello'],
      })
      .link(20, 0, 30, 'count')
      .link(10, 0, 30, 'image')
      .workflow();
    expect(convert(wf)).toEqual({
      '10': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
      '20': { class_type: 'PrimitiveInt', inputs: { value: 7 } },
      '30': {
        class_type: 'TestV3Node',
        inputs: {
          mode: 'b',
          tags: { __value__: ['x', 'z'] },
          strength: 0.25,
          note: 'hello',
          count: ['20', 0],
          image: ['10', 0],
        },
      },
    });
  });

  it('lets a link into a widget input win while the stale value keeps its position', () => {
    const b = txt2imgBuilder().node(20, 'PrimitiveInt', { outputs: ['INT'], widgets: [1234, 'fixed'] });
    b.find(3).inputs!.push({ name: 'seed', type: 'INT', widget: { name: 'seed' }, link: null });
    const api = convert(b.link(20, 0, 3, 'seed').workflow());
    expect(api['3']).toEqual({
      class_type: 'KSampler',
      inputs: {
        seed: ['20', 0],
        steps: 25,
        cfg: 7.5,
        sampler_name: 'dpmpp_2m',
        scheduler: 'karras',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    });
  });

  it('keeps stored values for widget sockets saved unlinked (frontends >= 1.16 list every widget as an input)', () => {
    const b = txt2imgBuilder();
    for (const name of ['seed', 'steps', 'cfg', 'sampler_name', 'scheduler', 'denoise']) {
      b.find(3).inputs!.push({
        name,
        type: name === 'cfg' || name === 'denoise' ? 'FLOAT' : 'INT',
        widget: { name },
        link: null,
      });
    }
    expect(convert(b.workflow())).toEqual(convert(txt2imgBuilder().workflow()));
  });
});
