// Virtual, muted and bypassed nodes (§5.3 item 4). Expected inputs are derived by hand from the rules.
import { describe, expect, it } from 'vitest';
import { uiToApi } from './convert.js';
import { txt2imgBuilder } from './fixtures/graphs.js';
import { objectInfo, UiBuilder, withoutMeta } from './fixtures/support.js';

const info = objectInfo();

function convert(b: UiBuilder): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  const result = uiToApi(b.workflow(), info);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return withoutMeta(result.graph) as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
}

const reroute = (b: UiBuilder, id: number, type: string): UiBuilder =>
  b.node(id, 'Reroute', { inputs: [{ name: '', type: '*', link: null }], outputs: [type] });

describe('virtual nodes', () => {
  it('passes links through a chain of Reroutes; a Reroute fed by nothing leaves the input out', () => {
    const b = txt2imgBuilder();
    b.find(3).inputs![0]!.link = null;
    b.links.splice(0, 1);
    reroute(reroute(b, 50, 'MODEL'), 51, 'MODEL')
      .link(4, 0, 50, '')
      .link(50, 0, 51, '')
      .link(51, 0, 3, 'model');
    reroute(b, 52, 'VAE');
    b.find(8).inputs![1]!.link = null;
    b.link(52, 0, 8, 'vae');
    const api = convert(b);
    expect(api['3']?.inputs.model).toEqual(['4', 0]);
    expect(api['8']?.inputs).toEqual({ samples: ['3', 0] });
    expect(Object.keys(api).sort()).toEqual(['3', '4', '5', '6', '7', '8', '9']);
  });

  it("writes a PrimitiveNode's value as a literal into its direct targets only", () => {
    const b = txt2imgBuilder()
      .node(60, 'PrimitiveNode', { outputs: ['INT'], widgets: [777, 'fixed'] })
      .node(61, 'PrimitiveNode', { outputs: ['STRING'], widgets: ['from the primitive'] });
    reroute(b, 62, 'STRING');
    b.find(3).inputs!.push({ name: 'seed', type: 'INT', widget: { name: 'seed' }, link: null });
    b.find(7).inputs!.push({ name: 'text', type: 'STRING', widget: { name: 'text' }, link: null });
    b.link(60, 0, 3, 'seed').link(61, 0, 62, '').link(62, 0, 7, 'text');
    const api = convert(b);
    expect(api['3']?.inputs.seed).toBe(777);
    // Through a Reroute the editor finds no widget to write to, so the target keeps its own value.
    expect(api['7']?.inputs).toEqual({ text: 'blurry', clip: ['4', 1] });
    expect(api['60'] ?? api['61'] ?? api['62']).toBeUndefined();
  });

  it('drops Note and MarkdownNote, ignores groups, and still sends nodes that feed no output', () => {
    const b = txt2imgBuilder()
      .node(70, 'Note', { widgets: ['remember the fox'] })
      .node(71, 'MarkdownNote', { widgets: ['# fox'] })
      .node(72, 'CLIPTextEncode', { inputs: ['clip'], outputs: ['CONDITIONING'], widgets: ['unused'] })
      .link(4, 1, 72, 'clip');
    const result = uiToApi(
      b.workflow(0.4, { groups: [{ title: 'Sampling', bounding: [0, 0, 10, 10] }] } as object),
      info,
    );
    const api = result.ok ? result.graph : {};
    expect(api['70'] ?? api['71']).toBeUndefined();
    expect(api['72']?.inputs).toEqual({ text: 'unused', clip: ['4', 1] });
  });
});

