// Legacy group nodes (§5.3 item 5). Definitions are written by hand the way the editor stores them (its clipboard
// serialisation of the grouped nodes in execution order, links [origin index, origin slot, target index, target
// slot, origin id, type] with a null origin index for links from outside, `external` outputs), and every expected
// graph is worked out by hand from the frontend's GroupNodeConfig / GroupNodeHandler (src/extensions/core/groupNode.ts).
import { describe, expect, it } from 'vitest';
import { uiToApi } from './convert.js';
import { objectInfo, UiBuilder, withoutMeta } from './fixtures/support.js';
import type { GroupNodeDef } from './groupdef.js';
import type { UiInput, UiWorkflow } from './workflow.js';

const info = objectInfo();
type Api = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

const socket = (name: string, type: string, link: number | null): UiInput => ({ name, type, link });
const widget = (name: string, type: string, link: number | null = null): UiInput => ({
  name,
  type,
  widget: { name },
  link,
});
const out = (type: string, links: number[], extra: object = {}) => ({
  name: type,
  type,
  links,
  slot_index: 0,
  ...extra,
});

/** Two prompts and a KSampler, grouped in an editor before 1.16 (only sockets in `inputs`). */
const SAMPLING: GroupNodeDef = {
  nodes: [
    {
      id: 6,
      type: 'CLIPTextEncode',
      mode: 0,
      inputs: [socket('clip', 'CLIP', 3)],
      outputs: [out('CONDITIONING', [4])],
      properties: { 'Node name for S&R': 'CLIPTextEncode' },
      widgets_values: ['a red fox'],
    },
    {
      id: 7,
      type: 'CLIPTextEncode',
      mode: 0,
      inputs: [socket('clip', 'CLIP', 5)],
      outputs: [out('CONDITIONING', [6])],
      properties: { 'Node name for S&R': 'CLIPTextEncode' },
      widgets_values: ['blurry'],
    },
    {
      id: 3,
      type: 'KSampler',
      mode: 0,
      inputs: [
        socket('model', 'MODEL', 1),
        socket('positive', 'CONDITIONING', 4),
        socket('negative', 'CONDITIONING', 6),
        socket('latent_image', 'LATENT', 2),
      ],
      outputs: [out('LATENT', [7])],
      properties: { 'Node name for S&R': 'KSampler' },
      widgets_values: [156680208700286, 'randomize', 20, 8, 'euler', 'normal', 1],
    },
  ],
  links: [
    [null, 1, 0, 0, 4, 'CLIP'],
    [null, 1, 1, 0, 4, 'CLIP'],
    [null, 0, 2, 0, 4, 'MODEL'],
    [0, 0, 2, 1, 6, 'CONDITIONING'],
    [1, 0, 2, 2, 7, 'CONDITIONING'],
    [null, 0, 2, 3, 5, 'LATENT'],
  ],
  external: [[2, 0, 'LATENT']],
};

/**
 * The synthetic definition: text (widget), clip, "CLIPTextEncode text" (the second prompt's, renamed), "CLIPTextEncode
 * clip", seed (with its control), steps, cfg, sampler_name, scheduler, denoise, model, latent_image. The prompts'
 * outputs feed only the sampler and are hidden; the sampler's LATENT is output 0.
 */
const SAMPLING_VALUES = ['a castle at dusk', 'lowres, blurry', 1234, 'randomize', 30, 6.5, 'dpmpp_2m', 'karras', 0.8];

function samplingGraph(type = 'workflow>Sampling', mode = 0, widgets: unknown[] = SAMPLING_VALUES): UiBuilder {
  return new UiBuilder()
    .node(4, 'CheckpointLoaderSimple', {
      outputs: ['MODEL', 'CLIP', 'VAE'],
      widgets: ['v1-5-pruned-emaonly.safetensors'],
    })
    .node(5, 'EmptyLatentImage', { outputs: ['LATENT'], widgets: [768, 512, 1] })
    .node(10, type, {
      inputs: [
        ['clip', 'CLIP'],
        ['CLIPTextEncode clip', 'CLIP'],
        ['model', 'MODEL'],
        ['latent_image', 'LATENT'],
      ],
      outputs: ['LATENT'],
      widgets,
      mode,
    })
    .node(8, 'VAEDecode', { inputs: [['samples', 'LATENT'], 'vae'], outputs: ['IMAGE'] })
    .node(9, 'SaveImage', { inputs: [['images', 'IMAGE']], widgets: ['castle'] })
    .link(4, 1, 10, 'clip')
    .link(4, 1, 10, 'CLIPTextEncode clip')
    .link(4, 0, 10, 'model')
    .link(5, 0, 10, 'latent_image')
    .link(10, 0, 8, 'samples')
    .link(4, 2, 8, 'vae')
    .link(8, 0, 9, 'images');
}

