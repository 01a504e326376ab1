import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { type FakeComfy, type FakeComfyOptions, startFakeComfy } from '../../fake-comfyui/src/index.js';
import { artifactPath, launchChromium } from '../../helpers/chromium.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/wait.js';
import { startHarness } from './server.js';

/** What `window.harness` offers (harness/entry.ts), as the tests call it through page.evaluate. */
export interface HarnessApi {
  reset(): void;
  addFrame(o: object, parentId?: string): string;
  resize(id: string, width: number, height: number): void;
  select(...ids: string[]): void;
  open(command?: string): Promise<void>;
  close(): void;
  fill(id: string): { type: string; scaleMode?: string; bytes?: string } | null;
  frames(): { id: string; name: string; x: number; y: number; width: number; height: number; pluginData: string }[];
  exports(): { nodeId: string; bytes: string }[];
  storage(key: string): unknown;
  relaunch(id: string): Record<string, string>;
}

/**
 * One Chromium page on the harness, a real daemon and a fake ComfyUI: the plugin as a designer runs it. `hx`
 * runs a function against the page's fake Figma (it is serialized, so it may use only its arguments).
 */
export async function pluginSession(fakeOptions: FakeComfyOptions = {}) {
  const fake: FakeComfy = await startFakeComfy({ stepMs: 2, previewMethod: 'auto', ...fakeOptions });
  const g: TestGateway = await startTestGateway({ backends: [{ name: 'local', url: fake.url }] });
  await waitFor(() => g.daemon.backends().every((b) => b.health === 'up' && b.nodes !== null), { what: 'backend up' });
  const harness = await startHarness();
  const browser: Browser = await launchChromium();
  const page: Page = await browser.newPage({ viewport: { width: 800, height: 760 } });
  page.on('pageerror', (e) => console.error('harness page error:', e));
  await page.goto(harness.url);
  const ui: FrameLocator = page.frameLocator('iframe#plugin-ui');

  const hx = <T>(fn: (h: HarnessApi, arg: never) => T, arg?: unknown): Promise<Awaited<T>> =>
    page.evaluate(
      ([src, a]) =>
        new Function('h', 'a', `return (${src})(h, a)`)((globalThis as unknown as { harness: unknown }).harness, a),
      [fn.toString(), arg] as const,
    ) as Promise<Awaited<T>>;

  return {
    fake,
    g,
    page,
    ui,
    hx,
    visible: (l: Locator) => l.waitFor({ state: 'visible', timeout: 15_000 }),
    hidden: (l: Locator) => l.waitFor({ state: 'hidden', timeout: 15_000 }),
    shot: (name: string) => page.locator('iframe#plugin-ui').screenshot({ path: artifactPath('figma', name) }),
    outputBytes: async (id: string) => Buffer.from(await (await g.fetch(`/v1/outputs/${id}`)).arrayBuffer()),
    /** Opens the plugin and pairs it, the code confirmed through the admin API as `comfygate pair <code>` does. */
    async openAndPair(onCode?: () => Promise<unknown>): Promise<void> {
      await hx((h) => h.open());
      await ui.getByLabel('Daemon URL').fill(g.url);
      await ui.getByRole('button', { name: 'Connect' }).click();
      const code = (await ui.getByLabel(/^Pairing code \d{6}$/).textContent())!.trim();
      expect(code).toMatch(/^\d{6}$/);
      await onCode?.();
      await g.client.confirmPairing(code);
      await expect
        .poll(() => ui.getByRole('status').textContent(), { timeout: 15_000 })
        .toMatch(/^Connected · 1\/1 backends up/);
    },
    /** Waits until a node has an image fill and returns it. */
    imageFill: (id: string) =>
      waitFor(
        async () => {
          const f = await hx((h, nodeId: string) => h.fill(nodeId), id);
          return f?.type === 'IMAGE' ? f : null;
        },
        { what: `an image fill on ${id}`, timeoutMs: 30_000 },
      ),
    async close(): Promise<void> {
      await browser.close();
      await harness.close();
      await g.close();
      await fake.close();
    },
  };
}
export type PluginSession = Awaited<ReturnType<typeof pluginSession>>;
