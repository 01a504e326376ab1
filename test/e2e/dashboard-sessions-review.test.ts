import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient, WS_PROTOCOL } from '@comfygate/shared';
import { WebSocket } from 'ws';
import { startFakeComfy, type FakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };

/**
 * What a session (or token) stops being able to do once it ends, and what a browser may keep of API answers:
 * found in a security review of the dashboard, over real HTTP and WebSocket.
 */
describe('dashboard sessions end everywhere, and API answers are not cached', () => {
  let fake: FakeComfy;
  let g: TestGateway;

  beforeAll(async () => {
    fake = await startFakeComfy({ port: 0 });
    g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  });
  afterAll(async () => {
    await g?.close();
    await fake?.close();
  });

  const signIn = async (token: string) => {
    const res = await fetch(`${g.url}/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...SAME_ORIGIN },
      body: JSON.stringify({ token }),
    });
    expect(res.status).toBe(201);
    return `comfygate_session=${/comfygate_session=([^;]*)/.exec(res.headers.get('set-cookie') ?? '')![1]!}`;
  };

  /** An event WebSocket opened with `headers`; resolves `closed` with the close code when the daemon ends it. */
  const openSocket = (headers: Record<string, string>, protocols: string[] = [WS_PROTOCOL]) =>
    new Promise<{ ws: WebSocket; closed: Promise<number> }>((resolve, reject) => {
      const ws = new WebSocket(g.url.replace('http', 'ws') + '/v1/ws', protocols, { headers });
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      ws.on('open', () => {
        ws.send(JSON.stringify({ type: 'subscribe' }));
        resolve({ ws, closed });
      });
      ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.on('error', reject);
    });

  /** An SSE stream; resolves `ended` when the daemon ends the response. */
  const openEvents = async (headers: Record<string, string>, path = '/v1/events') => {
    const ac = new AbortController();
    const res = await fetch(`${g.url}${path}`, { headers, signal: ac.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const ended = (async () => {
      try {
        while (!(await reader.read()).done);
        return 'ended';
      } catch {
        return 'ended';
      }
    })();
    return { ended, abort: () => ac.abort() };
  };

  const within = <T>(p: Promise<T>, ms = 5_000) =>
    Promise.race([p, new Promise<'still open'>((r) => setTimeout(() => r('still open'), ms).unref())]);

  it("signing out closes the session's open event WebSocket and SSE stream", async () => {
    const cookie = await signIn(g.token);
    const { ws, closed } = await openSocket({ cookie, origin: g.url });
    const sse = await openEvents({ cookie, ...SAME_ORIGIN });
    const out = await fetch(`${g.url}/v1/session`, { method: 'DELETE', headers: { cookie, ...SAME_ORIGIN } });
    expect(out.status).toBe(204);
    try {
      expect(await within(closed)).toBe(1008);
      expect(await within(sse.ended)).toBe('ended');
    } finally {
      ws.terminate();
      sse.abort();
    }
  });

  it("revoking a token closes its sessions' and its own open event streams; another token's stay open", async () => {
    const t = await g.client.createToken({ name: 'revoked-while-watching', scope: 'read' });
    const other = await g.client.createToken({ name: 'keeps-watching', scope: 'read' });
    const cookie = await signIn(t.token);
    const bySession = await openSocket({ cookie, origin: g.url });
    const byToken = await openSocket({}, [WS_PROTOCOL, `comfygate.token.${t.token}`]);
    const sse = await openEvents({ authorization: `Bearer ${t.token}` });
    const bystander = await openSocket({ authorization: `Bearer ${other.token}` });
    try {
      await g.client.revokeToken(t.id);
      expect(await within(bySession.closed)).toBe(1008);
      expect(await within(byToken.closed)).toBe(1008);
      expect(await within(sse.ended)).toBe('ended');
      expect(await within(bystander.closed, 300)).toBe('still open');
      expect(bystander.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      for (const s of [bySession, byToken, bystander]) s.ws.terminate();
      sse.abort();
    }
  });

  it('revoking an admin token also closes the /comfy/ws bridge it opened', async () => {
    const t = await g.client.createToken({ name: 'comfy-watcher', scope: 'admin' });
    const ws = new WebSocket(g.url.replace('http', 'ws') + '/comfy/ws?clientId=review', [
      WS_PROTOCOL,
      `comfygate.token.${t.token}`,
    ]);
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise<void>((resolve, reject) => (ws.on('open', () => resolve()), ws.on('error', reject)));
    try {
      await g.client.revokeToken(t.id);
      expect(await within(closed)).toBe(1008);
    } finally {
      ws.terminate();
    }
  });

  it('revoking a token ends its Comfy API v2 job event stream too', async () => {
    const t = await g.client.createToken({ name: 'sdk-user', scope: 'submit' });
    await g.client.drainBackend('a', true); // the job stays queued, so its stream stays open
    try {
      const job = await new GatewayClient({ baseUrl: g.url, token: t.token }).createJob({
        template: 'txt2img',
        params: { prompt: 'waits', steps: 1 },
      });
      const sse = await openEvents({ 'x-api-key': t.token }, `/api/v2/jobs/${job.id}/events`);
      try {
        expect(await within(sse.ended, 300)).toBe('still open');
        await g.client.revokeToken(t.id);
        expect(await within(sse.ended)).toBe('ended');
      } finally {
        sse.abort();
      }
    } finally {
      await g.client.drainBackend('a', false);
    }
  });

  it("through /comfy the cookie serves the dashboard's fetches, never a page the backend serves", async () => {
    const cookie = await signIn(g.token);
    const stats = (dest: string) =>
      fetch(`${g.url}/comfy/@a/system_stats`, { headers: { cookie, ...SAME_ORIGIN, 'sec-fetch-dest': dest } });
    expect((await stats('empty')).status).toBe(200);
    // A document, frame or image load would run the backend's page in our origin with the admin's session.
    for (const dest of ['document', 'iframe', 'image', 'script']) expect((await stats(dest)).status).toBe(401);
    const plain = await fetch(`${g.url}/comfy/@a/system_stats`, { headers: { cookie, ...SAME_ORIGIN } });
    expect(plain.status).toBe(401);
    // A bearer token is unaffected: no page can attach one.
    const bearer = await fetch(`${g.url}/comfy/@a/system_stats`, {
      headers: { authorization: `Bearer ${g.token}`, 'sec-fetch-dest': 'document' },
    });
    expect(bearer.status).toBe(200);
  });

  it('API answers carry Cache-Control: no-store, with a cookie or a token, errors included', async () => {
    const cookie = await signIn(g.token);
    const job = await g.client.createJob({ template: 'txt2img', params: { prompt: 'private prompt', steps: 1 } });
    const both: Record<string, string>[] = [{ cookie, ...SAME_ORIGIN }, { authorization: `Bearer ${g.token}` }];
    for (const headers of both) {
      for (const p of ['/v1/jobs', `/v1/jobs/${job.id}`, '/v1/tokens', '/v1/stats', '/v1/pair', '/v1/nope']) {
        const res = await fetch(`${g.url}${p}`, { headers });
        expect(res.status, p).toBeLessThan(500);
        expect(res.headers.get('cache-control'), p).toBe('no-store');
      }
    }
    const v2 = await fetch(`${g.url}/api/v2/jobs/${job.id}`, { headers: { 'x-api-key': g.token } });
    expect(v2.headers.get('cache-control')).toBe('no-store');
    // The dashboard's own files keep their caching: the page revalidates, hashed bundles are immutable.
    expect((await fetch(`${g.url}/`)).headers.get('cache-control')).toBe('no-cache');
  });

  it('a session cookie alone mints no sign-in links and a read session approves nothing', async () => {
    const t = await g.client.createToken({ name: 'reader', scope: 'read' });
    const cookie = await signIn(t.token);
    const h = { cookie, ...SAME_ORIGIN, 'content-type': 'application/json' };
    const anon = new GatewayClient({ baseUrl: g.url });
    const started = await anon.startPairing('a plugin');
    for (const [p, body] of [
      ['/v1/pair/confirm', { code: started.code }],
      ['/v1/pair/deny', { code: started.code }],
      ['/v1/tokens', { name: 'x', scope: 'admin' }],
    ] as const) {
      const res = await fetch(`${g.url}${p}`, { method: 'POST', headers: h, body: JSON.stringify(body) });
      expect(res.status, p).toBe(403);
    }
  });
});

it('a backend behind /comfy cannot set cookies on the dashboard origin (the session cookie among them)', async () => {
  // ComfyUI sets no cookies; a backend that does (a hostile or misconfigured box) must not reach the browser's jar
  // for this origin, where it could overwrite or plant a dashboard session.
  const backend = http.createServer((_req, res) => {
    res.setHeader('Set-Cookie', ['comfygate_session=planted; Path=/; HttpOnly', 'other=1; Path=/']);
    res.setHeader('content-type', 'application/json');
    res.end('{"system":{}}');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const g = await startTestGateway({ backends: [{ name: 'hostile', url }] });
  try {
    const res = await g.fetch('/comfy/@hostile/system_stats');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ system: {} });
    expect(res.headers.get('set-cookie')).toBeNull();
  } finally {
    await g.close();
    await new Promise<void>((r) => backend.close(() => r()));
  }
});

it('guessing sign-in codes is rate limited (30 a minute per address) before any code is looked at', async () => {
  const g = await startTestGateway({ backends: [{ name: 'a', url: 'http://127.0.0.1:9' }] });
  try {
    const guess = (code: string) =>
      fetch(`${g.url}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...SAME_ORIGIN },
        body: JSON.stringify({ code }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await guess(`guess${i}`)).status);
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses[30]).toBe(429);
    // Even the right code waits its turn: a flood cannot be used to test codes faster.
    const code = new URL(g.gateway.loginLink()).hash.slice('#login='.length);
    const res = await guess(code);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  } finally {
    await g.close();
  }
});
