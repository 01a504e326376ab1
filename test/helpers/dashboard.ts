import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { GatewayClient } from '@comfygate/shared';
import { type FakeComfy, startFakeComfy } from '../fake-comfyui/src/index.js';
import { launchChromium } from './chromium.js';
import { startTestGateway, type TestGateway } from './gateway.js';
import { repoRoot } from './process.js';

interface BuildModule {
  buildDashboard(o?: {
    outDir?: string;
  }): Promise<{ outDir: string; files: { file: string; bytes: number; br: number; gzip: number }[] }>;
  isDashboardStale(outDir?: string): boolean;
  DASHBOARD_OUT: string;
}

export const loadDashboardBuild = (): Promise<BuildModule> =>
  import(pathToFileURL(path.join(repoRoot, 'daemon/src/dashboard/build.mjs')).href) as Promise<BuildModule>;

/** Builds the dashboard when its sources changed since the last build, so `pnpm test` works on a fresh clone. */
export async function ensureDashboardBuilt(): Promise<string> {
  const b = await loadDashboardBuild();
  if (b.isDashboardStale()) await b.buildDashboard();
  return b.DASHBOARD_OUT;
}

export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and CSP violations seen so far: a clean page has none. */
  problems: string[];
  /** Every URL the page requested (to show that no code or token travels in one, and nothing leaves loopback). */
  requests: string[];
}

export async function openDashboard(
  browser: Browser,
  opts: { width?: number; dark?: boolean } = {},
): Promise<DashboardPage> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: 860 },
    colorScheme: opts.dark ? 'dark' : 'light',
  });
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    // A signed-out page learns so from a 401 (and a read session from a 403), which Chromium logs as a failed load.
    if (m.type() === 'error' && !/status of 40[13] \(/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  return { context, page, problems, requests };
}

/**
 * A dashboard suite's world: one fake ComfyUI, a gateway in front of it and a Chromium, started once for the
 * `describe` that calls this and closed after it, with every page opened through `open` closed too.
 */
export function dashboardSuite(opts: { stepMs: number }) {
  let fake: FakeComfy | undefined;
  let g: TestGateway | undefined;
  let browser: Browser | undefined;
  const pages: DashboardPage[] = [];
  beforeAll(async () => {
    fake = await startFakeComfy({ port: 0, stepMs: opts.stepMs });
    g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const p of pages) await p.context.close().catch(() => {});
    await browser?.close();
    await g?.close();
    await fake?.close();
  });
  const gateway = () => g!;
  return {
    gateway,
    /** A signed-in page: by the printed link (the admin's), or by a link minted with `token`. */
    async open(token?: string): Promise<DashboardPage> {
      const d = await openDashboard(browser!);
      pages.push(d);
      const link = token
        ? (await new GatewayClient({ baseUrl: gateway().url, token }).loginCode()).url
        : gateway().gateway.loginLink();
      await d.page.goto(link);
      await d.page.getByRole('region', { name: 'Jobs' }).waitFor();
      return d;
    },
  };
}