const withGroups = (
  b: UiBuilder,
  groupNodes: Record<string, GroupNodeDef>,
  extra: Partial<UiWorkflow> = {},
): UiWorkflow => b.workflow(0.4, { extra: { groupNodes: structuredClone(groupNodes) }, ...extra });

/** What the groups below plug into: checkpoint 4, empty latent 5, prompts 6 and 7 on the checkpoint's CLIP. */
const outside = (): UiBuilder =>
  new UiBuilder()
    .node(4, 'CheckpointLoaderSimple', {
      outputs: ['MODEL', 'CLIP', 'VAE'],
      widgets: ['v1-5-pruned-emaonly.safetensors'],
    })
    .node(5, 'EmptyLatentImage', { outputs: ['LATENT'], widgets: [512, 512, 1] })
    .node(6, 'CLIPTextEncode', { inputs: ['clip'], outputs: ['CONDITIONING'], widgets: ['a red fox'] })
    .node(7, 'CLIPTextEncode', { inputs: ['clip'], outputs: ['CONDITIONING'], widgets: ['blurry'] })
    .link(4, 1, 6, 'clip')
    .link(4, 1, 7, 'clip');

function convert(workflow: UiWorkflow): Api {
  const result = uiToApi(workflow, info);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return withoutMeta(result.graph) as Api;
}

function errorsOf(workflow: UiWorkflow) {
  const result = uiToApi(workflow, info);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors;
}

const OUTSIDE = {
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 768, height: 512, batch_size: 1 } },
  '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'castle', images: ['8', 0] } },
};

describe('legacy group nodes', () => {
  it('expands a group to <instance>:<index> ids, with its widget values, links in and out, and renamed duplicates', () => {
    expect(convert(withGroups(samplingGraph(), { Sampling: SAMPLING }))).toEqual({
      ...OUTSIDE,
      '10:0': { class_type: 'CLIPTextEncode', inputs: { text: 'a castle at dusk', clip: ['4', 1] } },
      '10:1': { class_type: 'CLIPTextEncode', inputs: { text: 'lowres, blurry', clip: ['4', 1] } },
      '10:2': {
        class_type: 'KSampler',
        inputs: {
          seed: 1234,
          steps: 30,
          cfg: 6.5,
          sampler_name: 'dpmpp_2m',
          scheduler: 'karras',
          denoise: 0.8,
          model: ['4', 0],
          positive: ['10:0', 0],
          negative: ['10:1', 0],
          latent_image: ['5', 0],
        },
      },
      '8': { class_type: 'VAEDecode', inputs: { samples: ['10:2', 0], vae: ['4', 2] } },
    });
  });

  it('reads the old workflow/Name spelling the same way', () => {
    const api = convert(withGroups(samplingGraph('workflow/Sampling'), { Sampling: SAMPLING }));
    expect(api['10:2']?.inputs.seed).toBe(1234);
    expect(api['8']?.inputs.samples).toEqual(['10:2', 0]);
  });

  it('titles inner nodes with their own title or class display name', () => {
    const result = uiToApi(withGroups(samplingGraph(), { Sampling: SAMPLING }), info);
    expect(result.ok && result.graph['10:2']?._meta).toEqual({ title: 'KSampler' });
  });

  it('omits a muted instance and deletes the inputs linked to it', () => {
    const api = convert(withGroups(samplingGraph('workflow>Sampling', 2), { Sampling: SAMPLING }));
    expect(Object.keys(api).sort()).toEqual(['4', '5', '8', '9']);
    expect(api['8']?.inputs).toEqual({ vae: ['4', 2] });
  });

  it('bypasses an instance through the first of its inputs whose type equals the wanted one', () => {
    // Output 0 is LATENT; input 0 is CLIP, so the editor takes the first LATENT input, latent_image (fed by 5).
    const api = convert(withGroups(samplingGraph('workflow>Sampling', 4), { Sampling: SAMPLING }));
    expect(Object.keys(api).sort()).toEqual(['4', '5', '8', '9']);
    expect(api['8']?.inputs).toEqual({ samples: ['5', 0], vae: ['4', 2] });
  });

  it('expands every instance of a definition with its own values', () => {
    const b = samplingGraph().node(11, 'workflow>Sampling', {
      inputs: [
        ['clip', 'CLIP'],
        ['CLIPTextEncode clip', 'CLIP'],
        ['model', 'MODEL'],
        ['latent_image', 'LATENT'],
      ],
      outputs: ['LATENT'],
      widgets: ['a dog', 'cat', 7, 'fixed', 10, 5, 'euler', 'normal', 1],
    });
    b.link(4, 1, 11, 'clip')
      .link(4, 1, 11, 'CLIPTextEncode clip')
      .link(4, 0, 11, 'model')
      .link(10, 0, 11, 'latent_image');
    const api = convert(withGroups(b, { Sampling: SAMPLING }));
    expect(api['11:0']?.inputs).toEqual({ text: 'a dog', clip: ['4', 1] });
    expect(api['11:2']?.inputs).toMatchObject({ seed: 7, steps: 10, latent_image: ['10:2', 0], positive: ['11:0', 0] });
    expect(api['10:2']?.inputs.seed).toBe(1234);
  });
});

