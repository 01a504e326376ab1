import crypto from 'node:crypto';
import net from 'node:net';
import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { type FakeComfy, startFakeComfy } from '../fake-comfyui/src/index.js';
import { artifactPath, launchChromium } from '../helpers/chromium.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import { startHarness } from './harness/server.js';

/**
 * The built plugin (code.js + ui.html) in Chromium, in a harness page that plays Figma, against a real daemon
 * and the fake ComfyUI. Everything in the panel is found by its accessible name.
 */
let fake: FakeComfy;
let g: TestGateway;
let harness: Awaited<ReturnType<typeof startHarness>>;
let browser: Browser;
let page: Page;
let ui: FrameLocator;

type H = {
  reset(): void; addFrame(o: object, parentId?: string): string; select(...ids: string[]): void; open(command?: string): Promise<void>; close(): void;
  fill(id: string): { type: string; scaleMode?: string; bytes?: string } | null; frames(): { id: string; name: string; x: number; y: number; width: number; height: number; pluginData: string }[];
  exports(): { nodeId: string; bytes: string }[]; storage(key: string): unknown; relaunch(id: string): Record<string, string>;
};
const hx = <T>(fn: (h: H, arg: never) => T, arg?: unknown): Promise<T> =>
  page.evaluate(([src, a]) => new Function('h', 'a', `return (${src})(h, a)`)((globalThis as unknown as { harness: unknown }).harness, a), [fn.toString(), arg] as const) as Promise<T>;

const outputBytes = async (id: string) => Buffer.from(await (await g.fetch(`/v1/outputs/${id}`)).arrayBuffer());
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const visible = (l: Locator) => l.waitFor({ state: 'visible', timeout: 15_000 });
const hidden = (l: Locator) => l.waitFor({ state: 'hidden', timeout: 15_000 });
const shot = (name: string) => page.locator('iframe#plugin-ui').screenshot({ path: artifactPath('figma', name) });

beforeAll(async () => {
  fake = await startFakeComfy({ stepMs: 2, previewMethod: 'auto', extraNodes: ['InspyrenetRembg'] });
  g = await startTestGateway({ backends: [{ name: 'local', url: fake.url }] });
  await waitFor(() => g.daemon.backends().every((b) => b.health === 'up'), { what: 'backend up' });
  harness = await startHarness();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 800, height: 760 } });
  page.on('pageerror', (e) => console.error('harness page error:', e));
  await page.goto(harness.url);
  ui = page.frameLocator('iframe#plugin-ui');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await harness?.close();
  await g?.close();
  await fake?.close();
});

beforeEach(() => fake.control.setStepMs(2));

/** Opens the plugin and pairs it, the code confirmed through the admin API as `comfygate pair <code>` does. */
async function openAndPair(): Promise<void> {
  await hx((h) => h.open());
  await ui.getByLabel('Daemon URL').fill(g.url);
  await ui.getByRole('button', { name: 'Connect' }).click();
  const code = (await ui.getByLabel(/^Pairing code \d{6}$/).textContent())!.trim();
  expect(code).toMatch(/^\d{6}$/);
  await shot('pairing');
  await g.client.confirmPairing(code);
  await expect.poll(() => ui.getByRole('status').textContent(), { timeout: 15_000 }).toMatch(/^Connected · 1\/1 backends up/);
}

