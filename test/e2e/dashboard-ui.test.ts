import fs from 'node:fs';
import crypto from 'node:crypto';
import net from 'node:net';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '@comfygate/shared';
import { startFakeComfy, type FakeComfy } from '../fake-comfyui/src/index.js';
import { artifactPath, launchChromium } from '../helpers/chromium.js';
import { openDashboard, type DashboardPage } from '../helpers/dashboard.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';

/** The dashboard as a person uses it: the built bundle in Chromium, a real daemon, two fake ComfyUI backends. */
describe('dashboard in Chromium', () => {
  let a: FakeComfy;
  let b: FakeComfy;
  let g: TestGateway;
  let browser: Browser;
  const pages: DashboardPage[] = [];

  beforeAll(async () => {
    [a, b] = (await Promise.all([1, 2].map(() => startFakeComfy({ port: 0, stepMs: 60, previewMethod: 'auto' })))) as [
      FakeComfy,
      FakeComfy,
    ];
    g = await startTestGateway({
      backends: [
        { name: 'gpu-a', url: a.url },
        { name: 'gpu-b', url: b.url },
      ],
    });
    await waitFor(() => g.daemon.backends().every((x) => x.health === 'up'), { what: 'both backends up' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const p of pages) await p.context.close().catch(() => {});
    await browser?.close();
    await g?.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  /** A signed-in page (admin unless a link for another token is given). */
  async function signedIn(
    link = g.gateway.loginLink(),
    opts: { width?: number; dark?: boolean } = {},
  ): Promise<DashboardPage> {
    const d = await openDashboard(browser, opts);
    pages.push(d);
    await d.page.goto(link);
    await d.page.getByRole('navigation', { name: 'Sections' }).waitFor();
    return d;
  }
  const jobRow = (page: Page, text: string) =>
    page.getByRole('region', { name: 'Jobs' }).getByRole('row').filter({ hasText: text });

  it('signs in with the printed one-time link: the code leaves the address bar, is never in a request line, and works once', async () => {
    const link = g.gateway.loginLink();
    const code = new URL(link).hash.split('=')[1]!;
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#login=[A-Za-z0-9_-]{20,}$/);
    const d = await signedIn(link);
    await expect.poll(() => d.page.url()).not.toContain(code);
    await d.page.getByRole('region', { name: 'Jobs' }).waitFor();
    expect(d.requests.filter((u) => u.includes(code))).toEqual([]);
    expect(d.requests.every((u) => u.startsWith(g.url))).toBe(true); // nothing fetched from elsewhere
    const [cookie] = await d.context.cookies();
    expect(cookie).toMatchObject({ name: 'comfygate_session', httpOnly: true, sameSite: 'Strict' });
    expect(cookie!.value).not.toBe(g.token);

    // The same link again: refused, and the page offers the token field instead.
    const again = await openDashboard(browser);
    pages.push(again);
    await again.page.goto(link);
    await again.page.getByLabel('Token').waitFor();
    await expect.poll(() => again.page.getByRole('alert').textContent()).toMatch(/already used or has expired/);
    expect(d.problems).toEqual([]);
  });

  it('signs in by pasting a token, and signing out ends the session for good', async () => {
    const d = await openDashboard(browser);
    pages.push(d);
    await d.page.goto(g.url + '/');
    await d.page.getByLabel('Token').fill(g.token);
    await d.page.getByRole('button', { name: 'Sign in' }).click();
    await d.page.getByRole('region', { name: 'Jobs' }).waitFor();
    const [cookie] = await d.context.cookies();
    await d.page.getByRole('button', { name: 'Sign out' }).click();
    await d.page.getByLabel('Token').waitFor();
    // Signed out elsewhere (the token revoked): an open page notices and asks to sign in again.
    const t = await g.client.createToken({ name: 'to revoke', scope: 'read' });
    const other = await signedIn((await new GatewayClient({ baseUrl: g.url, token: t.token }).loginCode()).url);
    await g.client.revokeToken(t.id);
    // A page change checks the session (the event stream may also have been refused first: either way, same end).
    await other.page.evaluate(() => void (location.hash = '#/results'));
    await other.page.getByText('Your session ended; sign in again.').waitFor();
    // The old cookie, replayed as the dashboard would send it, no longer opens anything.
    const replay = await fetch(`${g.url}/v1/session`, {
      headers: { cookie: `comfygate_session=${cookie!.value}`, 'sec-fetch-site': 'same-origin' },
    });
    expect(replay.status).toBe(401);
    expect(d.problems).toEqual([]);
  });

  it('generates from the form with a dropped reference image, shows progress reaching 100 % live, then opens the result', async () => {
    const d = await signedIn();
    const { page } = d;
    await page.getByRole('link', { name: 'Generate' }).click();
    await page.getByLabel('Template').selectOption('img2img');
    await page.getByText('Drop an image here').waitFor();
    const ref = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c05020' } })
      .png()
      .toBuffer();
    const dt = await page.evaluateHandle((b64) => {
      const t = new DataTransfer();
      t.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'ref.png', { type: 'image/png' }));
      return t;
    }, ref.toString('base64'));
    await page.dispatchEvent('[data-testid=dropzone]', 'drop', { dataTransfer: dt });
    await page.getByText('Reference: ref.png').waitFor();
    await page.getByRole('textbox', { name: 'Prompt' }).fill('a lighthouse at dusk, from the dashboard');
    // Every value the progress bar takes, recorded in the page, to show it moved live and not only at the end.
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { seen: string[] }).seen = []);
      new MutationObserver((ms) => {
        for (const m of ms) {
          const t = m.target as Element;
          if (t.getAttribute?.('role') === 'progressbar') seen.push(t.getAttribute('aria-valuenow') ?? '');
        }
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow'] });
    });
    await page.getByRole('button', { name: 'Generate' }).click();
    const result = page.getByRole('region', { name: 'Result' });
    await result.getByRole('progressbar').and(page.locator('[aria-valuenow="100"]')).waitFor({ timeout: 30_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen.map(Number));
    expect(seen.some((v) => v > 0 && v < 100)).toBe(true);
    expect(seen.at(-1)).toBe(100);
    const img = result.getByRole('img', { name: 'a lighthouse at dusk, from the dashboard' });
    await img.waitFor();
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBeGreaterThan(0);
    await page.screenshot({ path: artifactPath('dashboard', 'generate') });

    // The job took the dropped image as its reference, uploaded as an asset.
    const jobId = (await result.getByRole('link', { name: 'Open details' }).getAttribute('href'))!.split('/').pop()!;
    const job = await g.client.getJob(jobId);
    expect(job.state).toBe('succeeded');
    expect((job.metadata.params as Record<string, unknown>).image).toBe(
      crypto.createHash('sha256').update(ref).digest('hex'),
    );

    await result.getByRole('link', { name: 'Open details' }).click();
    await page.getByRole('heading', { name: 'a lighthouse at dusk, from the dashboard' }).waitFor();
    const big = page.locator('img.big');
    await expect.poll(() => big.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBeGreaterThan(0);
    await page.getByRole('link', { name: 'Download' }).waitFor();
    await page
      .getByRole('term')
      .filter({ hasText: /^Seed$/ })
      .waitFor();
    await page.screenshot({ path: artifactPath('dashboard', 'result') });
    expect(d.problems).toEqual([]);
  });

  it("shows a running job's latest preview and progress live in its queue row", async () => {
    const d = await signedIn();
    const { page } = d;
    const job = await g.client.createJob({ template: 'txt2img', params: { prompt: 'a slow preview', steps: 40 } });
    const row = jobRow(page, 'a slow preview');
    const preview = row.getByRole('img', { name: 'latest preview' });
    await preview.waitFor({ timeout: 20_000 });
    await expect
      .poll(() => preview.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth))
      .toBeGreaterThan(0);
    const mid = Number(await row.getByRole('progressbar').getAttribute('aria-valuenow'));
    expect(mid).toBeLessThan(100);
    await row.getByText('succeeded', { exact: true }).waitFor({ timeout: 30_000 });
    expect(await row.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    expect((await g.client.getJob(job.id)).state).toBe('succeeded');
    expect(d.problems).toEqual([]);
  });

  it("changes a queued job's priority and cancels it from its row", async () => {
    const d = await signedIn();
    for (const name of ['gpu-a', 'gpu-b']) await g.client.drainBackend(name, true);
    try {
      const job = await g.client.createJob({ template: 'txt2img', params: { prompt: 'a job nobody runs', steps: 2 } });
      const row = jobRow(d.page, 'a job nobody runs');
      await row.getByText('queued', { exact: true }).waitFor();
      await row.getByText('every backend is draining').waitFor();
      await d.page.screenshot({ path: artifactPath('dashboard', 'queue') });
      await row.getByRole('spinbutton', { name: 'Priority' }).fill('7');
      await row.getByRole('spinbutton', { name: 'Priority' }).press('Enter');
      await expect.poll(async () => (await g.client.getJob(job.id)).priority).toBe(7);
      await row.getByRole('button', { name: 'Cancel' }).click();
      await row.getByText('canceled', { exact: true }).waitFor();
      expect((await g.client.getJob(job.id)).state).toBe('canceled');
    } finally {
      for (const name of ['gpu-a', 'gpu-b']) await g.client.drainBackend(name, false);
    }
    expect(d.problems).toEqual([]);
  });

  it('drains a backend from the Backends page, and the next job goes to the other', async () => {
    const d = await signedIn();
    const { page } = d;
    await page.getByRole('link', { name: 'Backends' }).click();
    const cardA = page.getByRole('region', { name: 'Backends' }).getByRole('article', { name: 'Backend gpu-a' });
    await cardA.getByText('up', { exact: true }).waitFor();
    await cardA.getByRole('button', { name: 'Drain' }).click();
    await cardA.getByText('up, draining').waitFor();
    await expect.poll(() => cardA.getByRole('button', { name: 'Drain' }).getAttribute('aria-pressed')).toBe('true');
    expect(g.daemon.backends().find((x) => x.name === 'gpu-a')!.draining).toBe(true);
    await cardA.getByText('Models per folder').click();
    await cardA
      .getByRole('term')
      .filter({ hasText: /^checkpoints$/ })
      .waitFor();
    await cardA
      .getByText(/^\d+: .*\.safetensors/)
      .first()
      .waitFor();
    await page.screenshot({ path: artifactPath('dashboard', 'backends') });
    try {
      const make = (i: number) =>
        g.client.createJob({ template: 'txt2img', params: { prompt: `after drain ${i}`, steps: 2 } });
      const jobs = await Promise.all([1, 2].map(make));
      const ids = jobs.map((j) => j.id);
      for (const id of ids) expect((await g.client.waitForJob(id)).backend).toBe('gpu-b');
      await page.getByRole('link', { name: 'Queue' }).click();
      await jobRow(page, 'after drain 1').getByRole('cell', { name: 'gpu-b', exact: true }).waitFor();
    } finally {
      await cardA.page().getByRole('link', { name: 'Backends' }).click();
      await cardA.getByRole('button', { name: 'Drain' }).click();
      await expect.poll(() => g.daemon.backends().find((x) => x.name === 'gpu-a')!.draining).toBe(false);
    }
    expect(d.problems).toEqual([]);
  });

  it('adds a backend that is not there, shows why it fails, and removes it', async () => {
    const d = await signedIn();
    const { page } = d;
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await page.getByRole('link', { name: 'Backends' }).click();
    await page.getByLabel('Name').fill('gpu-gone');
    await page.getByLabel('URL').fill(`http://127.0.0.1:${port}`);
    await page.getByRole('button', { name: 'Add backend' }).click();
    const card = page.getByRole('article', { name: 'Backend gpu-gone' });
    await card.getByText('down', { exact: true }).waitFor();
    await card.getByText(/probe failed: .*retried with backoff/).waitFor();
    page.once('dialog', (dlg) => void dlg.accept());
    await card.getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => g.daemon.backends().map((x) => x.name)).toEqual(['gpu-a', 'gpu-b']);
    await expect.poll(() => card.count()).toBe(0);
    expect(d.problems).toEqual([]);
  });

  it('approves a pairing started by a client, which then collects its own token; denies another', async () => {
    const plugin = new GatewayClient({ baseUrl: g.url });
    const started = await plugin.startPairing('Figma test');
    const other = await plugin.startPairing('Stranger');
    const d = await signedIn();
    const { page } = d;
    await page.getByRole('link', { name: 'Admin' }).click();
    const req = page
      .getByRole('region', { name: 'Pairing requests' })
      .getByRole('listitem')
      .filter({ hasText: started.code });
    await req.getByText('Figma test').waitFor();
    await req.getByText(/from no origin .* · asked/).waitFor();
    await page.screenshot({ path: artifactPath('dashboard', 'admin') });
    await req.getByRole('button', { name: 'Approve' }).click();
    const status = await waitFor(
      async () => {
        const s = await plugin.pairingStatus(started.pairingId);
        return s.state === 'confirmed' ? s : null;
      },
      { what: 'the pairing to be confirmed' },
    );
    const paired = new GatewayClient({ baseUrl: g.url, token: status.token });
    expect(Array.isArray((await paired.listJobs()).jobs)).toBe(true);

    const otherReq = page
      .getByRole('region', { name: 'Pairing requests' })
      .getByRole('listitem')
      .filter({ hasText: other.code });
    await otherReq.getByRole('button', { name: 'Deny' }).click();
    await expect.poll(async () => (await plugin.pairingStatus(other.pairingId)).state).toBe('expired');
    expect(d.problems).toEqual([]);
  });

  it('searches the history by prompt and template', async () => {
    const ids = await Promise.all(
      ['a red fox in snow', 'a blue whale at sea'].map((prompt) =>
        g.client.createJob({ template: 'txt2img', params: { prompt, steps: 2 } }).then((j) => j.id),
      ),
    );
    for (const id of ids) await g.client.waitForJob(id);
    const d = await signedIn();
    const { page } = d;
    await page.getByRole('link', { name: 'Results' }).click();
    const gallery = page.getByRole('list', { name: 'Results' });
    await gallery.getByRole('img', { name: 'a red fox in snow' }).waitFor();
    await gallery.getByRole('img', { name: 'a blue whale at sea' }).waitFor();
    await page.getByRole('searchbox', { name: 'Search prompts' }).fill('fox');
    await expect.poll(() => gallery.getByRole('img').count()).toBe(1);
    await gallery.getByRole('img', { name: 'a red fox in snow' }).waitFor();
    await page.getByRole('searchbox', { name: 'Search prompts' }).fill('');
    await page.getByLabel('Template').selectOption('img2img');
    await expect.poll(async () => (await gallery.getByRole('img').all()).length).toBeGreaterThan(0);
    expect(await gallery.getByRole('img', { name: 'a red fox in snow' }).count()).toBe(0);
    await page.getByLabel('Template').selectOption('');
    await page.screenshot({ path: artifactPath('dashboard', 'results') });
    expect(d.problems).toEqual([]);
  });

  it('runs a batch of variations from the form, follows it in the queue and downloads its zip', async () => {
    const d = await signedIn();
    const { page } = d;
    await page.getByRole('link', { name: 'Generate' }).click();
    await page.getByLabel('Template').selectOption('txt2img');
    await page.getByRole('textbox', { name: 'Prompt' }).fill('three owls');
    await page.getByLabel('Count').fill('3');
    await page.getByLabel('Seed mode').selectOption('increment');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('heading', { name: 'Batch of 3' }).waitFor();
    await page.getByRole('link', { name: 'See the batch in the queue' }).click({ timeout: 30_000 });
    const batch = page
      .getByRole('region', { name: 'Batches' })
      .getByRole('listitem')
      .filter({ hasText: 'txt2img: three owls' });
    await batch.getByText('3/3 done').waitFor();
    await expect.poll(() => batch.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    const href = (await batch.getByRole('link', { name: 'Download zip' }).getAttribute('href'))!;
    const zip = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return {
        status: r.status,
        type: r.headers.get('content-type'),
        magic: [...new Uint8Array(await r.arrayBuffer()).slice(0, 2)],
      };
    }, href);
    expect(zip).toEqual({ status: 200, type: 'application/zip', magic: [0x50, 0x4b] });
    const { jobIds } = await g.client.getBatch(href.split('/')[3]!);
    const seeds = await Promise.all(
      jobIds.map(async (id) => Number(((await g.client.getJob(id)).metadata.params as { seed: unknown }).seed)),
    );
    expect(seeds.sort((x, y) => x - y).map((v) => v - seeds[0]!)).toEqual([0, 1, 2]);
    expect(d.problems).toEqual([]);
  });

  it('uses a result as the reference of a new job, and makes tokens and a dry-run gc from Admin', async () => {
    const d = await signedIn();
    const { page } = d;
    const done = (await g.client.listJobs({ state: 'succeeded', limit: 1 })).jobs[0]!;
    await page.goto(`${g.url}/#/results/${done.id}`);
    await page.getByRole('button', { name: 'Use as reference' }).click();
    await page.getByText(`Reference: ${done.outputs[0]!.filename}`).waitFor();
    await expect.poll(() => page.getByLabel('Template').inputValue()).toBe('img2img');

    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByLabel('Token name').fill('ci robot');
    await page.getByLabel('Scope').selectOption('read');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.locator('code.secret').textContent();
    expect((await new GatewayClient({ baseUrl: g.url, token: secret! }).session()).scope).toBe('read');
    const row = page.getByRole('region', { name: 'Tokens' }).getByRole('row').filter({ hasText: 'ci robot' });
    page.once('dialog', (dlg) => void dlg.accept());
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByText(/^revoked/).waitFor();
    await expect(new GatewayClient({ baseUrl: g.url, token: secret! }).session()).rejects.toMatchObject({
      status: 401,
    });
    await page.getByRole('button', { name: 'Dry-run gc' }).click();
    await page.getByText(/^A retention pass would remove \d+ jobs/).waitFor();
    const retention = page.getByRole('region', { name: 'Retention' });
    await retention
      .getByRole('definition')
      .filter({ hasText: /^10 min$/ })
      .waitFor(); // the default grace
    await retention
      .getByRole('definition')
      .filter({ hasText: /^7 days, 1000 per webhook$/ })
      .waitFor();

    await page.getByRole('link', { name: 'Stats' }).click();
    await page.getByRole('img', { name: /^Jobs per hour, last 24 hours: \d+ in all$/ }).waitFor();
    for (const chart of ['Time per template (mean run time)', 'GPU busy, last hour'])
      await page.getByRole('img', { name: chart }).waitFor();
    await page.screenshot({ path: artifactPath('dashboard', 'stats') });
    expect(d.problems).toEqual([]);
  });

  it('a read-scope session sees no admin page and cannot act', async () => {
    const read = await g.client.createToken({ name: 'viewer', scope: 'read' });
    const link = (await new GatewayClient({ baseUrl: g.url, token: read.token }).loginCode()).url;
    const d = await signedIn(link);
    const { page } = d;
    await page.getByText('viewer · read').waitFor();
    expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await page.goto(`${g.url}/#/admin`);
    await page.getByText("This page needs an admin token; you are signed in with scope 'read'.").waitFor();
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    // The API says the same to the session's own requests.
    const status = await page.evaluate(async () => (await fetch('/v1/pair')).status);
    expect(status).toBe(403);
    await page.goto(`${g.url}/#/backends`);
    await page.getByRole('article', { name: 'Backend gpu-a' }).waitFor();
    expect(await page.getByRole('button', { name: 'Drain' }).count()).toBe(0);
  });

  it('fits a narrow window in dark mode', async () => {
    const d = await signedIn(undefined, { width: 380, dark: true });
    const { page } = d;
    await page.getByRole('region', { name: 'Jobs' }).getByRole('row').nth(1).waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(17, 20, 24)');
    await page.screenshot({ path: artifactPath('dashboard', 'queue-narrow-dark') });
    // Keyboard: the skip link comes first, then the sections.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Queue');
    expect(fs.existsSync(artifactPath('dashboard', 'queue-narrow-dark'))).toBe(true);
  });
});