/**
 * An empty latent and a KSamplerAdvanced grouped in an editor from 1.16 on, where every primitive widget also
 * has an input socket: every widget then counts as converted and goes to the end of the synthetic definition,
 * node by node, each node's in slot order compared as strings (10, 11, 12 before 4…9).
 */
const LATENT_SAMPLER: GroupNodeDef = {
  nodes: [
    {
      id: 5,
      type: 'EmptyLatentImage',
      mode: 0,
      inputs: [widget('width', 'INT'), widget('height', 'INT'), widget('batch_size', 'INT')],
      outputs: [out('LATENT', [2])],
      widgets_values: [512, 512, 1],
    },
    {
      id: 3,
      type: 'KSamplerAdvanced',
      mode: 0,
      inputs: [
        socket('model', 'MODEL', 1),
        socket('positive', 'CONDITIONING', 4),
        socket('negative', 'CONDITIONING', 6),
        socket('latent_image', 'LATENT', 2),
        widget('add_noise', 'COMBO'),
        widget('noise_seed', 'INT'),
        widget('steps', 'INT'),
        widget('cfg', 'FLOAT'),
        widget('sampler_name', 'COMBO'),
        widget('scheduler', 'COMBO'),
        widget('start_at_step', 'INT'),
        widget('end_at_step', 'INT'),
        widget('return_with_leftover_noise', 'COMBO'),
      ],
      outputs: [out('LATENT', [7])],
      widgets_values: ['enable', 5, 'fixed', 20, 8, 'euler', 'normal', 0, 10000, 'disable'],
    },
  ],
  links: [
    [null, 0, 1, 0, 4, 'MODEL'],
    [null, 0, 1, 1, 6, 'CONDITIONING'],
    [null, 0, 1, 2, 7, 'CONDITIONING'],
    [0, 0, 1, 3, 5, 'LATENT'],
  ],
  external: [[1, 0, 'LATENT']],
};

/** Widgets: width, height, batch_size, start_at_step, end_at_step, return_with_leftover_noise, add_noise, noise_seed + control, steps, cfg, sampler_name, scheduler. */
const LATENT_SAMPLER_VALUES = [
  1024,
  768,
  2,
  0,
  30,
  'enable',
  'enable',
  777,
  'increment',
  30,
  5.5,
  'dpmpp_2m',
  'karras',
];

