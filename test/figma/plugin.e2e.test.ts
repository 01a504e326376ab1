import crypto from 'node:crypto';
import net from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { type PluginSession, pluginSession } from './harness/session.js';

/**
 * The built plugin (code.js + ui.html) in Chromium, in a harness page that plays Figma, against a real daemon
 * and the fake ComfyUI. Everything in the panel is found by its accessible name.
 */
let s: PluginSession;
beforeAll(async () => void (s = await pluginSession()), 120_000);
afterAll(() => s?.close());
beforeEach(() => s.fake.control.setStepMs(2));

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

it("pairs, then generates into the selected frame: the frame's fill is the output's bytes, with provenance and relaunch buttons", async () => {
  await s.hx((h) => h.reset());
  const frameId = await s.hx((h) => h.addFrame({ name: 'Hero', x: 0, y: 0, width: 320, height: 200 }));
  await s.hx((h, id: string) => h.select(id), frameId);
  await s.openAndPair(() => s.shot('pairing'));
  const settings = (await s.hx((h) => h.storage('comfygate.settings'))) as { token: string; daemonUrl: string };
  expect(settings.daemonUrl).toBe(s.g.url);
  const paired = (await s.g.client.tokens()).find((t) => t.name.startsWith('paired: Figma'));
  expect(paired?.scope).toBe('submit');

  expect(await s.ui.getByLabel('Size').inputValue()).toBe('320x200');
  await s.ui.getByLabel('Prompt', { exact: true }).fill('a lighthouse at dusk');
  await s.shot('generate');
  // The template picker lists built-ins first; its other parameters are a form built from the template's schema.
  const options = await s.ui.getByLabel('Template').locator('option').allTextContents();
  expect(options.slice(0, 3)).toEqual(['img2img', 'inpaint', 'outpaint']);
  await s.ui.getByText('Template settings').click();
  expect(await s.ui.getByLabel('steps', { exact: true }).inputValue()).toBe('20');
  expect(await s.ui.getByLabel('sampler', { exact: true }).inputValue()).toBe('euler');
  await s.ui.getByLabel('steps', { exact: true }).fill('3');
  await s.ui.getByRole('button', { name: 'Generate' }).click();
  const fill = await waitFor(
    async () => {
      const f = await s.hx((h, id: string) => h.fill(id), frameId);
      return f?.type === 'IMAGE' ? f : null;
    },
    { what: 'the frame to get an image fill', timeoutMs: 30_000 },
  );

  const [job] = (await s.g.client.listJobs({ limit: 1 })).jobs;
  expect(job!.state).toBe('succeeded');
  expect(job!.metadata.params).toMatchObject({ prompt: 'a lighthouse at dusk', width: 320, height: 200, steps: 3 });
  expect(Buffer.from(fill.bytes!, 'base64').equals(await s.outputBytes(job!.outputs[0]!.id))).toBe(true);
  expect(fill.scaleMode).toBe('FILL');
  const frame = (await s.hx((h) => h.frames())).find((f) => f.id === frameId)!;
  expect(JSON.parse(frame.pluginData)).toMatchObject({
    jobId: job!.id,
    template: 'txt2img',
    prompt: 'a lighthouse at dusk',
    daemonUrl: s.g.url,
    action: 'generate',
  });
  expect(Object.keys(await s.hx((h, id: string) => h.relaunch(id), frameId)).sort()).toEqual([
    'regenerate',
    'remove-background',
    'upscale',
    'vary',
  ]);
  await s.hidden(s.ui.getByRole('button', { name: 'Cancel' }));
});

