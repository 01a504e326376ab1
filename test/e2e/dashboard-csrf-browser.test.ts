import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeComfy, type FakeComfy } from '../fake-comfyui/src/index.js';
import { launchChromium } from '../helpers/chromium.js';
import { openDashboard, type DashboardPage } from '../helpers/dashboard.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * A signed-in browser visits another program's page on this machine (another port of 127.0.0.1: the same site
 * to SameSite=Strict, so the cookie rides along). That page tries every way a page has to act on the daemon with
 * the cookie: a form post, a no-cors fetch, a CORS fetch with credentials, a WebSocket, a sandboxed (`null`
 * origin) form; none may create a job, read the queue or open the event stream. Real Chromium, real headers.
 */
describe('the dashboard session cookie against pages on other local ports (real Chromium)', () => {
  let fake: FakeComfy;
  let g: TestGateway;
  let browser: Browser;
  let evil: http.Server;
  let evilUrl: string;
  let dash: DashboardPage;

  beforeAll(async () => {
    // The foreign page listens first so the daemon can list it in allowedOrigins: even an origin the daemon
    // accepts for token-bearing calls (a configured tool) must not get anything from the cookie.
    const pages: Record<string, string> = {};
    evil = http.createServer((req, res) => {
      const page = pages[req.url ?? ''];
      res.writeHead(page ? 200 : 404, { 'content-type': 'text/html' });
      res.end(page ?? '');
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
    fake = await startFakeComfy({ port: 0 });
    g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], security: { allowedOrigins: [evilUrl] } });
    browser = await launchChromium();
    const api = g.url;
    const body = JSON.stringify({ template: 'txt2img', params: { prompt: 'csrf' } });
    Object.assign(pages, {
      '/': `<!doctype html><body><script>
        window.results = {};
        const api = ${JSON.stringify(api)};
        const body = ${JSON.stringify(body)};
        (async () => {
          try { await fetch(api + '/v1/jobs', { method: 'POST', mode: 'no-cors', credentials: 'include',
            headers: { 'content-type': 'text/plain' }, body }); results.noCors = 'sent'; }
          catch (e) { results.noCors = 'error'; }
          try { const r = await fetch(api + '/v1/jobs', { credentials: 'include' }); results.read = r.status; }
          catch (e) { results.read = 'blocked'; }
          results.ws = await new Promise((resolve) => {
            const ws = new WebSocket(api.replace('http', 'ws') + '/v1/ws', ['comfygate.v1']);
            ws.onopen = () => (ws.close(), resolve('open'));
            ws.onerror = () => resolve('refused');
          });
          const f = document.createElement('form');
          f.method = 'POST'; f.enctype = 'text/plain'; f.action = api + '/v1/jobs'; f.target = 'sink';
          const i = document.createElement('input'); i.name = body.slice(0, -1) + ',"x":"'; i.value = '"}';
          f.append(i); document.body.append(f);
          const sink = document.createElement('iframe'); sink.name = 'sink'; document.body.append(sink);
          f.submit();
          const sandboxed = document.createElement('iframe');
          sandboxed.setAttribute('sandbox', 'allow-scripts allow-forms');
          sandboxed.src = '/sandboxed';
          document.body.append(sandboxed);
          setTimeout(() => (results.done = true), 1500);
        })();
      </script></body>`,
      '/sandboxed': `<!doctype html><body><script>
        fetch(${JSON.stringify(api)} + '/v1/jobs', { method: 'POST', mode: 'no-cors', credentials: 'include',
          headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(body)} });
      </script></body>`,
    });
    dash = await openDashboard(browser);
  });
  afterAll(async () => {
    await dash?.context.close().catch(() => {});
    await browser?.close();
    await new Promise<void>((r) => (evil ? evil.close(() => r()) : r()));
    await g?.close();
    await fake?.close();
  });

  it('none of the tricks creates a job, reads the queue or opens the event stream', async () => {
    const { page } = dash;
    await page.goto(g.gateway.loginLink());
    await page.getByRole('navigation', { name: 'Sections' }).waitFor();
    // The cookie works for the dashboard itself, in this same browser context.
    const own = await page.evaluate(async () => (await fetch('/v1/jobs')).status);
    expect(own).toBe(200);

    const seen: { url: string; status: number }[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(g.url)) seen.push({ url: r.url(), status: r.status() });
    });
    await page.goto(evilUrl);
    await page.waitForFunction(() => (window as unknown as { results: { done?: boolean } }).results?.done, null, {
      timeout: 15_000,
    });
    const results = await page.evaluate(() => (window as unknown as { results: Record<string, unknown> }).results);
    expect(results.ws).toBe('refused');
    expect(results.read).toBe('blocked'); // the daemon answers 401 (no credentials counted), without CORS credentials

    const jobs = await g.client.listJobs();
    expect(jobs.jobs).toEqual([]);
    // Every request the page got to the daemon was refused for want of credentials: the cookie counted nowhere.
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s.status, s.url).toBe(401);
  });
});