function latentSamplerGraph(extraInputs: UiInput[] = []): UiBuilder {
  return (
    outside()
      .node(21, 'PrimitiveInt', { outputs: ['INT'], widgets: [1152, 'fixed'] })
      // Saved with unlinked widget sockets compressed away: the three sockets, then the linked widget inputs.
      .node(20, 'workflow>Latent sampler', {
        inputs: [
          ['model', 'MODEL'],
          ['positive', 'CONDITIONING'],
          ['negative', 'CONDITIONING'],
          widget('width', 'INT'),
          ...extraInputs,
        ],
        outputs: ['LATENT'],
        widgets: LATENT_SAMPLER_VALUES,
      })
      .node(8, 'VAEDecode', { inputs: [['samples', 'LATENT'], 'vae'], outputs: ['IMAGE'] })
      .link(4, 0, 20, 'model')
      .link(6, 0, 20, 'positive')
      .link(7, 0, 20, 'negative')
      .link(21, 0, 20, 'width')
      .link(20, 0, 8, 'samples')
      .link(4, 2, 8, 'vae')
  );
}

describe('legacy group nodes from editors with widget sockets', () => {
  it('lays the values over the converted widgets in string order; a linked widget input wins over its stale value', () => {
    const api = convert(withGroups(latentSamplerGraph(), { 'Latent sampler': LATENT_SAMPLER }));
    expect(api['20:0']).toEqual({
      class_type: 'EmptyLatentImage',
      inputs: { width: ['21', 0], height: 768, batch_size: 2 },
    });
    expect(api['20:1']).toEqual({
      class_type: 'KSamplerAdvanced',
      inputs: {
        add_noise: 'enable',
        noise_seed: 777,
        steps: 30,
        cfg: 5.5,
        sampler_name: 'dpmpp_2m',
        scheduler: 'karras',
        start_at_step: 0,
        end_at_step: 30,
        return_with_leftover_noise: 'enable',
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['20:0', 0],
      },
    });
    expect(api['8']?.inputs.samples).toEqual(['20:1', 0]);
  });

  it('wires a group input to the inner slot the editor counts, even when string order makes it another input', () => {
    // noise_seed is 5th in string order, so the editor maps it to inner slot 4 + 4 = 8, which is sampler_name.
    const b = latentSamplerGraph([widget('noise_seed', 'INT')]).node(22, 'PrimitiveInt', {
      outputs: ['INT'],
      widgets: [31337, 'fixed'],
    });
    const api = convert(withGroups(b.link(22, 0, 20, 'noise_seed'), { 'Latent sampler': LATENT_SAMPLER }));
    expect(api['20:1']?.inputs).toMatchObject({ noise_seed: 777, sampler_name: ['22', 0] });
  });
});

/** A titled PrimitiveNode feeding the sampler's converted steps and a Reroute bringing the model in, before 1.16. */
const SEEDED: GroupNodeDef = {
  nodes: [
    {
      id: 11,
      type: 'PrimitiveNode',
      title: 'Steps',
      mode: 0,
      outputs: [{ name: 'INT', type: 'INT', links: [10], widget: { name: 'steps' } }],
      properties: { 'Run widget replace on values': false },
      widgets_values: [20, 'fixed'],
    },
    {
      id: 12,
      type: 'Reroute',
      mode: 0,
      inputs: [socket('', '*', 11)],
      outputs: [{ name: '', type: 'MODEL', links: [12] }],
      properties: { showOutputText: false, horizontal: false },
    },
    {
      id: 3,
      type: 'KSampler',
      mode: 0,
      inputs: [
        socket('model', 'MODEL', 12),
        socket('positive', 'CONDITIONING', 4),
        socket('negative', 'CONDITIONING', 6),
        socket('latent_image', 'LATENT', 2),
        widget('steps', 'INT', 10),
      ],
      outputs: [out('LATENT', [7])],
      widgets_values: [99, 'fixed', 20, 8, 'euler', 'normal', 1],
    },
  ],
  links: [
    [0, 0, 2, 4, 11, 'INT'],
    [null, 0, 1, 0, 4, 'MODEL'],
    [1, 0, 2, 0, 12, 'MODEL'],
    [null, 0, 2, 1, 6, 'CONDITIONING'],
    [null, 0, 2, 2, 7, 'CONDITIONING'],
    [null, 0, 2, 3, 5, 'LATENT'],
  ],
  external: [[2, 0, 'LATENT']],
};