it("edits with the selection as reference: the job's input asset is the exported PNG, uploaded once for the same pixels", async () => {
  await s.hx((h) => h.close());
  await s.hx((h) => h.reset());
  const photo = { width: 256, height: 128, rgb: [0.2, 0.6, 0.3] };
  const first = await s.hx((h, o: object) => h.addFrame({ name: 'Photo', ...o }), photo);
  const twin = await s.hx((h, o: object) => h.addFrame({ name: 'Photo copy', x: 300, ...o }), photo);
  await s.hx((h, id: string) => h.select(id), first);
  await s.openAndPair();
  const uploads: string[] = [];
  s.page.on('request', (r) => void (r.method() === 'POST' && r.url().endsWith('/v1/assets') && uploads.push(r.url())));

  await s.ui.getByLabel('Action').selectOption('edit');
  await s.ui.getByLabel('Prompt', { exact: true }).fill('as a watercolour');
  for (const target of [first, twin]) {
    await s.hx((h, id: string) => h.select(id), target);
    await expect
      .poll(() => s.ui.getByText(/^Selected: /).textContent())
      .toContain(target === first ? 'Photo (' : 'Photo copy');
    await s.ui.getByRole('button', { name: 'Generate' }).click();
    await waitFor(async () => (await s.hx((h, id: string) => h.fill(id), target))?.type === 'IMAGE', {
      what: 'the edit placed',
      timeoutMs: 30_000,
    });
    await expect.poll(() => s.ui.getByRole('button', { name: 'Generate' }).isEnabled(), { timeout: 15_000 }).toBe(true);
  }
  const exported = await s.hx((h) => h.exports());
  expect(exported.map((e) => e.nodeId)).toEqual([first, twin]);
  const png = Buffer.from(exported[0]!.bytes, 'base64');
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  expect(Buffer.from(exported[1]!.bytes, 'base64').equals(png)).toBe(true); // same pixels, same bytes
  const jobs = (await s.g.client.listJobs({ limit: 5 })).jobs.filter((j) => j.metadata.template === 'img2img');
  expect(jobs.map((j) => (j.metadata.params as { image: string }).image)).toEqual([sha256(png), sha256(png)]);
  expect((jobs[0]!.metadata.params as { denoise: number }).denoise).toBe(0.6);
  expect(Buffer.from(await (await s.g.fetch(`/v1/assets/${sha256(png)}`)).arrayBuffer()).equals(png)).toBe(true);
  expect(uploads).toHaveLength(1); // the second edit found the asset with HEAD and skipped the upload
});

it('shows progress with Cancel while a job runs; Cancel cancels it on the daemon and nothing is placed', async () => {
  s.fake.control.setStepMs(250);
  await s.ui.getByLabel('Action').selectOption('generate');
  await s.ui.getByLabel('Prompt', { exact: true }).fill('a slow painting');
  await s.ui.getByRole('button', { name: 'Generate' }).click();
  const cancel = s.ui.getByRole('button', { name: 'Cancel' });
  await s.visible(cancel);
  const bar = s.ui.getByRole('progressbar', { name: 'Job progress' });
  await expect
    .poll(() => bar.evaluate((p) => (p as unknown as { value: number }).value), { timeout: 15_000 })
    .toBeGreaterThan(0);
  await s.visible(s.ui.getByRole('img', { name: 'Latest preview' }));
  await s.shot('progress');
  const before = (await s.hx((h) => h.frames())).length;
  await cancel.click();
  await s.hidden(cancel);
  const [job] = (await s.g.client.listJobs({ limit: 1 })).jobs;
  expect([job!.metadata.params && (job!.metadata.params as { prompt: string }).prompt, job!.state]).toEqual([
    'a slow painting',
    'canceled',
  ]);
  expect((await s.hx((h) => h.frames())).length).toBe(before);
});

