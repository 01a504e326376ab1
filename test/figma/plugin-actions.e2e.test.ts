import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { type PluginSession, pluginSession } from './harness/session.js';

/**
 * The selection gestures (Figma's AI gestures, on the user's own ComfyUI) in the built plugin, in Chromium against
 * a real daemon and a fake ComfyUI that has a background-removal node. Each one's job is checked on the daemon.
 */
let s: PluginSession;
beforeAll(async () => {
  s = await pluginSession({ extraNodes: ['InspyrenetRembg'] });
  await s.hx((h) => h.reset());
}, 120_000);
afterAll(() => s?.close());

const lastJob = async () => (await s.g.client.listJobs({ limit: 1 })).jobs[0]!;
const assetPng = async (sha: string) => {
  const bytes = Buffer.from(await (await s.g.fetch(`/v1/assets/${sha}`)).arrayBuffer());
  return sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
};
const alphaAt = (img: { data: Buffer; info: { width: number } }, x: number, y: number) =>
  img.data[(y * img.info.width + x) * 4 + 3];

async function runAction(action: string, frameId: string, prompt = ''): Promise<void> {
  const before = (await s.g.client.listJobs({ limit: 1 })).jobs[0]?.id;
  await s.hx((h, id: string) => h.select(id), frameId);
  await s.ui.getByLabel('Action').selectOption(action);
  if (prompt) await s.ui.getByLabel('Prompt', { exact: true }).fill(prompt);
  await s.ui.getByRole('button', { name: 'Generate' }).click();
  await waitFor(
    async () => {
      const j = await lastJob();
      return (
        j &&
        j.id !== before &&
        j.state === 'succeeded' &&
        (await s.ui.getByRole('button', { name: 'Generate' }).isEnabled())
      );
    },
    { what: `${action} to finish and be placed`, timeoutMs: 30_000 },
  );
}

it('inpaints with the layer named mask: the image is rendered without it and the mask marks its area as transparent', async () => {
  const frame = await s.hx((h) => h.addFrame({ name: 'Room', width: 256, height: 128, rgb: [0.9, 0.8, 0.2] }));
  await s.hx(
    (h, id: string) => h.addFrame({ name: 'mask', x: 128, y: 0, width: 128, height: 64, rgb: [0, 0, 0] }, id),
    frame,
  );
  await s.hx((h, id: string) => h.select(id), frame);
  await s.openAndPair();
  await runAction('inpaint', frame, 'a window with a view');

  const job = await lastJob();
  expect(job.metadata.template).toBe('inpaint');
  const { image, mask } = job.metadata.params as { image: string; mask: string };
  const img = await assetPng(image);
  expect([img.info.width, img.info.height]).toEqual([256, 128]);
  expect([...img.data.subarray((10 * 256 + 200) * 4, (10 * 256 + 200) * 4 + 3)]).toEqual([230, 204, 51]); // the frame, not the mask
  const m = await assetPng(mask);
  expect([m.info.width, m.info.height]).toEqual([256, 128]);
  // ComfyUI's LoadImageMask (alpha) redraws where the mask image is transparent: the drawn area.
  expect([alphaAt(m, 200, 30), alphaAt(m, 50, 100)]).toEqual([0, 255]);
  const fill = await s.imageFill(frame);
  expect(Buffer.from(fill.bytes!, 'base64').equals(await s.outputBytes(job.outputs[0]!.id))).toBe(true);
});

