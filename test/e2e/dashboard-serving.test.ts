import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient, WS_PROTOCOL } from '@comfygate/shared';
import { WebSocket } from 'ws';
import { startFakeComfy, type FakeComfy } from '../fake-comfyui/src/index.js';
import { ensureDashboardBuilt } from '../helpers/dashboard.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { repoRoot } from '../helpers/process.js';

const FIRST_LOAD_BUDGET = 200 * 1024;
const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };

/** How the daemon serves the dashboard and its sessions, over plain HTTP: headers, budget, and who may sign in how. */
describe('dashboard serving and sessions', () => {
  let fake: FakeComfy;
  let g: TestGateway;
  let dir: string;

  beforeAll(async () => {
    dir = await ensureDashboardBuilt();
    fake = await startFakeComfy({ port: 0 });
    g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  });
  afterAll(async () => {
    await g?.close();
    await fake?.close();
  });

  const signIn = (body: unknown, headers: Record<string, string> = SAME_ORIGIN) =>
    fetch(`${g.url}/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const codeOf = (link: string) => new URL(link).hash.slice('#login='.length);
  const cookieOf = (res: Response) => /comfygate_session=([^;]*)/.exec(res.headers.get('set-cookie') ?? '')![1]!;

  it('serves the page with a strict CSP, no token needed, and bundles compressed and cached for good', async () => {
    const page = await fetch(`${g.url}/`, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-(inline|eval)|https?:/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-encoding')).toBe('br');
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css'))).toBe(true);
    expect(html).not.toMatch(/<script>|style="|https?:\/\//); // no inline script or style, nothing from elsewhere

    const etag = page.headers.get('etag')!;
    expect((await fetch(`${g.url}/`, { headers: { 'if-none-match': etag } })).status).toBe(304);

    let firstLoad = (await fetch(`${g.url}/`, { headers: { 'accept-encoding': 'br' } }).then((r) => r.arrayBuffer()))
      .byteLength;
    for (const a of [...assets, 'favicon.svg']) {
      const br = await fetch(`${g.url}/${a}`, { headers: { 'accept-encoding': 'br' } });
      expect(br.status).toBe(200);
      if (a.startsWith('assets/')) expect(br.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(br.headers.get('x-content-type-options')).toBe('nosniff');
      // undici decodes br itself; the wire size is the file the build wrote.
      firstLoad += fs.statSync(path.join(dir, `${a}.br`)).size;
      const gz = await fetch(`${g.url}/${a}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(gz.headers.get('content-encoding')).toBe('gzip');
      const plain = await fetch(`${g.url}/${a}`, { headers: { 'accept-encoding': 'identity' } });
      expect(plain.headers.get('content-encoding')).toBeNull();
      expect(
        Buffer.from(await plain.arrayBuffer()).equals(
          zlib.brotliDecompressSync(fs.readFileSync(path.join(dir, `${a}.br`))),
        ),
      ).toBe(true);
    }
    expect(firstLoad).toBeLessThan(FIRST_LOAD_BUDGET);
    // Data still needs a session or a token.
    expect((await fetch(`${g.url}/v1/jobs`)).status).toBe(401);
    expect((await fetch(`${g.url}/assets/nothing.js`)).status).toBe(404);
  });

  it('a sign-in code works once, for a session that acts as its token and ends on sign-out', async () => {
    const code = codeOf(g.gateway.loginLink());
    const res = await signIn({ code });
    expect(res.status).toBe(201);
    expect(res.headers.get('set-cookie')).toMatch(
      /^comfygate_session=[\w-]{40,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    expect(await res.json()).toMatchObject({ tokenId: 'local-admin', scope: 'admin', via: 'session' });
    const cookie = cookieOf(res);
    const me = await fetch(`${g.url}/v1/session`, {
      headers: { cookie: `comfygate_session=${cookie}`, ...SAME_ORIGIN },
    });
    expect(await me.json()).toMatchObject({ scope: 'admin', via: 'session' });

    const replay = await signIn({ code });
    expect(replay.status).toBe(401);
    expect((await replay.json()).error.message).toMatch(/already used or has expired/);

    const headers = { cookie: `comfygate_session=${cookie}`, origin: g.url, ...SAME_ORIGIN };
    const out = await fetch(`${g.url}/v1/session`, { method: 'DELETE', headers });
    expect(out.status).toBe(204);
    expect(
      (await fetch(`${g.url}/v1/jobs`, { headers: { cookie: `comfygate_session=${cookie}`, ...SAME_ORIGIN } })).status,
    ).toBe(401);
  });

  it("the cookie counts only on the dashboard's own requests; other pages cannot sign a browser in", async () => {
    const cookie = cookieOf(await signIn({ token: g.token }));
    const withCookie = (h: Record<string, string>) =>
      fetch(`${g.url}/v1/jobs`, { headers: { cookie: `comfygate_session=${cookie}`, ...h } });
    expect((await withCookie(SAME_ORIGIN)).status).toBe(200);
    // Another port on this machine is the same site to SameSite, but not the same origin.
    expect((await withCookie({ 'sec-fetch-site': 'same-site' })).status).toBe(401);
    expect((await withCookie({ 'sec-fetch-site': 'cross-site' })).status).toBe(401);
    expect((await withCookie({})).status).toBe(401); // no fetch metadata and no Origin: not a page of ours
    expect((await withCookie({ origin: g.url })).status).toBe(200);
    // A mutation from a foreign page never gets as far as the cookie.
    const foreign = await fetch(`${g.url}/v1/jobs`, {
      method: 'POST',
      headers: {
        cookie: `comfygate_session=${cookie}`,
        origin: 'http://127.0.0.1:1',
        'content-type': 'application/json',
      },
      body: '{"template":"txt2img"}',
    });
    expect(foreign.status).toBe(403);
    expect((await signIn({ token: g.token }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await signIn({ token: g.token }, { origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect((await signIn({ token: 'cg_nope' })).status).toBe(401);
    expect((await signIn({ code: 'x', token: g.token })).status).toBe(400);
    const err = await (await signIn({ token: 'cg_nope' })).json();
    expect(err.error).toMatchObject({ code: 'unauthorized' });
  });

  it("the event WebSocket takes the session cookie from the dashboard's own origin only", async () => {
    const cookie = `comfygate_session=${cookieOf(await signIn({ token: g.token }))}`;
    const wsUrl = g.url.replace('http', 'ws') + '/v1/ws';
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(wsUrl, [WS_PROTOCOL], { headers });
        ws.on('open', () => (ws.close(), resolve(101)));
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(-1));
      });
    expect(await status({ cookie, origin: 'http://127.0.0.1:1' })).toBe(403);
    expect(await status({ cookie })).toBe(401);
    expect(await status({ cookie, origin: g.url })).toBe(101);
  });

  it('a session ends with its token, and sessions cannot mint sign-in links', async () => {
    const t = await g.client.createToken({ name: 'short-lived', scope: 'submit' });
    const link = await new GatewayClient({ baseUrl: g.url, token: t.token }).loginCode();
    expect(link.url).toBe(`${g.url}/#login=${link.code}`);
    const cookie = cookieOf(await signIn({ code: link.code }));
    const get = (p: string, init: RequestInit = {}) =>
      fetch(`${g.url}${p}`, {
        ...init,
        headers: { cookie: `comfygate_session=${cookie}`, ...SAME_ORIGIN, ...init.headers },
      });
    expect(await (await get('/v1/session')).json()).toMatchObject({ name: 'short-lived', scope: 'submit' });
    expect((await get('/v1/tokens')).status).toBe(403); // the token's scope, not more
    expect((await get('/v1/session/codes', { method: 'POST' })).status).toBe(403);
    await g.client.revokeToken(t.id);
    expect((await get('/v1/session')).status).toBe(401);
  });

  it("a queued job's priority moves it in the queue; a job that left the queue says so", async () => {
    await g.client.drainBackend('a', true);
    try {
      const first = await g.client.createJob({ template: 'txt2img', params: { prompt: 'first in', steps: 2 } });
      const second = await g.client.createJob({ template: 'txt2img', params: { prompt: 'second in', steps: 2 } });
      expect(await g.daemon.store.jobs.queuePosition(second.id)).toBe(2);
      expect((await g.client.setPriority(second.id, 10)).priority).toBe(10);
      expect(await g.daemon.store.jobs.queuePosition(second.id)).toBe(1);
      const post = (id: string, body: string) =>
        g.fetch(`/v1/jobs/${id}/priority`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const bad = await post(first.id, '{"priority":1e6}');
      expect(bad.status).toBe(400);
      await g.client.cancelJob(first.id);
      const gone = await post(first.id, '{"priority":1}');
      expect(gone.status).toBe(409);
      expect((await gone.json()).error.message).toMatch(/only a queued job's priority can change/);
      await g.client.cancelJob(second.id);
    } finally {
      await g.client.drainBackend('a', false);
    }
  });

  it('`comfygate dashboard` prints a working one-time link', async () => {
    const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-dash-'));
    try {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMFYGATE_')));
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [tsxCli, path.join(repoRoot, 'daemon/src/cli/main.ts'), '--url', g.url, '--token', g.token, 'dashboard'],
          { cwd: repoRoot, env: { ...env, COMFYGATE_HOME: home }, timeout: 30_000 },
          (e, out) => (e ? reject(e) : resolve(out)),
        ),
      );
      const link = /^(http:\/\/127\.0\.0\.1:\d+\/#login=\S+)$/m.exec(stdout)?.[1];
      expect(link).toBeDefined();
      expect((await signIn({ code: codeOf(link!) })).status).toBe(201);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('without a build, / says how to make one', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-nodash-'));
    process.env.COMFYGATE_DASHBOARD_DIR = empty;
    let g2: TestGateway | undefined;
    try {
      g2 = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
      const res = await fetch(`${g2.url}/`);
      expect(res.status).toBe(404);
      expect((await res.json()).error.message).toMatch(/dashboard is not built .*build:dashboard/);
    } finally {
      delete process.env.COMFYGATE_DASHBOARD_DIR;
      await g2?.close();
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
