import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

// Signing in to the dashboard is how a browser gets credentials: the code or token travels in the body instead.
const NO_TOKEN_NEEDED = new Set(['POST /v1/pair', 'GET /v1/pair/{pairingId}', 'POST /v1/session']);
const V2 = [
  'GET /api/v2/jobs',
  'POST /api/v2/jobs',
  'GET /api/v2/jobs/x',
  'POST /api/v2/jobs/x/cancel',
  'GET /api/v2/jobs/x/events',
  'GET /api/v2/jobs/x/workflow',
  'POST /api/v2/assets',
  'GET /api/v2/assets/x',
  'GET /api/v2/assets/x/content',
  'HEAD /api/v2/assets/by-hash/x',
];

it('every documented route, v2 route and the passthrough refuse a request without a token', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  const doc = await jsonBody(await g.fetch('/v1/openapi.json'));
  const routes: string[] = [
    ...V2,
    'GET /comfy/queue',
    'POST /comfy/prompt',
    'GET /metrics',
    'GET /readyz',
    'GET /v1/openapi.json',
  ];
  for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>))
    for (const m of Object.keys(ops)) routes.push(`${m.toUpperCase()} ${p}`);
  expect(routes.length).toBeGreaterThan(40);
  for (const route of routes) {
    if (NO_TOKEN_NEEDED.has(route)) continue;
    const [method, p] = route.split(' ') as [string, string];
    const res = await fetch(g.url + p.replace(/\{[^}]+\}/g, 'x'), {
      method,
      headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
      body: method === 'POST' ? '{}' : undefined,
    });
    expect(res.status, route).toBe(401);
  }
});

it('an oversized or malformed WebSocket message drops that socket, not the daemon', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  const ws = new WebSocket(g.url.replace('http', 'ws') + '/v1/ws', ['comfygate.v1', `comfygate.token.${g.token}`]);
  await new Promise((r) => ws.on('open', r));
  const closed = new Promise((r) => ws.on('close', r));
  ws.on('error', () => {});
  ws.send('x'.repeat(100 * 1024));
  await closed;
  expect((await g.fetch('/v1/stats')).status).toBe(200);
});

it('the passthrough never leaves the backend origin, and needs an admin token', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  for (const p of ['/comfy//127.0.0.1:9/secret', '/comfy/@a//127.0.0.1:9/x']) {
    const res = await g.fetch(p);
    expect([res.status, (await jsonBody(res)).error.code], p).toEqual([400, 'bad_request']);
  }
  const submitter = await g.client.createToken({ name: 'designer', scope: 'submit' });
  expect(
    (await fetch(`${g.url}/comfy/queue`, { headers: { authorization: `Bearer ${submitter.token}` } })).status,
  ).toBe(403);
});

it('an upload aborted mid-body leaves no temp file behind', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  const url = new URL(g.url);
  for (const route of ['/v1/assets', '/api/v2/assets']) {
    const sock = net.connect(Number(url.port), url.hostname);
    await new Promise((r) => sock.on('connect', r));
    const boundary = 'XyZ';
    sock.write(
      `POST ${route} HTTP/1.1\r\nHost: 127.0.0.1:${url.port}\r\nAuthorization: Bearer ${g.token}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n`,
    );
    sock.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="content_type"\r\n\r\nimage/png\r\n--${boundary}\r\nContent-Disposition: form-data; name="file_path"\r\n\r\na.png\r\n`,
    );
    sock.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${'x'.repeat(5000)}`,
    );
    await new Promise((r) => setTimeout(r, 100));
    sock.destroy();
  }
  const tmp = path.join(g.home, 'assets', 'tmp');
  await waitFor(() => fs.readdirSync(tmp).length === 0, { timeoutMs: 5_000, what: 'temp files removed' });
});

it('a batch counts every job against the daily quota', async () => {
  await using fake = await startFakeComfy();
  await fake.control.down();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  const limited = await g.client.createToken({ name: 'limited', scope: 'submit', dailyQuota: 3 });
  const post = (body: unknown) =>
    fetch(`${g.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${limited.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  expect((await post({ jobs: [{ graph: txt2img({ seed: 1 }) }, { graph: txt2img({ seed: 2 }) }] })).status).toBe(201);
  const over = await post({ jobs: [{ graph: txt2img({ seed: 3 }) }, { graph: txt2img({ seed: 4 }) }] });
  expect([over.status, (await jsonBody(over)).error.code]).toEqual([429, 'rate_limited']);
  const one = await fetch(`${g.url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${limited.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ graph: txt2img({ seed: 5 }) }),
  });
  expect(one.status).toBe(201);
});
