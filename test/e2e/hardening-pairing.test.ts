import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';

const FIGMA = { origin: 'null', 'user-agent': 'Mozilla/5.0 Figma/125.0 Electron' };

async function call(
  url: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
) {
  const res = await request(url + path, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : null) as Record<string, any> };
}

describe('pairing spam', () => {
  it('a drained tokenless bucket does not stop a real plugin polling its pairing', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      security: { rateLimitPerMinute: 30 },
    });
    const started = await call(g.url, '/v1/pair', { method: 'POST', headers: FIGMA, body: { name: 'Figma' } });
    expect(started.status).toBe(201);
    // A null-origin page drains the bucket that every tokenless caller from this address shares.
    let limited = 0;
    for (let i = 0; i < 60; i++)
      if ((await call(g.url, '/v1/jobs', { headers: { origin: 'null' } })).status === 429) limited++;
    expect(limited).toBeGreaterThan(0);
    for (let i = 0; i < 40; i++) {
      const poll = await call(g.url, `/v1/pair/${started.body.pairingId}`, { headers: FIGMA });
      expect(poll.status, `poll ${i}`).toBe(200);
      expect(poll.body.state).toBe('pending');
    }
    await g.client.confirmPairing(started.body.code);
    const done = await call(g.url, `/v1/pair/${started.body.pairingId}`, { headers: FIGMA });
    expect(done.status).toBe(200);
    expect(done.body.state).toBe('confirmed');
    // An unknown pairing id is charged like any tokenless request: no free lane for guessing.
    expect((await call(g.url, `/v1/pair/${'x'.repeat(32)}`, { headers: { origin: 'null' } })).status).toBe(429);
  });

  it('starts are limited per origin+address and pending slots per requester; the list tells requests apart', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      security: { pairStartsPerMinute: 5, maxPendingPairings: 3 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push(
        (await call(g.url, '/v1/pair', { method: 'POST', headers: { origin: 'null' }, body: { name: `Figma ${i}` } }))
          .status,
      );
    }
    expect(statuses.slice(0, 3)).toEqual([201, 201, 201]);
    expect(statuses.slice(3)).toEqual([429, 429, 429, 429, 429]); // pending slots of this requester, then its start rate
    const over = await call(g.url, '/v1/pair', {
      method: 'POST',
      headers: { origin: 'null' },
      body: { name: 'again' },
    });
    expect(over.body.error.message).toMatch(/security\.(pairStartsPerMinute|maxPendingPairings)/);
    // Another origin (a VS Code webview) is another requester: it still gets a slot.
    const fromVscode = { origin: 'vscode-webview://abc', 'user-agent': 'Code/1.99' };
    const vscode = await call(g.url, '/v1/pair', { method: 'POST', headers: fromVscode, body: { name: 'VS Code' } });
    expect(vscode.status).toBe(201);
    const listed = await g.client.pendingPairings();
    expect(listed).toHaveLength(4);
    const v = listed.find((p) => p.name === 'VS Code')!;
    expect(v.origin).toBe('vscode-webview://abc');
    expect(v.userAgent).toBe('Code/1.99');
    expect(v.address).toMatch(/127\.0\.0\.1$/);
    expect(Date.now() - v.createdAt!).toBeGreaterThanOrEqual(0);
    expect(Date.now() - v.createdAt!).toBeLessThan(60_000);
  });
});