it('a batch of 4 lands as a grid of 4 new frames, each the bytes of one output', async () => {
  await s.hx((h) => h.select());
  await s.ui.getByLabel('Prompt', { exact: true }).fill('four foxes');
  await s.ui.getByLabel('Count').fill('4');
  await s.ui.getByLabel('Seed').fill('100');
  await s.ui.getByRole('button', { name: 'Generate' }).click();
  const grid = await waitFor(
    async () => {
      const f = (await s.hx((h) => h.frames())).filter((n) => n.name === 'four foxes');
      return f.length === 4 ? f : null;
    },
    { what: '4 frames', timeoutMs: 30_000 },
  );
  const xs = [...new Set(grid.map((f) => f.x))];
  const ys = [...new Set(grid.map((f) => f.y))];
  expect([xs.length, ys.length]).toEqual([2, 2]);
  const jobs = (await s.g.client.listJobs({ limit: 4 })).jobs.reverse();
  expect(jobs.map((j) => (j.metadata.params as { seed: number }).seed)).toEqual([100, 101, 102, 103]);
  for (const [i, f] of grid.entries()) {
    const bytes = Buffer.from((await s.hx((h, id: string) => h.fill(id), f.id))!.bytes!, 'base64');
    expect(bytes.equals(await s.outputBytes(jobs[i]!.outputs[0]!.id))).toBe(true);
    expect(JSON.parse(f.pluginData).seed).toBe(100 + i);
  }
  await s.ui.getByRole('tab', { name: 'History' }).click();
  await s.visible(s.ui.getByRole('button', { name: /^Insert again: / }).first());
  // This document (reset for the edit test): the two edited frames and the 4 grid frames, one entry per node.
  await expect.poll(() => s.ui.locator('#history-file li').count(), { timeout: 15_000 }).toBe(6);
  await s.shot('history');
  // Insert again from the daemon's recent jobs: the newest (seed 103) as a new frame with its own bytes.
  const count = (await s.hx((h) => h.frames())).length;
  await s.ui
    .locator('#history-daemon')
    .getByRole('button', { name: /^Insert again: / })
    .first()
    .click();
  const added = await waitFor(
    async () => {
      const frames = await s.hx((h) => h.frames());
      return frames.length === count + 1 ? frames[frames.length - 1]! : null;
    },
    { what: 'the inserted frame' },
  );
  expect(JSON.parse(added.pluginData)).toMatchObject({ jobId: jobs[3]!.id, seed: 103 });
  const inserted = Buffer.from((await s.hx((h, id: string) => h.fill(id), added.id))!.bytes!, 'base64');
  expect(inserted.equals(await s.outputBytes(jobs[3]!.outputs[0]!.id))).toBe(true);
  await s.ui.getByRole('tab', { name: 'Generate' }).click();
});

it('reopening the plugin resumes a job still running and places it; one that finished while closed is offered', async () => {
  s.fake.control.setStepMs(150);
  const frameId = await s.hx((h) => h.addFrame({ name: 'Later', x: 0, y: 600, width: 128, height: 128 }));
  await s.hx((h, id: string) => h.select(id), frameId);
  await s.ui.getByLabel('Count').fill('1');
  await s.ui.getByLabel('Seed').fill('');
  await s.ui.getByLabel('Prompt', { exact: true }).fill('finished while closed');
  await s.ui.getByRole('button', { name: 'Generate' }).click();
  await s.visible(s.ui.getByRole('button', { name: 'Cancel' }));
  await s.hx((h) => h.close());
  await s.hx((h) => h.open());
  await s.visible(s.ui.getByRole('button', { name: 'Cancel' })); // followed again, with its progress
  s.fake.control.setStepMs(2);
  await s.imageFill(frameId);
  // The UI forgets the run in clientStorage right after the sandbox placed it (a second message): wait for it.
  await waitFor(async () => ((await s.hx((h) => h.storage('comfygate.runs'))) as unknown[]).length === 0, {
    what: 'the run forgotten',
  });

  // Closed for the whole job: on reopening it is offered rather than dropped into a frame the designer left.
  s.fake.control.setStepMs(100);
  const other = await s.hx((h) => h.addFrame({ name: 'Offered', x: 200, y: 600, width: 128, height: 128 }));
  await s.hx((h, id: string) => h.select(id), other);
  await s.ui.getByLabel('Prompt', { exact: true }).fill('placed on request');
  await s.ui.getByRole('button', { name: 'Generate' }).click();
  await s.visible(s.ui.getByRole('button', { name: 'Cancel' }));
  await s.hx((h) => h.close());
  const [job] = (await s.g.client.listJobs({ limit: 1 })).jobs;
  const done = await waitFor(
    async () => {
      const j = await s.g.client.getJob(job!.id);
      return j.state === 'succeeded' ? j : null;
    },
    { what: 'the job to finish while closed', timeoutMs: 30_000 },
  );
  await s.hx((h) => h.open());
  const place = s.ui.getByRole('button', { name: 'Place results: “placed on request”' });
  await s.visible(place);
  expect((await s.hx((h, id: string) => h.fill(id), other))!.type).toBe('SOLID');
  expect(await s.ui.getByRole('button', { name: 'Generate' }).isEnabled()).toBe(true);
  await place.click();
  const fill = await s.imageFill(other);
  expect(Buffer.from(fill.bytes!, 'base64').equals(await s.outputBytes(done.outputs[0]!.id))).toBe(true);
  expect((await s.hx((h) => h.storage('comfygate.runs'))) as unknown[]).toEqual([]);
});

