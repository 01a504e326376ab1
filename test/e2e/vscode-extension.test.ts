import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Job } from '@comfygate/shared';
import { provenanceFromPng } from '@comfygate/shared/manifest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeComfy, startFakeComfy } from '../fake-comfyui/src/index.js';
import { artifactPath, launchChromium } from '../helpers/chromium.js';
import { codeServerBin, type CodeServer, packageExtension, startCodeServer } from '../helpers/code-server.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import { pixel } from '../helpers/watch.js';

/**
 * The built .vsix in real VS Code (code-server) driven through Chromium like a person: the command palette,
 * quick picks, notifications and the status bar, against a real daemon and the fake ComfyUI.
 * `test/vscode/install-code-server.sh` installs code-server (.ci/run calls it); without it the suite is skipped
 * locally and fails in CI.
 */
const installed = fs.existsSync(codeServerBin());
if (!installed && process.env.CI)
  throw new Error(`code-server is not installed at ${codeServerBin()}: run test/vscode/install-code-server.sh`);
if (!installed)
  console.warn(
    `skipping the VS Code tests: no code-server at ${codeServerBin()} (run test/vscode/install-code-server.sh)`,
  );

const entry = (name: string, prompt: string) => ({
  output: `art/${name}.png`,
  prompt,
  seed: 11,
  width: 64,
  height: 64,
  params: { steps: 1 },
});
const ENTRIES = [
  entry('fox', 'a fox'),
  entry('owl', 'an owl'),
  entry('hare', 'a hare'),
  entry('wren', 'a wren'),
  entry('newt', 'a newt'),
];