describe('muted and bypassed nodes', () => {
  it('omits a muted node and deletes the inputs linked to it', () => {
    const b = txt2imgBuilder();
    b.find(8).mode = 2;
    const api = convert(b);
    expect(api['8']).toBeUndefined();
    expect(api['9']).toEqual({ class_type: 'SaveImage', inputs: { filename_prefix: 'fox' } });
  });

  function withLora(mode: number): UiBuilder {
    const b = new UiBuilder()
      .node(4, 'CheckpointLoaderSimple', {
        outputs: ['MODEL', 'CLIP', 'VAE'],
        widgets: ['v1-5-pruned-emaonly.safetensors'],
      })
      .node(10, 'LoraLoader', {
        inputs: ['model', 'clip'],
        outputs: ['MODEL', 'CLIP'],
        widgets: ['detail.safetensors', 0.8, 0.6],
        mode,
      })
      .node(6, 'CLIPTextEncode', { inputs: ['clip'], outputs: ['CONDITIONING'], widgets: ['a fox'] })
      .node(3, 'KSampler', {
        inputs: ['model', ['positive', 'CONDITIONING']],
        outputs: ['LATENT'],
        widgets: [1, 'fixed', 20, 8, 'euler', 'normal', 1],
      });
    return b
      .link(4, 0, 10, 'model')
      .link(4, 1, 10, 'clip')
      .link(10, 0, 3, 'model')
      .link(10, 1, 6, 'clip')
      .link(6, 0, 3, 'positive');
  }

  it('sends an active LoraLoader between checkpoint and consumers', () => {
    const api = convert(withLora(0));
    expect(api['10']).toEqual({
      class_type: 'LoraLoader',
      inputs: {
        lora_name: 'detail.safetensors',
        strength_model: 0.8,
        strength_clip: 0.6,
        model: ['4', 0],
        clip: ['4', 1],
      },
    });
    expect(api['3']?.inputs.model).toEqual(['10', 0]);
    expect(api['6']?.inputs.clip).toEqual(['10', 1]);
  });

  it('rewires the consumers of a bypassed LoraLoader to the checkpoint (same slot index, type fits)', () => {
    const api = convert(withLora(4));
    expect(api['10']).toBeUndefined();
    expect(api['3']?.inputs.model).toEqual(['4', 0]);
    expect(api['6']?.inputs.clip).toEqual(['4', 1]);
  });

  it('prefers the input with the same index as the output over an earlier input of the same type', () => {
    const b = txt2imgBuilder()
      .node(14, 'LoadImage', { outputs: ['IMAGE', 'MASK'], widgets: ['example.png', 'image'] })
      .node(15, 'ImagePair', {
        inputs: [
          ['first', 'IMAGE'],
          ['second', 'IMAGE'],
        ],
        outputs: ['IMAGE', 'IMAGE'],
        mode: 4,
      });
    b.find(9).inputs![0]!.link = null;
    b.link(14, 0, 15, 'first').link(8, 0, 15, 'second').link(15, 1, 9, 'images');
    expect(convert(b)['9']?.inputs.images).toEqual(['8', 0]);
  });

  it('falls back to the first input of exactly the wanted type (bypassed ImageUpscaleWithModel)', () => {
    const b = txt2imgBuilder()
      .node(11, 'UpscaleModelLoader', { outputs: ['UPSCALE_MODEL'], widgets: ['4x.pth'] })
      .node(12, 'ImageUpscaleWithModel', {
        inputs: [
          ['upscale_model', 'UPSCALE_MODEL'],
          ['image', 'IMAGE'],
        ],
        outputs: ['IMAGE'],
        mode: 4,
      });
    b.find(9).inputs![0]!.link = null;
    b.link(11, 0, 12, 'upscale_model').link(8, 0, 12, 'image').link(12, 0, 9, 'images');
    expect(convert(b)['9']?.inputs.images).toEqual(['8', 0]);
  });

  it('then to the first compatible input (a union type), even on a class the server lacks', () => {
    const b = txt2imgBuilder().node(13, 'SomeCustomFilter', {
      inputs: [
        ['latent', 'LATENT'],
        ['pixels', 'IMAGE,MASK'],
      ],
      outputs: ['IMAGE'],
      mode: 4,
    });
    b.find(9).inputs![0]!.link = null;
    b.link(3, 0, 13, 'latent').link(8, 0, 13, 'pixels').link(13, 0, 9, 'images');
    expect(convert(b)['9']?.inputs.images).toEqual(['8', 0]);
  });

  it('drops the consumer input when no input of the bypassed node fits', () => {
    const b = txt2imgBuilder();
    b.find(8).mode = 4;
    expect(convert(b)['9']).toEqual({ class_type: 'SaveImage', inputs: { filename_prefix: 'fox' } });
  });
});

describe('conversion errors name the node and the reason', () => {
  const errorsOf = (workflow: unknown) => {
    const result = uiToApi(workflow, info);
    expect(result.ok).toBe(false);
    return result.ok ? [] : result.errors;
  };

  it('rejects unknown classes (frontend-only custom nodes included); group node errors are in convert.groupnode.test.ts', () => {
    const b = txt2imgBuilder().node(77, 'SetNode', { inputs: [['MODEL', 'MODEL']], widgets: ['model'] });
    const errors = errorsOf(b.workflow());
    expect(errors).toEqual([
      { node: '77', type: 'SetNode', reason: expect.stringContaining("unknown node type 'SetNode'") },
    ]);
  });

  it('rejects widgets that do not line up with /object_info (a control slot holding a value)', () => {
    const b = txt2imgBuilder();
    b.find(5).widgets_values = [512, 512, 1, 'extra']; // values past the definition are ignored (templates.real.test.ts)
    b.find(3).widgets_values = [42, 20, 8, 'euler', 'normal', 1];
    const errors = errorsOf(b.workflow());
    expect(errors.map((e) => [e.node, e.type])).toEqual([['3', 'KSampler']]);
    expect(errors[0]?.reason).toContain(
      "widgets_values[1] should be the control_after_generate mode of 'seed' but is 20",
    );
  });

  it("rejects a PrimitiveNode whose value needs the editor's %node.widget% replacements", () => {
    const b = txt2imgBuilder().node(60, 'PrimitiveNode', {
      outputs: ['STRING'],
      widgets: ['%date:yyyy%'],
      properties: { 'Run widget replace on values': true },
    });
    b.find(9).inputs!.push({
      name: 'filename_prefix',
      type: 'STRING',
      widget: { name: 'filename_prefix' },
      link: null,
    });
    expect(errorsOf(b.link(60, 0, 9, 'filename_prefix').workflow())).toEqual([
      { node: '60', type: 'PrimitiveNode', reason: expect.stringContaining('text replacements') },
    ]);
  });

  it('rejects links that do not exist and input that is not a UI workflow', () => {
    const b = txt2imgBuilder();
    b.find(8).inputs![1]!.link = 99;
    expect(errorsOf(b.workflow())).toEqual([
      { node: '8', type: 'VAEDecode', reason: "input 'vae' refers to link 99, which does not exist" },
    ]);
    expect(errorsOf({ '3': { class_type: 'KSampler', inputs: {} } })[0]?.reason).toContain('not a UI workflow');
  });
});