it("a job the daemon refuses shows the daemon's own words, and the panel stays usable", async () => {
  const frame = await s.hx((h) => h.addFrame({ name: 'No rembg here', x: 0, y: 900, width: 64, height: 64 }));
  await s.hx((h, id: string) => h.select(id), frame);
  await s.ui.getByLabel('Action').selectOption('remove-background');
  await s.ui.getByRole('button', { name: 'Generate' }).click();
  await expect
    .poll(() => s.ui.getByRole('alert').textContent(), { timeout: 15_000 })
    .toContain('install ComfyUI-Inspyrenet-Rembg');
  expect(await s.ui.getByRole('button', { name: 'Generate' }).isEnabled()).toBe(true);
  expect((await s.hx((h, id: string) => h.fill(id), frame))!.type).toBe('SOLID');
  await s.ui.getByLabel('Action').selectOption('generate');
});

it('a style preset and a post-processing choice reach the job; the placed image is the post-processed variant', async () => {
  const json = { method: 'POST', headers: { 'content-type': 'application/json' } };
  await s.g.fetch('/v1/presets', {
    ...json,
    body: JSON.stringify({ name: 'noir', prefix: 'film noir', negative: 'colour' }),
  });
  await s.ui.getByRole('button', { name: 'Connect' }).click(); // reconnecting reloads templates and presets
  await expect
    .poll(() => s.ui.getByLabel('Style preset').locator('option').allTextContents(), { timeout: 15_000 })
    .toContain('noir');
  const frame = await s.hx((h) => h.addFrame({ name: 'Styled', x: 400, y: 900, width: 96, height: 64 }));
  await s.hx((h, id: string) => h.select(id), frame);
  await s.ui.getByLabel('Action').selectOption('generate');
  await s.ui.getByLabel('Prompt', { exact: true }).fill('a detective');
  await s.ui.getByLabel('Style preset').selectOption('noir');
  await s.ui.getByLabel('Post-processing').selectOption({ label: 'Grayscale' });
  await s.ui.getByRole('button', { name: 'Generate' }).click();
  const fill = await s.imageFill(frame);
  const [job] = (await s.g.client.listJobs({ limit: 1 })).jobs;
  expect(job!.metadata.prompt).toMatchObject({ original: 'a detective', preset: 'noir' });
  const variant = job!.outputs[0]!.variants.find((v) => v.variant === 'figma')!;
  const placed = Buffer.from(fill.bytes!, 'base64');
  expect(placed.equals(await s.outputBytes(variant.id))).toBe(true);
  expect(placed.equals(await s.outputBytes(job!.outputs[0]!.id))).toBe(false);
  const { data } = await sharp(placed).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect(data[0] === data[1] && data[1] === data[2]).toBe(true);
  await s.ui.getByLabel('Style preset').selectOption('');
  await s.ui.getByLabel('Post-processing').selectOption('none');
});

it('a revoked token asks to pair again; a daemon that is not running says how to start it', async () => {
  const paired = (await s.g.client.tokens()).filter((t) => t.name.startsWith('paired: Figma') && t.revokedAt === null);
  for (const t of paired) await s.g.client.revokeToken(t.id);
  await s.ui.getByRole('button', { name: 'Connect' }).click();
  await expect.poll(() => s.ui.getByRole('status').textContent(), { timeout: 15_000 }).toBe('Token revoked');
  await s.visible(s.ui.getByText(/Press Connect to pair again/));

  const closedPort = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
  await s.ui.getByLabel('Daemon URL').fill(`http://127.0.0.1:${closedPort}`);
  await s.ui.getByRole('button', { name: 'Connect' }).click();
  await expect.poll(() => s.ui.getByRole('status').textContent(), { timeout: 15_000 }).toBe('Daemon not running');
  await s.visible(s.ui.getByText('comfygate start', { exact: true }));
  expect(await s.ui.getByRole('button', { name: 'Generate' }).isDisabled()).toBe(true);
  await s.shot('not-running');
});