describe.skipIf(!installed)('VS Code extension in code-server', () => {
  let fake: FakeComfy;
  let g: TestGateway;
  let cs: CodeServer;
  let browser: Browser;
  let page: Page;
  let ws: string;

  const manifestFile = () => path.join(ws, 'comfygate.assets.json');
  // One entry a line: all five entries and their CodeLens rows fit on the screen (Monaco renders only what is visible).
  const writeManifest = (assets: unknown[]) =>
    fs.writeFileSync(
      manifestFile(),
      `{\n  "assets": [\n${assets.map((a) => `    ${JSON.stringify(a)}`).join(',\n')}\n  ]\n}\n`,
    );
  const assetJobs = async () =>
    (await g.client.listJobs({ limit: 500 })).jobs.filter((j) => j.metadata.source === 'vscode' && j.metadata.asset);

  /**
   * F1 and `text`, then Enter once the filter put the wanted row on top: `>title` runs a command, a bare file name
   * opens the file. A key press can land in a webview (an image preview) that keeps it: then focus the workbench
   * (the side bar's title) and press again.
   */
  async function quickOpen(text: string, row: (label: string) => boolean): Promise<void> {
    const input = page.locator('.quick-input-widget input');
    for (let attempt = 0; ; attempt++) {
      // Escape only an open quick input: in an editor it would drop the selection Generate From Selection reads.
      if (await page.locator('.quick-input-widget').isVisible()) await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      if (
        await input.fill(text, { timeout: 3_000 }).then(
          () => true,
          () => false,
        )
      )
        break;
      if (attempt === 3) throw new Error(`the command palette did not open for ${text}`);
      await page.locator('.part.sidebar .title').first().click();
    }
    // The list first shows recently used entries: wait until the filter has put the wanted one on top.
    await waitFor(
      async () =>
        row(
          (await page
            .getByRole('option')
            .first()
            .getAttribute('aria-label', { timeout: 2_000 })
            .catch(() => null)) ?? '',
        ),
      {
        timeoutMs: 10_000,
        what: `'${text}' at the top of the palette`,
      },
    );
    await page.keyboard.press('Enter');
  }

  /** A click on the file in the explorer, until its tab shows (a hover tooltip can swallow the first click). */
  async function openFromExplorer(name: string): Promise<void> {
    const tab = page.getByRole('tab', { name: new RegExp(name.replace(/\./g, '\\.')), selected: true });
    for (let attempt = 0; attempt < 4 && !(await tab.isVisible()); attempt++) {
      await page.mouse.move(800, 600);
      await page.getByRole('treeitem', { name }).click();
      await tab.waitFor({ timeout: 3_000 }).catch(() => undefined);
    }
    await tab.waitFor({ timeout: 1_000 });
  }

  const runCommand = (title: string) => quickOpen(`>${title}`, (label) => label.startsWith(title));

  /** Waits for a quick input titled `title`, types `text` (or keeps what is offered) and accepts. */
  async function answer(title: string, text?: string): Promise<void> {
    await page.locator('.quick-input-title', { hasText: title }).waitFor({ timeout: 20_000 });
    if (text !== undefined) await page.locator('.quick-input-widget input').fill(text);
    await page.keyboard.press('Enter');
  }

  /** Toasts beyond the first few are folded into the notification center: start each step with none. */
  async function clearNotifications(): Promise<void> {
    await runCommand('Notifications: Clear All Notifications');
    await page
      .locator('.notification-toast')
      .first()
      .waitFor({ state: 'detached', timeout: 10_000 })
      .catch(() => undefined);
  }

  /** The extension's output channel as VS Code writes it to its logs folder. */
  function outputChannel(): string {
    const find = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory()
            ? find(path.join(dir, e.name))
            : e.name.endsWith('comfygate.log')
              ? [path.join(dir, e.name)]
              : [],
        );
    return find(path.join(cs.userDataDir, 'logs'))
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
  }

  /**
   * Generate Assets' summary: its notification, or the same line in the output channel (VS Code may fold a toast
   * into the notification center before it is seen). Counted so that a summary from an earlier run never matches.
   */
  async function assetsSummary(text: string, runs: number): Promise<void> {
    const toast = notification(text);
    const summaries = () =>
      outputChannel()
        .split('\n')
        .filter((l) => l.startsWith('comfygate: ') && l.includes(' generated, ')).length;
    await waitFor(async () => (await toast.isVisible()) || summaries() >= runs, {
      timeoutMs: 60_000,
      what: `Generate Assets run ${runs} to finish`,
    });
    expect(outputChannel()).toContain(text);
  }

  const notification = (text: string | RegExp) =>
    page
      .getByRole('dialog')
      .filter({ hasText: text })
      .or(page.locator('.notification-toast', { hasText: text }))
      .first();

  beforeAll(async () => {
    const vsix = await packageExtension();
    fake = await startFakeComfy();
    g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cg-vscode-ws-')));
    writeManifest(ENTRIES);
    // Written before VS Code starts, so quick open's file index has it.
    fs.writeFileSync(path.join(ws, 'notes.md'), 'a paper boat on a pond\n');
    cs = await startCodeServer({
      vsix,
      env: { COMFYGATE_HOME: g.home },
      settings: {
        'comfygate.url': g.url,
        'comfygate.statusIntervalSeconds': 1,
        'workbench.startupEditor': 'none',
        'telemetry.telemetryLevel': 'off',
        'remote.autoForwardPorts': false,
        'workbench.tips.enabled': false,
        'extensions.ignoreRecommendations': true,
        'window.commandCenter': false,
      },
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${cs.url}/?folder=${encodeURIComponent(ws)}`);
    await page.getByRole('button', { name: /^comfygate: connected/ }).waitFor({ timeout: 60_000 });
  }, 180_000);

  afterEach(async (t) => {
    const name = `failed-${t.task.name.slice(0, 40).replace(/\W+/g, '-')}`;
    if (t.task.result?.state !== 'fail' || !page) return;
    await page.screenshot({ path: artifactPath('vscode', name) });
    // The extension's output channel, for the failure's story.
    console.log(`comfygate output channel:\n${outputChannel()}`);
  });

  afterAll(async () => {
    await browser?.close();
    await cs?.close();
    await g?.close();
    await fake?.close();
    if (ws) fs.rmSync(ws, { recursive: true, force: true });
  });

  it('Generate Image… from the palette writes the image into the workspace and opens it', async () => {
    await runCommand('comfygate: Generate Image…');
    await answer('comfygate: template');
    await answer('comfygate: prompt', 'a tiny lighthouse');
    await answer('comfygate: size');
    await answer('comfygate: how many');
    await answer('comfygate: target folder', 'assets/generated');
    const dir = path.join(ws, 'assets/generated');
    const png = () => (fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.png')) : undefined);
    const file = await waitFor(png, { timeoutMs: 30_000, what: 'the generated image' });
    expect(file).toBe('a-tiny-lighthouse-1.png');
    const prov = provenanceFromPng(fs.readFileSync(path.join(dir, file)));
    expect(prov).toMatchObject({ prompt: 'a tiny lighthouse', template: 'txt2img' });
    await page.getByRole('tab', { name: /a-tiny-lighthouse-1\.png/ }).waitFor({ timeout: 20_000 });
    await page
      .frameLocator('iframe.webview')
      .frameLocator('iframe#active-frame')
      .locator('img')
      .waitFor({ timeout: 20_000 });
    await page.screenshot({ path: artifactPath('vscode', 'generate-image') });
  }, 90_000);

  it('Generate Assets makes 5 jobs, then 0 when nothing changed, then exactly 1 for the entry that changed', async () => {
    await clearNotifications();
    await runCommand('comfygate: Generate Assets');
    await assetsSummary('comfygate: 5 generated, 0 up to date', 1);
    expect((await assetJobs()).length).toBe(5);
    for (const e of ENTRIES) expect(fs.existsSync(path.join(ws, e.output)), e.output).toBe(true);
    const lock = JSON.parse(fs.readFileSync(path.join(ws, 'comfygate.assets.lock.json'), 'utf8'));
    expect(Object.keys(lock.assets).sort()).toEqual(ENTRIES.map((e) => e.output).sort());

    await clearNotifications();
    await runCommand('comfygate: Generate Assets');
    await assetsSummary('comfygate: 0 generated, 5 up to date', 2);
    expect((await assetJobs()).length).toBe(5);

    writeManifest(ENTRIES.map((e) => (e.output === 'art/owl.png' ? { ...e, prompt: 'a snowy owl' } : e)));
    await clearNotifications();
    await runCommand('comfygate: Generate Assets');
    await assetsSummary('comfygate: 1 generated, 4 up to date', 3);
    const jobs = await assetJobs();
    expect(jobs.length).toBe(6);
    expect(jobs.filter((j) => (j.metadata.params as { prompt?: string }).prompt === 'a snowy owl').length).toBe(1);

    // The manifest in the editor: one CodeLens row per entry, all fresh now.
    await openFromExplorer('comfygate.assets.json');
    await waitFor(async () => (await page.getByText('state: fresh').count()) === 5, {
      timeoutMs: 20_000,
      what: 'five "state: fresh" lenses',
    });
    await page.screenshot({ path: artifactPath('vscode', 'manifest-codelens') });
  }, 180_000);

  it('Cancel in the progress notification cancels the job on the daemon', async () => {
    fake.control.setStepMs(400);
    await clearNotifications();
    try {
      await runCommand('comfygate: Generate Image…');
      await answer('comfygate: template');
      await answer('comfygate: prompt', 'a very slow comet');
      await answer('comfygate: size');
      await answer('comfygate: how many');
      await answer('comfygate: target folder');
      const toast = page.locator('.notification-toast', { hasText: 'comfygate: Generate Image' });
      await toast.waitFor({ timeout: 20_000 });
      const isSlow = (j: Pick<Job, 'metadata'>) =>
        (j.metadata.params as { prompt?: string } | undefined)?.prompt === 'a very slow comet';
      const job = await waitFor(async () => (await g.client.listJobs({ limit: 50 })).jobs.find(isSlow), {
        what: 'the slow job',
      });
      await toast.getByText(/running|dispatched|queued/).waitFor({ timeout: 20_000 });
      await page.waitForTimeout(300); // the toast slides in: let it settle for the screenshot
      await page.screenshot({ path: artifactPath('vscode', 'progress-cancel') });
      await toast.getByRole('button', { name: 'Cancel' }).click();
      const ended = await waitFor(
        async () => {
          const j = await g.client.getJob(job.id);
          return ['succeeded', 'failed', 'canceled'].includes(j.state) ? j : null;
        },
        { timeoutMs: 20_000, what: 'the job to end' },
      );
      expect(ended.state).toBe('canceled');
      await notification('comfygate: Generate Image (txt2img) canceled').waitFor({ timeout: 20_000 });
    } finally {
      fake.control.setStepMs(1);
    }
  }, 90_000);

  it('the gallery lists what was generated, in a webview with a strict CSP', async () => {
    await runCommand('comfygate: Show Gallery');
    const frame = page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
    const list = frame.getByRole('list', { name: 'Generated images' });
    await list.getByRole('listitem', { name: 'a-tiny-lighthouse-1.png' }).waitFor({ timeout: 30_000 });
    await expect(frame.getByRole('button', { name: 'Copy path a-tiny-lighthouse-1.png' }).count()).resolves.toBe(1);
    const csp = await frame.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]{20,}'/);
    await page.screenshot({ path: artifactPath('vscode', 'gallery') });
  }, 60_000);

  it('Regenerate on a generated image makes the same prompt and seed again; Generate From Selection uses the selected text', async () => {
    const dir = path.join(ws, 'assets/generated');
    const original = provenanceFromPng(fs.readFileSync(path.join(dir, 'a-tiny-lighthouse-1.png')))!;
    await openFromExplorer('a-tiny-lighthouse-1.png');
    await runCommand('comfygate: Regenerate');
    const again = path.join(dir, 'a-tiny-lighthouse-2.png');
    await waitFor(() => fs.existsSync(again), { timeoutMs: 30_000, what: again });
    const prov = provenanceFromPng(fs.readFileSync(again))!;
    expect(prov.seed).toBe(original.seed);
    expect(prov.prompt).toBe('a tiny lighthouse');
    expect(prov.jobId).not.toBe(original.jobId);
    // The fake ComfyUI paints a colour derived from the sampler's inputs: the same seed and prompt, the same image.
    expect(await pixel(again)).toEqual(await pixel(path.join(dir, 'a-tiny-lighthouse-1.png')));

    await openFromExplorer('notes.md');
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+A');
    await runCommand('comfygate: Generate From Selection');
    const boat = path.join(dir, 'a-paper-boat-on-a-pond-1.png');
    await waitFor(() => fs.existsSync(boat), { timeoutMs: 30_000, what: boat });
    expect(provenanceFromPng(fs.readFileSync(boat))).toMatchObject({
      prompt: 'a paper boat on a pond',
      template: 'txt2img',
    });
  }, 90_000);

  it('Use as Reference on an image runs img2img with it and writes the result beside it', async () => {
    await openFromExplorer('a-tiny-lighthouse-1.png');
    await runCommand('comfygate: Use as Reference');
    await answer('comfygate: use as reference');
    await answer('comfygate: prompt', 'the lighthouse as a watercolour');
    const out = path.join(ws, 'assets/generated/the-lighthouse-as-a-watercolour-1.png');
    await waitFor(() => fs.existsSync(out), { timeoutMs: 30_000, what: out });
    const job = (await g.client.listJobs({ limit: 50 })).jobs.find((j) => j.metadata.template === 'img2img')!;
    expect(job.state).toBe('succeeded');
    const uploaded = (job.metadata.params as { image?: string }).image;
    const source = fs.readFileSync(path.join(ws, 'assets/generated/a-tiny-lighthouse-1.png'));
    expect(uploaded).toBe(crypto.createHash('sha256').update(source).digest('hex'));
  }, 60_000);

  it('marks an entry whose template or parameter the daemon lacks, in the Problems count and on the key', async () => {
    const current = JSON.parse(fs.readFileSync(manifestFile(), 'utf8')).assets as unknown[];
    writeManifest([
      ...current,
      { output: 'art/bad.png', template: 'no-such-template' },
      { output: 'art/bad2.png', params: { stepz: 1 } },
    ]);
    await openFromExplorer('comfygate.assets.json');
    // VS Code names the status bar's problem counter by its counts.
    const problems = page
      .getByRole('button', { name: /^2 errors?/i })
      .or(page.getByRole('button', { name: /Errors: 2/ }))
      .first();
    await problems.waitFor({ timeout: 20_000 });
    await problems.click();
    await page
      .getByText("no template 'no-such-template' on the daemon", { exact: false })
      .first()
      .waitFor({ timeout: 10_000 });
    await page
      .getByText("template 'txt2img' has no parameter 'stepz'", { exact: false })
      .first()
      .waitFor({ timeout: 10_000 });
    await page.screenshot({ path: artifactPath('vscode', 'diagnostics') });
    await problems.click();
    writeManifest(current);
  }, 60_000);

  it('says so in the status bar when the daemon stops', async () => {
    await g.close();
    await page.getByRole('button', { name: /^comfygate: not running/ }).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: artifactPath('vscode', 'not-running') });
  }, 40_000);
});