it('pairs, then generates into the selected frame: the frame\'s fill is the output\'s bytes, with provenance and relaunch buttons', async () => {
  await hx((h) => h.reset());
  const frameId = await hx((h) => h.addFrame({ name: 'Hero', x: 0, y: 0, width: 320, height: 200 }));
  await hx((h, id: string) => h.select(id), frameId);
  await openAndPair();
  const settings = (await hx((h) => h.storage('comfygate.settings'))) as { token: string; daemonUrl: string };
  expect(settings.daemonUrl).toBe(g.url);
  const paired = (await g.client.tokens()).find((t) => t.name.startsWith('paired: Figma'));
  expect(paired?.scope).toBe('submit');

  expect(await ui.getByLabel('Size').inputValue()).toBe('320x200');
  await ui.getByLabel('Prompt', { exact: true }).fill('a lighthouse at dusk');
  await shot('generate');
  await ui.getByRole('button', { name: 'Generate' }).click();
  const fill = await waitFor(async () => {
    const f = await hx((h, id: string) => h.fill(id), frameId);
    return f?.type === 'IMAGE' ? f : null;
  }, { what: 'the frame to get an image fill', timeoutMs: 30_000 });

  const [job] = (await g.client.listJobs({ limit: 1 })).jobs;
  expect(job!.state).toBe('succeeded');
  expect(job!.metadata.params).toMatchObject({ prompt: 'a lighthouse at dusk', width: 320, height: 200 });
  expect(Buffer.from(fill.bytes!, 'base64').equals(await outputBytes(job!.outputs[0]!.id))).toBe(true);
  expect(fill.scaleMode).toBe('FILL');
  const frame = (await hx((h) => h.frames())).find((f) => f.id === frameId)!;
  expect(JSON.parse(frame.pluginData)).toMatchObject({ jobId: job!.id, template: 'txt2img', prompt: 'a lighthouse at dusk', daemonUrl: g.url, action: 'generate' });
  expect(Object.keys(await hx((h, id: string) => h.relaunch(id), frameId)).sort()).toEqual(['regenerate', 'remove-background', 'upscale', 'vary']);
  await hidden(ui.getByRole('button', { name: 'Cancel' }));
});

it('edits with the selection as reference: the job\'s input asset is the exported PNG, uploaded once for the same pixels', async () => {
  await hx((h) => h.close());
  await hx((h) => h.reset());
  const photo = { width: 256, height: 128, rgb: [0.2, 0.6, 0.3] };
  const first = await hx((h, o: object) => h.addFrame({ name: 'Photo', ...o }), photo);
  const twin = await hx((h, o: object) => h.addFrame({ name: 'Photo copy', x: 300, ...o }), photo);
  await hx((h, id: string) => h.select(id), first);
  await openAndPair();
  const uploads: string[] = [];
  page.on('request', (r) => void (r.method() === 'POST' && r.url().endsWith('/v1/assets') && uploads.push(r.url())));

  await ui.getByLabel('Action').selectOption('edit');
  await ui.getByLabel('Prompt', { exact: true }).fill('as a watercolour');
  for (const target of [first, twin]) {
    await hx((h, id: string) => h.select(id), target);
    await expect.poll(() => ui.getByText(/^Selected: /).textContent()).toContain(target === first ? 'Photo (' : 'Photo copy');
    await ui.getByRole('button', { name: 'Generate' }).click();
    await waitFor(async () => (await hx((h, id: string) => h.fill(id), target))?.type === 'IMAGE', { what: 'the edit placed', timeoutMs: 30_000 });
    await expect.poll(() => ui.getByRole('button', { name: 'Generate' }).isEnabled(), { timeout: 15_000 }).toBe(true);
  }
  const exported = await hx((h) => h.exports());
  expect(exported.map((e) => e.nodeId)).toEqual([first, twin]);
  const png = Buffer.from(exported[0]!.bytes, 'base64');
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  expect(Buffer.from(exported[1]!.bytes, 'base64').equals(png)).toBe(true); // same pixels, same bytes
  const jobs = (await g.client.listJobs({ limit: 5 })).jobs.filter((j) => j.metadata.template === 'img2img');
  expect(jobs.map((j) => (j.metadata.params as { image: string }).image)).toEqual([sha256(png), sha256(png)]);
  expect((jobs[0]!.metadata.params as { denoise: number }).denoise).toBe(0.6);
  expect(Buffer.from(await (await g.fetch(`/v1/assets/${sha256(png)}`)).arrayBuffer()).equals(png)).toBe(true);
  expect(uploads).toHaveLength(1); // the second edit found the asset with HEAD and skipped the upload
});

it('shows progress with Cancel while a job runs; Cancel cancels it on the daemon and nothing is placed', async () => {
  fake.control.setStepMs(250);
  await ui.getByLabel('Action').selectOption('generate');
  await ui.getByLabel('Prompt', { exact: true }).fill('a slow painting');
  await ui.getByRole('button', { name: 'Generate' }).click();
  const cancel = ui.getByRole('button', { name: 'Cancel' });
  await visible(cancel);
  await expect.poll(() => ui.getByRole('progressbar', { name: 'Job progress' }).evaluate((p) => (p as unknown as { value: number }).value), { timeout: 15_000 }).toBeGreaterThan(0);
  await visible(ui.getByRole('img', { name: 'Latest preview' }));
  await shot('progress');
  const before = (await hx((h) => h.frames())).length;
  await cancel.click();
  await hidden(cancel);
  const [job] = (await g.client.listJobs({ limit: 1 })).jobs;
  expect([job!.metadata.params && (job!.metadata.params as { prompt: string }).prompt, job!.state]).toEqual(['a slow painting', 'canceled']);
  expect((await hx((h) => h.frames())).length).toBe(before);
});

