import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';

/** Figma's plugin iframe has the opaque origin `null`: every route the plugin calls must answer it with CORS. */
it('the null origin gets CORS headers on /healthz, the pairing routes and asset lookups; a foreign page does not', async () => {
  await using fake = await startFakeComfy({ stepMs: 1 });
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  const nul = { origin: 'null' };

  const health = await fetch(`${g.url}/healthz`, { headers: nul });
  expect([health.status, health.headers.get('access-control-allow-origin')]).toEqual([200, 'null']);
  const evil = await fetch(`${g.url}/healthz`, { headers: { origin: 'https://evil.example' } });
  expect([evil.status, evil.headers.get('access-control-allow-origin')]).toEqual([200, null]);

  const preflight = await fetch(`${g.url}/v1/pair`, {
    method: 'OPTIONS',
    headers: { ...nul, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  expect([preflight.status, preflight.headers.get('access-control-allow-origin')]).toEqual([204, 'null']);
  expect(preflight.headers.get('access-control-allow-headers')).toContain('content-type');

  const json = { ...nul, 'content-type': 'application/json' };
  const started = await fetch(`${g.url}/v1/pair`, { method: 'POST', headers: json, body: '{"name":"Figma"}' });
  expect([started.status, started.headers.get('access-control-allow-origin')]).toEqual([201, 'null']);
  const { pairingId } = (await started.json()) as { pairingId: string };
  const status = await fetch(`${g.url}/v1/pair/${pairingId}`, { headers: nul });
  expect([status.status, status.headers.get('access-control-allow-origin')]).toEqual([200, 'null']);

  // HEAD is how the plugin skips an upload the daemon already has; the 404 must be readable too.
  const missing = await fetch(`${g.url}/v1/assets/${'0'.repeat(64)}`, {
    method: 'HEAD',
    headers: { ...nul, authorization: `Bearer ${g.token}` },
  });
  expect([missing.status, missing.headers.get('access-control-allow-origin')]).toEqual([404, 'null']);
  const unauthorized = await fetch(`${g.url}/v1/jobs`, { headers: nul });
  expect([unauthorized.status, unauthorized.headers.get('access-control-allow-origin')]).toEqual([401, 'null']);
});
