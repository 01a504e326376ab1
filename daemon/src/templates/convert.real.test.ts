// Workflows saved by ComfyUI's editor over two years of frontend versions (images from ComfyUI_examples, each
// carrying its `workflow` and the `prompt` the editor sent; provenance in fixtures/real/README.md), converted
// with a real server's /object_info and compared with the saved prompt. Every difference that remains is one of
// two kinds, each explained in README.md ("Real workflows"): an input the node gained after the file was saved
// (the current default, as today's editor sends it, and a conversion warning naming it), or a widget value the
// editor of the time sent although the server ignores it (the upload button's "image", a video preview's "").
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSafeNumber, parse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import type { ComfyGraph } from '@comfygate/shared';
import { uiToApi } from './convert.js';
import { UiBuilder } from './fixtures/support.js';
import type { ObjectInfo } from './objectInfo.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'real');
const exact = (text: string) =>
  parse(text, undefined, (v) => (isSafeNumber(v) ? Number(v) : /^-?\d+$/.test(v) ? BigInt(v) : Number(v)));
const info = JSON.parse(fs.readFileSync(path.join(dir, 'object_info.json'), 'utf8')) as ObjectInfo;
const load = (name: string) =>
  exact(fs.readFileSync(path.join(dir, name), 'utf8')) as { source: string; workflow: unknown; prompt: ComfyGraph };

/** Widgets some editors sent though no node declares them (ComfyUI drops unknown inputs). */
const EDITOR_ONLY = new Set(['upload', 'choose file to upload', 'video-preview']);

/** `node.input: file → ours` for every input that differs, and nodes only one side has. */
function differences(prompt: ComfyGraph, ours: ComfyGraph): string[] {
  const show = (v: unknown) =>
    v === undefined ? '-' : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  const out: string[] = [];
  for (const id of new Set([...Object.keys(prompt), ...Object.keys(ours)])) {
    const [a, b] = [prompt[id], ours[id]];
    if (!a || !b) {
      out.push(`${id}: only in ${a ? 'the file' : 'ours'}`);
      continue;
    }
    if (a.class_type !== b.class_type) out.push(`${id}: ${a.class_type} → ${b.class_type}`);
    for (const k of new Set([...Object.keys(a.inputs), ...Object.keys(b.inputs)])) {
      if (show(a.inputs[k]) !== show(b.inputs[k])) out.push(`${id}.${k}: ${show(a.inputs[k])} → ${show(b.inputs[k])}`);
    }
  }
  return out.sort();
}

/** File → the differences that remain (frontend version in the comment; "legacy" is before 1.x, schema 0.4). */
const EXPECTED: Record<string, string[]> = {
  // legacy, 2023: a plain SDXL base + refiner graph
  'sdxl__sdxl_simple_example.json': [],
  // legacy: DualCLIPLoader has gained `device`
  'flux__flux_dev_example.json': ['11.device: - → "default"'],
  // legacy: CLIPVisionEncode has gained `crop`; the editor of the time sent LoadImage's upload button
  'unclip__unclip_example.json': ['13.crop: - → "center"', '34.choose file to upload: "image" → -'],
  // legacy, a group node saved by "Manage group node" (object-keyed `external`); DualCFGGuider gained `style`
  'edit_models__sdxl_edit_model.json': ['13.upload: "image" → -', '37:7.style: - → "regular"'],
  // 1.17.11, the same group node; `style` takes no group widget position, so the saved values stay in place
  'hidream__hidream_e1_example.json': ['37:7.style: - → "regular"'],
  // legacy: SaveImage saved with a second widget value an extension added; ignored
  'hidream__hidream_full_example.json': [],
  // 1.21.7
  'omnigen__omnigen2_example.json': ['27.style: - → "regular"'],
  // 1.19.8, 1.25.11, 1.26.11, 1.30.6: identical
  'chroma__fennec_girl_sing.json': [],
  'chroma__chroma_example.json': [],
  'qwen_image__qwen_image_edit_2509_basic_example.json': [],
  'z_image__z_image_turbo_example.json': [],
  // 1.23.4, an animated WEBP (EXIF): the editor of the time sent SaveWEBM's preview widget
  'wan22__image_to_video_wan22_5B.json': ['47.video-preview: "" → -'],
  // legacy WEBP: newer DualCLIPLoader and VAEDecodeTiled inputs
  'hunyuan_video__hunyuan_video_text_to_video.json': [
    '11.device: - → "default"',
    '73.temporal_overlap: - → 8',
    '73.temporal_size: - → 64',
  ],
  // 1.16.9 WEBP
  'wan__camera_image_to_video_wan_example.json': [],
};

