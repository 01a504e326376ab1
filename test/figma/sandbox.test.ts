import sharp from 'sharp';
import { beforeAll, expect, it } from 'vitest';
import { pngSize } from './fake-figma.js';
import { ensurePluginBuilt } from './plugin-build.js';
import { runSandbox } from './sandbox-host.js';

let code = '';
beforeAll(async () => void ({ code } = await ensurePluginBuilt()), 120_000);

const RED: [number, number, number] = [1, 0, 0];
async function pixelAt(png: Uint8Array, x: number, y: number) {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * 4;
  return [data[i], data[i + 1], data[i + 2], data[i + 3]];
}
const solidPng = async (w: number, h: number, background: string) =>
  new Uint8Array(
    await sharp({ create: { width: w, height: h, channels: 4, background } })
      .png()
      .toBuffer(),
  );

const provenance = (over: Record<string, unknown> = {}) => ({
  jobId: 'j1',
  outputId: 'o1',
  template: 'txt2img',
  action: 'generate',
  params: { prompt: 'a fox', seed: 7 },
  prompt: 'a fox',
  seed: 7,
  daemonUrl: 'http://127.0.0.1:8288',
  width: 64,
  height: 32,
  createdAt: 1000,
  ...over,
});

it('opens the UI and answers ui-ready with settings from clientStorage, the selection and the relaunch command', async () => {
  const s = runSandbox(code, { command: 'vary' });
  expect(s.shown).toHaveLength(1);
  const frame = s.fig.add('FRAME', { name: 'Hero', width: 300, height: 200 });
  s.fig.add('RECTANGLE', { name: 'Mask', width: 10, height: 10 }, frame);
  s.fig.select(frame);
  await s.next('selection');
  s.send({ type: 'ui-ready' });
  const init = await s.next<{ settings: unknown; selection: unknown[]; command: string; runs: unknown[] }>('init');
  expect(init.settings).toEqual({ daemonUrl: 'http://127.0.0.1:8288', token: null });
  expect(init.command).toBe('vary');
  expect(init.selection).toEqual([
    {
      id: frame.id,
      name: 'Hero',
      type: 'FRAME',
      width: 300,
      height: 200,
      fillable: true,
      hasMask: true,
      provenance: null,
    },
  ]);

  // The token goes to clientStorage, never into the document; a reopened plugin gets it back with its saved runs.
  s.send({ type: 'save-settings', settings: { daemonUrl: 'http://localhost:8288', token: 'cg_secret' } });
  const run = {
    id: 'run-1',
    action: 'generate',
    template: 'txt2img',
    prompt: 'p',
    jobIds: ['j1'],
    targetId: null,
    daemonUrl: 'http://localhost:8288',
    createdAt: 1,
  };
  s.send({ type: 'save-runs', runs: [run] });
  await new Promise((r) => setTimeout(r, 20));
  expect(s.fig.page.findAll((n) => [...n.pluginData.values()].some((v) => v.includes('cg_secret')))).toEqual([]);
  const reopened = runSandbox(code, { storage: s.fig.storage });
  reopened.send({ type: 'ui-ready' });
  const again = await reopened.next<{ settings: unknown; runs: unknown[]; command: unknown }>('init');
  expect(again).toMatchObject({
    settings: { daemonUrl: 'http://localhost:8288', token: 'cg_secret' },
    runs: [run],
    command: null,
  });
});

it('exports the selection as PNG with its long side capped, and an inpaint mask aligned with it, leaving the document as it was', async () => {
  const s = runSandbox(code);
  const frame = s.fig.add('FRAME', { name: 'Photo', width: 400, height: 200, rgb: RED });
  s.fig.add('RECTANGLE', { name: 'mask', x: 200, y: 100, width: 200, height: 100, rgb: [0, 0, 1] }, frame);
  s.fig.select(frame);
  const before = s.fig.page.children.map((n) => n.id);

  s.send({ type: 'export-selection', request: { requestId: 'a', maxSide: 100, source: 'render', withMask: false } });
  const plain = await s.next<{
    requestId: string;
    result: { image: Uint8Array; width: number; height: number; mask: null };
  }>('exported');
  expect(plain.requestId).toBe('a');
  expect(plain.result.image).toBeInstanceOf(Uint8Array);
  expect([pngSize(plain.result.image), plain.result.width, plain.result.height]).toEqual([
    { width: 100, height: 50 },
    100,
    50,
  ]);
  expect(await pixelAt(plain.result.image, 90, 45)).toEqual([0, 0, 255, 255]); // the mask layer shows in a plain export

  s.send({ type: 'export-selection', request: { requestId: 'b', maxSide: 1000, source: 'render', withMask: true } });
  const masked = await s.next<{ result: { image: Uint8Array; mask: Uint8Array } }>('exported');
  expect(pngSize(masked.result.image)).toEqual({ width: 400, height: 200 });
  expect(pngSize(masked.result.mask)).toEqual({ width: 400, height: 200 });
  expect(await pixelAt(masked.result.image, 300, 150)).toEqual([255, 0, 0, 255]); // rendered without the mask
  expect((await pixelAt(masked.result.mask, 300, 150))[3]).toBe(255); // the mask where it was drawn
  expect((await pixelAt(masked.result.mask, 50, 50))[3]).toBe(0);
  expect(s.fig.page.children.map((n) => n.id)).toEqual(before);
  expect(frame.children.map((n) => n.name)).toEqual(['mask']);

  s.send({ type: 'export-selection', request: { requestId: 'c', maxSide: 1000, source: 'fill', withMask: false } });
  expect(await s.next('exported')).toMatchObject({ result: null, error: expect.stringContaining('no image fill') });
  s.fig.select();
  s.send({ type: 'export-selection', request: { requestId: 'd', maxSide: 1000, source: 'render', withMask: false } });
  expect(await s.next('exported')).toMatchObject({ requestId: 'd', result: null, error: 'select a layer first' });
});