describe('legacy group nodes holding virtual nodes', () => {
  it('writes a PrimitiveNode’s group widget ("Steps value", given a control) into its target, and passes a Reroute through', () => {
    // Synthetic widgets: "Steps value" + control (the primitive takes the steps options and always a control), then
    // seed + control, cfg, sampler_name, scheduler, denoise; inputs: MODEL (the Reroute, fed from outside), positive,
    // negative, latent_image. The sampler's linked steps input is not a group input.
    const b = outside()
      .node(30, 'workflow>Seeded', {
        inputs: [
          ['MODEL', 'MODEL'],
          ['positive', 'CONDITIONING'],
          ['negative', 'CONDITIONING'],
          ['latent_image', 'LATENT'],
        ],
        outputs: ['LATENT'],
        widgets: [12, 'increment', 4242, 'randomize', 4.5, 'euler', 'karras', 0.7],
      })
      .node(8, 'VAEDecode', { inputs: [['samples', 'LATENT'], 'vae'], outputs: ['IMAGE'] })
      .link(4, 0, 30, 'MODEL')
      .link(6, 0, 30, 'positive')
      .link(7, 0, 30, 'negative')
      .link(5, 0, 30, 'latent_image')
      .link(30, 0, 8, 'samples')
      .link(4, 2, 8, 'vae');
    const api = convert(withGroups(b, { Seeded: SEEDED }));
    expect(api['30:2']).toEqual({
      class_type: 'KSampler',
      inputs: {
        seed: 4242,
        steps: 12,
        cfg: 4.5,
        sampler_name: 'euler',
        scheduler: 'karras',
        denoise: 0.7,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    });
    expect(api['30:0'] ?? api['30:1']).toBeUndefined();
  });
});

/** Two KSamplers chained inside one group: every widget of the second is renamed "KSampler …". */
const TWO_PASS: GroupNodeDef = {
  nodes: [
    {
      id: 3,
      type: 'KSampler',
      mode: 0,
      inputs: [
        socket('model', 'MODEL', 1),
        socket('positive', 'CONDITIONING', 2),
        socket('negative', 'CONDITIONING', 3),
        socket('latent_image', 'LATENT', 4),
      ],
      outputs: [out('LATENT', [5])],
      widgets_values: [1, 'fixed', 20, 8, 'euler', 'normal', 1],
    },
    {
      id: 11,
      type: 'KSampler',
      mode: 0,
      inputs: [
        socket('model', 'MODEL', 6),
        socket('positive', 'CONDITIONING', 7),
        socket('negative', 'CONDITIONING', 8),
        socket('latent_image', 'LATENT', 5),
      ],
      outputs: [out('LATENT', [9])],
      widgets_values: [2, 'fixed', 15, 6, 'euler', 'normal', 0.5],
    },
  ],
  links: [
    [null, 0, 0, 0, 4, 'MODEL'],
    [null, 0, 0, 1, 6, 'CONDITIONING'],
    [null, 0, 0, 2, 7, 'CONDITIONING'],
    [null, 0, 0, 3, 5, 'LATENT'],
    [0, 0, 1, 3, 3, 'LATENT'],
    [null, 0, 1, 0, 4, 'MODEL'],
    [null, 0, 1, 1, 6, 'CONDITIONING'],
    [null, 0, 1, 2, 7, 'CONDITIONING'],
  ],
  external: [[1, 0, 'LATENT']],
};

describe('legacy group nodes with duplicate seeds', () => {
  it('gives a renamed seed its control even where /object_info has no control_after_generate flag', () => {
    // An older server: without the flag the editor finds seed controls by name, and the group's
    // "KSampler seed" gets one only because GroupNodeConfig adds it explicitly.
    const older = structuredClone(info);
    const seed = older.KSampler!.input!.required!.seed as [string, Record<string, unknown>];
    delete seed[1].control_after_generate;
    const b = outside()
      .node(15, 'workflow>Two pass', {
        inputs: [
          ['model', 'MODEL'],
          ['positive', 'CONDITIONING'],
          ['negative', 'CONDITIONING'],
          ['latent_image', 'LATENT'],
          ['KSampler model', 'MODEL'],
          ['KSampler positive', 'CONDITIONING'],
          ['KSampler negative', 'CONDITIONING'],
        ],
        outputs: ['LATENT'],
        widgets: [100, 'fixed', 20, 7, 'euler', 'normal', 1, 200, 'randomize', 12, 5, 'dpmpp_2m', 'karras', 0.45],
      })
      .link(4, 0, 15, 'model')
      .link(6, 0, 15, 'positive')
      .link(7, 0, 15, 'negative')
      .link(5, 0, 15, 'latent_image')
      .link(4, 0, 15, 'KSampler model')
      .link(6, 0, 15, 'KSampler positive')
      .link(7, 0, 15, 'KSampler negative');
    const result = uiToApi(withGroups(b, { 'Two pass': TWO_PASS }), older);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const api = withoutMeta(result.graph) as Api;
    const conditioning = { model: ['4', 0], positive: ['6', 0], negative: ['7', 0] };
    expect(api['15:0']?.inputs).toEqual({
      seed: 100,
      steps: 20,
      cfg: 7,
      sampler_name: 'euler',
      scheduler: 'normal',
      denoise: 1,
      ...conditioning,
      latent_image: ['5', 0],
    });
    expect(api['15:1']?.inputs).toEqual({
      seed: 200,
      steps: 12,
      cfg: 5,
      sampler_name: 'dpmpp_2m',
      scheduler: 'karras',
      denoise: 0.45,
      ...conditioning,
      latent_image: ['15:0', 0],
    });
  });
});

/** LoadImage feeding ImageScale: the upload button takes a position after the image widget, as on LoadImage itself. */
const LOAD_SCALED: GroupNodeDef = {
  nodes: [
    {
      id: 1,
      type: 'LoadImage',
      mode: 0,
      outputs: [out('IMAGE', [1]), { name: 'MASK', type: 'MASK', links: null }],
      widgets_values: ['example.png', 'image'],
    },
    {
      id: 2,
      type: 'ImageScale',
      mode: 0,
      inputs: [socket('image', 'IMAGE', 1)],
      outputs: [out('IMAGE', [2])],
      widgets_values: ['nearest-exact', 512, 512, 'disabled'],
    },
  ],
  links: [[0, 0, 1, 0, 1, 'IMAGE']],
  external: [[1, 0, 'IMAGE']],
};

describe('legacy group nodes with uploads and hidden outputs', () => {
  it('skips the upload position; outputs used only inside are hidden, unused ones stay', () => {
    // Widgets: image, upload, upscale_method, width, height, crop. Outputs: LoadImage's MASK (unused, so shown),
    // then ImageScale's IMAGE; LoadImage's IMAGE feeds only ImageScale and is hidden.
    const b = new UiBuilder()
      .node(50, 'workflow>Load scaled', {
        outputs: ['MASK', 'IMAGE'],
        widgets: ['example.png', 'image', 'bilinear', 1024, 768, 'center'],
      })
      .node(9, 'SaveImage', { inputs: [['images', 'IMAGE']], widgets: ['scaled'] })
      .link(50, 1, 9, 'images');
    expect(convert(withGroups(b, { 'Load scaled': LOAD_SCALED }))).toEqual({
      '50:0': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
      '50:1': {
        class_type: 'ImageScale',
        inputs: { upscale_method: 'bilinear', width: 1024, height: 768, crop: 'center', image: ['50:0', 0] },
      },
      '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'scaled', images: ['50:1', 0] } },
    });
  });
});

describe('legacy group node errors name the node and the reason', () => {
  it('rejects an instance whose definition is missing', () => {
    const b = samplingGraph('workflow>Upscale');
    expect(errorsOf(withGroups(b, { Sampling: SAMPLING }))).toEqual([
      {
        node: '10',
        type: 'workflow>Upscale',
        reason: "group node definition 'Upscale' is missing from extra.groupNodes",
      },
    ]);
  });

  it('rejects an inner node of a class the server lacks, by its inner id', () => {
    const def = structuredClone(SAMPLING);
    def.nodes[1]!.type = 'SetNode';
    expect(errorsOf(withGroups(samplingGraph(), { Sampling: def }))).toEqual([
      {
        node: '10:1',
        type: 'SetNode',
        reason: expect.stringContaining("unknown node type 'SetNode' inside group node 'Sampling'"),
      },
    ]);
  });

  it('rejects instance widgets that do not line up with the synthetic definition', () => {
    const shifted = ['a castle at dusk', 'lowres, blurry', 1234, 30, 6.5, 'dpmpp_2m', 'karras', 0.8];
    expect(errorsOf(withGroups(samplingGraph('workflow>Sampling', 0, shifted), { Sampling: SAMPLING }))).toEqual([
      {
        node: '10',
        type: 'workflow>Sampling',
        reason: expect.stringContaining(
          "widgets_values[3] should be the control_after_generate mode of 'seed' but is 30",
        ),
      },
    ]);
  });

  it('rejects a forceInput widget input, whose widget position depends on the editor version', () => {
    const def: GroupNodeDef = {
      nodes: [
        {
          id: 1,
          type: 'TestV3Node',
          mode: 0,
          inputs: [socket('count', 'INT', null), socket('image', 'IMAGE', null)],
          outputs: [out('IMAGE', [])],
          widgets_values: ['a', [], 'fixed'],
        },
      ],
      links: [],
      external: [],
    };
    const b = new UiBuilder().node(12, 'workflow>V3', {
      inputs: [['image', 'IMAGE']],
      outputs: ['IMAGE'],
      widgets: ['a', 'fixed', null, [], 3, 0.5, ''],
    });
    expect(errorsOf(withGroups(b, { V3: def }))).toEqual([
      {
        node: '12',
        type: 'workflow>V3',
        reason: expect.stringContaining("group input 'count' is a widget type marked forceInput"),
      },
    ]);
  });

  it('rejects a group node inside a subgraph, as the editor does', () => {
    const SUBGRAPH = '0b3c4a52-1d1e-4f6a-9a51-00000000000a';
    const inner = new UiBuilder()
      .node(1, 'workflow>Sampling', { widgets: SAMPLING_VALUES })
      .subgraph(SUBGRAPH, 'Holder', [], []);
    const b = new UiBuilder().node(40, SUBGRAPH, {});
    expect(errorsOf(withGroups(b, { Sampling: SAMPLING }, { definitions: { subgraphs: [inner] } }))).toEqual([
      {
        node: '40:1',
        type: 'workflow>Sampling',
        reason: expect.stringContaining('legacy group nodes inside subgraphs are not supported'),
      },
    ]);
  });
});

describe('malformed legacy group node definitions are errors naming the instance and the field', () => {
  /** SAMPLING with one field replaced; `edit` receives a copy typed loosely, as a saved file may hold anything. */
  const broken = (edit: (def: Record<string, any>) => void): UiWorkflow => {
    const def = structuredClone(SAMPLING) as unknown as Record<string, any>;
    edit(def);
    return withGroups(samplingGraph(), { Sampling: def as unknown as GroupNodeDef });
  };
  const reason = (field: string) =>
    expect.stringContaining(`group node definition 'Sampling' (extra.groupNodes) is malformed: ${field}`);

  it.each([
    [
      'inner inputs not an array',
      (d: Record<string, any>) => (d.nodes[2].inputs = 5),
      'nodes[2].inputs: expected an array',
    ],
    [
      'an inner input not an object',
      (d: Record<string, any>) => (d.nodes[0].inputs = ['clip']),
      'nodes[0].inputs[0]: expected an object',
    ],
    [
      'an inner input without a name',
      (d: Record<string, any>) => (d.nodes[0].inputs = [{ type: 'CLIP' }]),
      'nodes[0].inputs[0].name',
    ],
    [
      'a widget mark that is not an object',
      (d: Record<string, any>) => (d.nodes[2].inputs[0].widget = 'seed'),
      'nodes[2].inputs[0].widget',
    ],
    [
      'a slot label that is not a string',
      (d: Record<string, any>) => (d.nodes[2].inputs[0].label = 7),
      'nodes[2].inputs[0].label',
    ],
    [
      'inner outputs not an array',
      (d: Record<string, any>) => (d.nodes[2].outputs = 'LATENT'),
      'nodes[2].outputs: expected an array',
    ],
    [
      'inner widgets_values a string',
      (d: Record<string, any>) => (d.nodes[1].widgets_values = 'blurry'),
      'nodes[1].widgets_values: expected an array or an object',
    ],
    ['an inner node not an object', (d: Record<string, any>) => (d.nodes[1] = 5), 'nodes[1]: expected an object'],
    ['an inner node without a type', (d: Record<string, any>) => delete d.nodes[1].type, 'nodes[1].type'],
    ['an inner mode that is not a number', (d: Record<string, any>) => (d.nodes[0].mode = 'never'), 'nodes[0].mode'],
    ['an inner index that is not an index', (d: Record<string, any>) => (d.nodes[0].index = -1), 'nodes[0].index'],
    ['nodes not an array', (d: Record<string, any>) => (d.nodes = { 0: d.nodes[0] }), 'nodes: expected an array'],
    ['links a string', (d: Record<string, any>) => (d.links = 'x'), 'links: expected an array'],
    [
      'a link that is not an array',
      (d: Record<string, any>) => (d.links[3] = { origin: 0 }),
      'links[3]: expected an array, got an object',
    ],
    [
      'a link slot that is not a number',
      (d: Record<string, any>) => (d.links[3][1] = 'CONDITIONING'),
      'links[3][1]: expected a node index or slot number',
    ],
    [
      'a link too short',
      (d: Record<string, any>) => (d.links[3] = [0, 0]),
      'links[3][2]: expected a node index or slot number',
    ],
    [
      'a negative link index',
      (d: Record<string, any>) => (d.links[3][0] = -1),
      'links[3][0]: expected at least 0, got -1',
    ],
    ['external a number', (d: Record<string, any>) => (d.external = 5), 'external: expected an array'],
    [
      'an external entry that is not an array',
      (d: Record<string, any>) => (d.external = [2]),
      'external[0]: expected an array, got 2',
    ],
    [
      'an external slot that is not a number',
      (d: Record<string, any>) => (d.external = [[2, 'LATENT']]),
      'external[0][1]: expected a node index or slot number',
    ],
    [
      'a config name that is not a string',
      (d: Record<string, any>) => (d.config = { 2: { input: { seed: { name: 5 } } } }),
      'config.2.input.seed.name',
    ],
    [
      'a config visibility that is not a boolean',
      (d: Record<string, any>) => (d.config = { 2: { output: { 0: { visible: 'no' } } } }),
      'config.2.output.0.visible',
    ],
  ])('%s', (_, edit, field) => {
    expect(errorsOf(broken(edit))).toEqual([{ node: '10', type: 'workflow>Sampling', reason: reason(field) }]);
  });

  it('lists at most three problems', () => {
    const errors = errorsOf(broken((d) => d.nodes.forEach((n: Record<string, unknown>) => (n.inputs = 5))));
    expect(errors).toEqual([{ node: '10', type: 'workflow>Sampling', reason: reason('nodes[0].inputs') }]);
    expect(errors[0]?.reason).toContain('nodes[2].inputs');
    const many = errorsOf(broken((d) => (d.links = d.links.map(() => 5))));
    expect(many[0]?.reason).toMatch(/links\[2\]: .*; and 3 more$/);
  });

  it('calls a definition that is not an object missing, as before', () => {
    expect(errorsOf(withGroups(samplingGraph(), { Sampling: 5 as unknown as GroupNodeDef }))).toEqual([
      {
        node: '10',
        type: 'workflow>Sampling',
        reason: "group node definition 'Sampling' is missing from extra.groupNodes",
      },
    ]);
  });

  it('accepts and ignores external entries holding the node object, as the old "Manage group node" dialog saved them', () => {
    // groupNode.ts keys its external map with entry[0]; an object becomes "[object Object]" and never matches an index.
    const expected = convert(withGroups(samplingGraph(), { Sampling: SAMPLING }));
    const saved = broken((d) => (d.external = [[structuredClone(d.nodes[2]), 0, 'LATENT']]));
    const result = uiToApi(saved, info);
    expect(result.ok && withoutMeta(result.graph)).toEqual(expected);
    expect(errorsOf(broken((d) => (d.external = [['KSampler', 0, 'LATENT']])))[0]?.reason).toContain('external[0]');
  });

  it('accepts what the editor’s own types allow: null link fields (such a link joins nothing), digit-string indexes, null optional fields', () => {
    const expected = convert(withGroups(samplingGraph(), { Sampling: SAMPLING }));
    const loose = broken((d) => {
      d.links = d.links.map((l: unknown[]) => l.map((v, i) => (i < 4 && typeof v === 'number' ? String(v) : v)));
      d.links.push([0, null, 2, 1, 6, 'CONDITIONING'], [0, 0, 2, null, 6, 'CONDITIONING']);
      d.external = [['2', '0', 'LATENT']];
      d.config = null;
      d.nodes.forEach((n: Record<string, unknown>, index: number) => Object.assign(n, { index, title: null }));
    });
    const result = uiToApi(loose, info);
    expect(result.ok && withoutMeta(result.graph)).toEqual(expected);
  });
});