describe('real workflows from ten-plus frontend versions convert to the prompt the editor saved beside them', () => {
  it('covers at least ten files and every fixture in the folder', () => {
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json') && f !== 'object_info.json')
      .sort();
    expect(files).toEqual(Object.keys(EXPECTED).sort());
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(`${file}: ${expected.length === 0 ? 'identical' : expected.length + ' explained difference(s)'}`, () => {
      const { workflow, prompt } = load(file);
      const result = uiToApi(workflow, info);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      const diffs = differences(prompt, result.graph);
      expect(diffs).toEqual(expected);
      for (const d of diffs) {
        const [, node, input] = /^([\d:]+)\.(.+?): /.exec(d)!;
        if (EDITOR_ONLY.has(input!)) continue;
        // Every other difference is an input newer than the file, and the warnings say so for that node.
        expect(result.warnings).toContainEqual({
          node,
          type: expect.any(String),
          message: expect.stringContaining(`input '${input}' is newer than the workflow`),
        });
      }
    });
  }
});

describe("widgets the editor adds itself and never sends (ComfyUI_frontend: a widget's options.serialize false)", () => {
  const ignored = (node: string, type: string, count: number) => ({
    node,
    type,
    message: expect.stringMatching(new RegExp(`the last ${count} \\(.*\\) are ignored`)),
  });

  it('the saved values past a definition are ignored with a warning: an extension value on SaveImage, a WEBP saver preview', () => {
    const full = uiToApi(load('hidream__hidream_full_example.json').workflow, info);
    expect(full.ok && full.warnings).toEqual([ignored('9', 'SaveImage', 1)]);
    const video = uiToApi(load('hunyuan_video__hunyuan_video_text_to_video.json').workflow, info);
    expect(video.ok && video.warnings).toContainEqual(ignored('75', 'SaveAnimatedWEBP', 1));
  });

  it("PreviewAny's preview widgets (markdown, text, mode) and $$comfy_animation_preview never shift a real widget", () => {
    // As the frontend saves them: PreviewAny has no widget input (`source` is a socket), so every saved value is
    // one of the widgets its extension adds in onNodeCreated; the animated savers get their preview widget last.
    const b = new UiBuilder()
      .node(1, 'EmptyLatentImage', { outputs: ['LATENT'], widgets: [512, 512, 1] })
      .node(2, 'PreviewAny', { inputs: [['source', '*']], widgets: ['# latent', 'a latent', false] })
      .node(3, 'SaveAnimatedWEBP', { inputs: [['images', 'IMAGE']], widgets: ['clip', 8, false, 90, 'slowest', null] })
      .node(4, 'SaveAnimatedPNG', { inputs: [['images', 'IMAGE']], widgets: ['anim', 12, 4, { filename: 'x.png' }] })
      .link(1, 0, 2, 'source');
    const r = uiToApi(b.workflow(), info);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.graph['2']!.inputs).toEqual({ source: ['1', 0] });
    expect(r.graph['3']!.inputs).toEqual({
      filename_prefix: 'clip',
      fps: 8,
      lossless: false,
      quality: 90,
      method: 'slowest',
    });
    expect(r.graph['4']!.inputs).toEqual({ filename_prefix: 'anim', fps: 12, compress_level: 4 });
    expect(r.warnings).toEqual([
      ignored('2', 'PreviewAny', 3),
      ignored('3', 'SaveAnimatedWEBP', 1),
      ignored('4', 'SaveAnimatedPNG', 1),
    ]);
  });

  it('an input newer than the workflow that is linked takes no default, so it has no warning', () => {
    const b = new UiBuilder()
      .node(1, 'EmptyLatentImage', { outputs: ['LATENT'], widgets: [512, 512] })
      .node(2, 'PrimitiveNode', { outputs: ['INT'], widgets: [3, 'fixed'] })
      .node(3, 'PreviewAny', { inputs: [['source', '*']] })
      .link(1, 0, 3, 'source');
    b.find(1).inputs!.push({ name: 'batch_size', type: 'INT', widget: { name: 'batch_size' }, link: null });
    const r = uiToApi(b.link(2, 0, 1, 'batch_size').workflow(), info);
    expect(r.ok && r.graph['1']!.inputs).toEqual({ width: 512, height: 512, batch_size: 3 });
    expect(r.ok && r.warnings).toEqual([]);
  });

  it('a value that is not a control mode where the definition injects one is still an error: that is misalignment, not a preview', () => {
    const b = new UiBuilder()
      .node(1, 'EmptyLatentImage', { outputs: ['LATENT'], widgets: [512, 512, 1, 'extra'] })
      .node(2, 'PreviewAny', { inputs: [['source', '*']] })
      .link(1, 0, 2, 'source');
    expect(uiToApi(b.workflow(), info).ok).toBe(true);
    const k = new UiBuilder()
      .node(1, 'RandomNoise', { outputs: ['NOISE'], widgets: [5, 20] })
      .node(2, 'PreviewAny', { inputs: [['source', '*']] })
      .link(1, 0, 2, 'source');
    const r = uiToApi(k.workflow(), info);
    expect(!r.ok && r.errors[0]?.reason).toContain("should be the control_after_generate mode of 'noise_seed'");
  });
});