it("places a result as the target's image fill (scale mode kept) with provenance and relaunch buttons; Expand reads the fill back", async () => {
  const s = runSandbox(code);
  const frame = s.fig.add('FRAME', { name: 'Card', width: 200, height: 100 });
  const old = s.fig.api.createImage as (b: Uint8Array) => { hash: string };
  frame.fills = [{ type: 'IMAGE', imageHash: old(await solidPng(8, 8, '#000')).hash, scaleMode: 'FIT' }];
  const bytes = await solidPng(64, 32, '#0f0');
  const images = [{ bytes, width: 64, height: 32, provenance: provenance() }];
  s.send({ type: 'place-results', requestId: 'p', targetId: frame.id, mode: 'fill', name: 'a fox', images });
  const placed = await s.next<{ nodeIds: string[]; error: null }>('placed');
  expect(placed).toMatchObject({ nodeIds: [frame.id], error: null });
  const fill = frame.fills[0] as { type: string; imageHash: string; scaleMode: string };
  expect([fill.type, fill.scaleMode]).toEqual(['IMAGE', 'FIT']);
  expect(Buffer.from(s.fig.imageBytes(fill.imageHash)).equals(Buffer.from(bytes))).toBe(true);
  expect(JSON.parse(frame.getPluginData('comfygate'))).toEqual(provenance());
  expect(Object.keys(frame.getRelaunchData()).sort()).toEqual(['regenerate', 'remove-background', 'upscale', 'vary']);
  expect(frame.getRelaunchData().vary).toContain('a fox');

  s.fig.select(frame);
  await s.next('selection');
  s.send({ type: 'ui-ready' });
  expect((await s.next<{ selection: { provenance: unknown }[] }>('init')).selection[0]!.provenance).toEqual(
    provenance(),
  );
  s.send({ type: 'export-selection', request: { requestId: 'e', maxSide: 1000, source: 'fill', withMask: false } });
  const filled = await s.next<{ result: { image: Uint8Array; width: number; height: number } }>('exported');
  expect([
    filled.result.width,
    filled.result.height,
    Buffer.from(filled.result.image).equals(Buffer.from(bytes)),
  ]).toEqual([64, 32, true]);
});

it('places a batch as a grid of new frames beside the target, named after the prompt, and lists them in History', async () => {
  const s = runSandbox(code);
  const target = s.fig.add('FRAME', { name: 'Hero', x: 100, y: 50, width: 200, height: 100 });
  const images = await Promise.all(
    [0, 1, 2, 3].map(async (i) => ({
      bytes: await solidPng(64, 32, ['#f00', '#0f0', '#00f', '#ff0'][i]!),
      width: 64,
      height: 32,
      provenance: provenance({ jobId: `j${i}`, createdAt: 1000 + i, seed: i }),
    })),
  );
  s.send({ type: 'place-results', requestId: 'g', targetId: target.id, mode: 'frames', name: 'a fox', images });
  const { nodeIds } = await s.next<{ nodeIds: string[] }>('placed');
  expect(nodeIds).toHaveLength(4);
  const frames = nodeIds.map((id) => s.fig.find(id)!);
  expect(frames.map((f) => f.name)).toEqual(['a fox', 'a fox', 'a fox', 'a fox']);
  // 2×2, sized like the target (200 wide, the images' aspect), starting right of it with a gap.
  expect(frames.map((f) => [f.x, f.y, f.width, f.height])).toEqual([
    [324, 50, 200, 100],
    [548, 50, 200, 100],
    [324, 174, 200, 100],
    [548, 174, 200, 100],
  ]);
  expect((s.fig.page as unknown as { selection: { id: string }[] }).selection.map((n) => n.id)).toEqual(nodeIds);
  expect(target.fills[0]!.type).toBe('SOLID'); // the target itself is left alone

  s.send({ type: 'list-history' });
  const history = await s.next<{ entries: { nodeId: string; provenance: { seed: number } }[] }>('history');
  expect(history.entries.map((e) => e.provenance.seed)).toEqual([3, 2, 1, 0]);
  expect(history.entries.map((e) => e.nodeId)).toEqual([...nodeIds].reverse());
});

it('refuses malformed messages without acting on them', async () => {
  const s = runSandbox(code);
  const warn = console.warn;
  const warned: unknown[] = [];
  console.warn = (...a: unknown[]) => void warned.push(a);
  try {
    s.send({
      type: 'place-results',
      requestId: 'x',
      targetId: null,
      mode: 'fill',
      name: 'n',
      images: [{ bytes: 'not bytes', width: 1, height: 1 }],
    });
    s.send({ type: 'delete-everything' });
    s.send('ui-ready');
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    console.warn = warn;
  }
  expect(s.posted).toEqual([]);
  expect(warned).toHaveLength(3);
  expect(s.fig.page.children).toEqual([]);
});
