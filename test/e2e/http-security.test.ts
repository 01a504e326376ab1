import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { request } from 'undici';

/** Sends a request with exactly the headers given (fetch would not let us forge Host). */
async function raw(url: string, path: string, headers: Record<string, string>, method = 'GET') {
  const res = await request(url + path, { method: method as 'GET', headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null };
}

function wsUpgrade(
  url: string,
  opts: { headers?: Record<string, string>; protocols?: string[] },
): Promise<{ opened: boolean; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url.replace('http', 'ws') + '/v1/ws', opts.protocols ?? [], { headers: opts.headers });
    ws.on('open', () => (ws.close(), resolve({ opened: true })));
    ws.on('unexpected-response', (_req, res) => resolve({ opened: false, status: res.statusCode }));
    ws.on('error', () => resolve({ opened: false }));
  });
}

describe('security', () => {
  it('every route but /healthz needs a token; scopes and revocation are enforced', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    expect((await raw(g.url, '/healthz', {})).status).toBe(200);
    for (const path of ['/v1/jobs', '/v1/stats', '/metrics', '/readyz', '/v1/backends', '/comfy/system_stats']) {
      const r = await raw(g.url, path, {});
      expect(r.status, path).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
    }
    const reader = await g.client.createToken({ name: 'ro', scope: 'read' });
    const asReader = { authorization: `Bearer ${reader.token}` };
    expect((await raw(g.url, '/v1/jobs', asReader)).status).toBe(200);
    const post = await request(g.url + '/v1/jobs', {
      method: 'POST',
      headers: { ...asReader, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.statusCode).toBe(403);
    expect(((await post.body.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await raw(g.url, '/v1/tokens', asReader)).status).toBe(403);
    await g.client.revokeToken(reader.id);
    expect((await raw(g.url, '/v1/jobs', asReader)).status).toBe(401);
    expect((await raw(g.url, '/v1/jobs', { authorization: 'Bearer cg_wrong' })).status).toBe(401);
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin, on HTTP and WebSocket', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const auth = { authorization: `Bearer ${g.token}` };
    const evilHost = await raw(g.url, '/v1/stats', { ...auth, host: 'evil.example' });
    expect(evilHost.status).toBe(403);
    expect(evilHost.body.error.message).toContain('evil.example');
    expect((await raw(g.url, '/v1/stats', { ...auth, host: `localhost:${g.gateway.port}` })).status).toBe(200);
    const evilOrigin = await raw(g.url, '/v1/stats', { ...auth, origin: 'https://evil.example' });
    expect(evilOrigin.status).toBe(403);
    expect(evilOrigin.headers['access-control-allow-origin']).toBeUndefined();
    expect((await raw(g.url, '/v1/stats', { ...auth, origin: 'vscode-webview://abc123' })).status).toBe(200);
    expect((await raw(g.url, '/v1/stats', { ...auth, origin: g.url })).status).toBe(200);

    expect(await wsUpgrade(g.url, { headers: { ...auth, origin: 'https://evil.example' } })).toEqual({
      opened: false,
      status: 403,
    });
    expect(await wsUpgrade(g.url, { headers: { ...auth, host: 'evil.example' } })).toEqual({
      opened: false,
      status: 403,
    });
    expect(await wsUpgrade(g.url, { headers: { origin: 'null' } })).toEqual({ opened: false, status: 401 });
    expect(
      await wsUpgrade(g.url, {
        headers: { origin: 'null' },
        protocols: ['comfygate.v1', `comfygate.token.${g.token}`],
      }),
    ).toEqual({ opened: true });
  });

  it('a null origin (Figma iframe) is allowed only with a token', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const noToken = await raw(g.url, '/v1/stats', { origin: 'null' });
    expect(noToken.status).toBe(401);
    const withToken = await raw(g.url, '/v1/stats', { origin: 'null', authorization: `Bearer ${g.token}` });
    expect(withToken.status).toBe(200);
    expect(withToken.headers['access-control-allow-origin']).toBe('null');
  });

  it('answers preflights for allowed origins with Private Network Access, and never with *', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      security: { allowedOrigins: ['http://localhost:5173'] },
    });
    const pre = await request(g.url + '/v1/jobs', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
        'access-control-request-private-network': 'true',
      },
    });
    await pre.body.text();
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(pre.headers['access-control-allow-private-network']).toBe('true');
    expect(String(pre.headers['access-control-allow-headers'])).toContain('authorization');
    const foreign = await request(g.url + '/v1/jobs', {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:9999', 'access-control-request-method': 'POST' },
    });
    await foreign.body.text();
    expect(foreign.statusCode).toBe(403);
  });

  it('rate-limits per token', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      security: { rateLimitPerMinute: 5 },
    });
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await g.fetch('/v1/stats')).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses[6]).toBe(429);
  });

  it('pairs a Figma plugin: code, confirmation by an admin, a token handed out once', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const start = await request(g.url + '/v1/pair', {
      method: 'POST',
      headers: { origin: 'null', 'content-type': 'application/json' },
      body: '{"name":"Figma"}',
    });
    expect(start.statusCode).toBe(201);
    const { pairingId, code } = (await start.body.json()) as { pairingId: string; code: string };
    expect((await raw(g.url, `/v1/pair/${pairingId}`, { origin: 'null' })).body.state).toBe('pending');
    expect((await g.client.pendingPairings()).map((p) => p.code)).toContain(code);
    await g.client.confirmPairing(code);
    const done = await raw(g.url, `/v1/pair/${pairingId}`, { origin: 'null' });
    expect(done.body.state).toBe('confirmed');
    expect((await raw(g.url, '/v1/jobs', { authorization: `Bearer ${done.body.token}` })).status).toBe(200);
    expect((await raw(g.url, `/v1/pair/${pairingId}`, { origin: 'null' })).body.state).toBe('expired');
  });

  it('creates the token file 0600 and audits mutations', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const fs = await import('node:fs');
    expect(fs.statSync(`${g.home}/token`).mode & 0o777).toBe(0o600);
    await g.client.createToken({ name: 'x', scope: 'read' });
    await new Promise((r) => setTimeout(r, 50));
    expect(await g.daemon.store.audit.countSince('local-admin', 'POST /v1/tokens', 0)).toBe(1);
  });
});