it("expands a generated image to its frame's new size with the outpaint template, then upscales and removes its background", async () => {
  const frame = await s.hx((h) => h.addFrame({ name: 'Banner', x: 0, y: 300, width: 128, height: 128 }));
  await s.hx((h, id: string) => h.select(id), frame);
  await s.ui.getByLabel('Action').selectOption('generate');
  await s.ui.getByLabel('Size').selectOption({ label: 'Frame 128×128' });
  await runAction('generate', frame, 'a mountain');
  const original = await lastJob();
  expect([original.outputs[0]!.width, original.outputs[0]!.height]).toEqual([128, 128]);

  await s.hx((h, id: string) => h.resize(id, 256, 128), frame);
  await runAction('expand', frame, 'more mountains');
  const expand = await lastJob();
  expect(expand.metadata.template).toBe('outpaint');
  expect(expand.metadata.params).toMatchObject({ left: 64, right: 64, top: 0, bottom: 0, prompt: 'more mountains' });
  // The image expanded is the frame's own fill (the first result's pixels), not a render of the cropped frame.
  expect((expand.metadata.params as { image: string }).image).toBe(original.outputs[0]!.sha256);
  expect([expand.outputs[0]!.width, expand.outputs[0]!.height]).toEqual([256, 128]);

  await runAction('upscale', frame);
  const up = await lastJob();
  expect(up.metadata.template).toBe('upscale');
  expect([up.outputs[0]!.width, up.outputs[0]!.height]).toEqual([512, 256]); // scale 2 of the expanded image

  await runAction('remove-background', frame);
  const rb = await lastJob();
  expect([rb.metadata.template, rb.metadata.variant]).toEqual(['remove-background', 'node:InspyrenetRembg']);
  const fill = await s.imageFill(frame);
  expect(Buffer.from(fill.bytes!, 'base64').equals(await s.outputBytes(rb.outputs[0]!.id))).toBe(true);
  const data = JSON.parse((await s.hx((h) => h.frames())).find((f) => f.id === frame)!.pluginData);
  expect(data).toMatchObject({ action: 'remove-background', template: 'remove-background', jobId: rb.id });
});

it('relaunch buttons on a generated node: Vary places 4 variations beside it (new seeds, same template); Regenerate redoes it in place', async () => {
  const frame = await s.hx((h) => h.addFrame({ name: 'Logo', x: 0, y: 600, width: 128, height: 128 }));
  await s.hx((h, id: string) => h.select(id), frame);
  await s.ui.getByLabel('Action').selectOption('generate');
  await s.ui.getByLabel('Count').fill('1');
  await runAction('generate', frame, 'a fox logo');
  const source = await lastJob();
  await s.hx((h) => h.close());
  const before = (await s.hx((h) => h.frames())).length;

  await s.hx((h) => h.open('vary'));
  const grid = await waitFor(
    async () => {
      const frames = await s.hx((h) => h.frames());
      return frames.length === before + 4 ? frames.slice(before) : null;
    },
    { what: 'four variations placed', timeoutMs: 30_000 },
  );
  const jobs = (await s.g.client.listJobs({ limit: 4 })).jobs;
  expect(
    jobs.every(
      (j) => j.metadata.template === 'txt2img' && (j.metadata.params as { prompt: string }).prompt === 'a fox logo',
    ),
  ).toBe(true);
  const seeds = new Set([source, ...jobs].map((j) => String((j.metadata.params as { seed: unknown }).seed)));
  expect(seeds.size).toBe(5);
  expect(grid.map((f) => [f.name, f.x >= 128 + 24, f.y >= 600])).toEqual(Array(4).fill(['a fox logo', true, true]));
  await s.shot('variations');

  // Regenerate runs the node's own template, parameters and seed again, into the node itself.
  await s.hx((h) => h.close());
  await s.hx((h, id: string) => h.select(id), frame);
  await s.hx((h) => h.open('regenerate'));
  const again = await waitFor(
    async () => {
      const j = await lastJob();
      return !jobs.some((v) => v.id === j.id) && j.state === 'succeeded' ? j : null;
    },
    { what: 'the regenerated job', timeoutMs: 30_000 },
  );
  expect(again.metadata.params).toEqual(source.metadata.params);
  await waitFor(
    async () => JSON.parse((await s.hx((h) => h.frames())).find((f) => f.id === frame)!.pluginData).jobId === again.id,
    {
      what: 'the regenerated image placed in the node',
      timeoutMs: 30_000,
    },
  );
});