it('a batch of 4 lands as a grid of 4 new frames, each the bytes of one output', async () => {
  await hx((h) => h.select());
  await ui.getByLabel('Prompt', { exact: true }).fill('four foxes');
  await ui.getByLabel('Count').fill('4');
  await ui.getByLabel('Seed').fill('100');
  await ui.getByRole('button', { name: 'Generate' }).click();
  const grid = await waitFor(async () => {
    const f = (await hx((h) => h.frames())).filter((n) => n.name === 'four foxes');
    return f.length === 4 ? f : null;
  }, { what: '4 frames', timeoutMs: 30_000 });
  const xs = [...new Set(grid.map((f) => f.x))];
  const ys = [...new Set(grid.map((f) => f.y))];
  expect([xs.length, ys.length]).toEqual([2, 2]);
  const jobs = (await g.client.listJobs({ limit: 4 })).jobs.reverse();
  expect(jobs.map((j) => (j.metadata.params as { seed: number }).seed)).toEqual([100, 101, 102, 103]);
  for (const [i, f] of grid.entries()) {
    const bytes = Buffer.from((await hx((h, id: string) => h.fill(id), f.id))!.bytes!, 'base64');
    expect(bytes.equals(await outputBytes(jobs[i]!.outputs[0]!.id))).toBe(true);
    expect(JSON.parse(f.pluginData).seed).toBe(100 + i);
  }
  await ui.getByRole('tab', { name: 'History' }).click();
  await visible(ui.getByRole('button', { name: /^Insert again: / }).first());
  // This document (reset for the edit test): the two edited frames and the 4 grid frames, one entry per node.
  await expect.poll(() => ui.locator('#history-file li').count(), { timeout: 15_000 }).toBe(6);
  await shot('history');
  await ui.getByRole('tab', { name: 'Generate' }).click();
});

it('reopening the plugin resumes a job still running and places its result', async () => {
  fake.control.setStepMs(150);
  const frameId = await hx((h) => h.addFrame({ name: 'Later', x: 0, y: 600, width: 128, height: 128 }));
  await hx((h, id: string) => h.select(id), frameId);
  await ui.getByLabel('Count').fill('1');
  await ui.getByLabel('Seed').fill('');
  await ui.getByLabel('Prompt', { exact: true }).fill('finished while closed');
  await ui.getByRole('button', { name: 'Generate' }).click();
  await visible(ui.getByRole('button', { name: 'Cancel' }));
  await hx((h) => h.close());
  await hx((h) => h.open());
  fake.control.setStepMs(2);
  await waitFor(async () => (await hx((h, id: string) => h.fill(id), frameId))?.type === 'IMAGE', { what: 'the resumed result placed', timeoutMs: 30_000 });
  expect((await hx((h) => h.storage('comfygate.runs'))) as unknown[]).toEqual([]);
});

it('a revoked token asks to pair again; a daemon that is not running says how to start it', async () => {
  const paired = (await g.client.tokens()).filter((t) => t.name.startsWith('paired: Figma') && t.revokedAt === null);
  for (const t of paired) await g.client.revokeToken(t.id);
  await ui.getByRole('button', { name: 'Connect' }).click();
  await expect.poll(() => ui.getByRole('status').textContent(), { timeout: 15_000 }).toBe('Token revoked');
  await visible(ui.getByText(/Press Connect to pair again/));

  const closedPort = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
  await ui.getByLabel('Daemon URL').fill(`http://127.0.0.1:${closedPort}`);
  await ui.getByRole('button', { name: 'Connect' }).click();
  await expect.poll(() => ui.getByRole('status').textContent(), { timeout: 15_000 }).toBe('Daemon not running');
  await visible(ui.getByText('comfygate start', { exact: true }));
  expect(await ui.getByRole('button', { name: 'Generate' }).isDisabled()).toBe(true);
  await shot('not-running');
});
