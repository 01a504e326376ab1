import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { makeHome } from '../helpers/daemon.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

/** Short retries so fault paths resolve in seconds; the 10 s POST timeout stays the default. */
const WEBHOOKS = { backoff: { baseMs: 50, maxMs: 250, jitter: 0.2 }, closeGraceMs: 500 };

/** A Standard Webhooks verifier written from the spec, independent of the daemon's code. */
function verifyStandardWebhook(secret: string, headers: http.IncomingHttpHeaders, body: Buffer): boolean {
  const [id, ts, sigs] = [headers['webhook-id'], headers['webhook-timestamp'], headers['webhook-signature']];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof sigs !== 'string' || !/^\d+$/.test(ts)) return false;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = crypto.createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest();
  return sigs.split(' ').some((s) => {
    const [version, mac] = s.split(',');
    const given = Buffer.from(mac ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

interface Hit {
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  body: { type: string; timestamp: string; data: { jobId: string; state: string; event: { id: number } } };
}

/** A receiver on 127.0.0.1 answering with `status(n)` for its n-th request (null: never answer); can go down and come back on its port. */
async function startReceiver(status: (n: number) => number | null = () => 200) {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      hits.push({ headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) });
      const s = status(hits.length);
      if (s !== null) res.writeHead(s).end();
    });
  });
  const listen = (port: number) => new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const down = () => (server.closeAllConnections(), new Promise<void>((r) => server.close(() => r())));
  return {
    hits,
    url: `http://127.0.0.1:${port}/hooks`,
    down,
    up: () => listen(port),
    [Symbol.asyncDispose]: () => (server.listening ? down() : Promise.resolve()),
  };
}

const post = (g: TestGateway, path: string, body: unknown, token?: string) =>
  g.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

async function subscribe(g: TestGateway, body: Record<string, unknown>) {
  const res = await post(g, '/v1/webhooks', body);
  expect(res.status).toBe(201);
  return jsonBody(res) as Promise<{ id: string; secret: string; lastEventId: number; events: string[] }>;
}

const eventIds = (hits: Hit[]) => hits.map((h) => h.body.data.event.id);

describe('signed webhooks', () => {
  it("signs a job's terminal event so an independent verifier accepts it, and not a tampered copy", async () => {
    await using fake = await startFakeComfy();
    await using rx = await startReceiver();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], webhooks: WEBHOOKS });
    const hook = await subscribe(g, { url: rx.url });
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(hook.events).toEqual(['job:succeeded', 'job:failed', 'job:canceled']);
    const listed = await jsonBody(await g.fetch('/v1/webhooks'));
    expect(listed).toMatchObject([{ id: hook.id, url: rx.url }]);
    expect(listed[0].secret).not.toBe(hook.secret);

    const job = await g.client.createJob({ graph: txt2img({ seed: 5 }) });
    await waitFor(() => rx.hits.length === 1, { timeoutMs: 15_000, what: 'the terminal event' });
    const [hit] = rx.hits;
    expect(hit!.body).toMatchObject({
      type: 'job:succeeded',
      data: { jobId: job.id, state: 'succeeded', event: { type: 'job:succeeded', jobId: job.id } },
    });
    expect(new Date(hit!.body.timestamp).toISOString()).toBe(hit!.body.timestamp);
    expect(hit!.headers['webhook-id']).toBe(`${hook.id}_evt_${hit!.body.data.event.id}`);
    expect(verifyStandardWebhook(hook.secret, hit!.headers, hit!.raw)).toBe(true);
    const tampered = Buffer.from(hit!.raw);
    const at = tampered.indexOf('succeeded');
    tampered[at] = tampered[at]! ^ 0x01; // one flipped bit: 's' becomes 'r'
    expect(verifyStandardWebhook(hook.secret, hit!.headers, tampered)).toBe(false);
    expect(verifyStandardWebhook(`whsec_${crypto.randomBytes(32).toString('base64')}`, hit!.headers, hit!.raw)).toBe(
      false,
    );
    expect((await g.fetch(`/v1/webhooks/${hook.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await jsonBody(await g.fetch('/v1/webhooks'))).toEqual([]);
  });

  it('checks bodies and scopes: submit tokens subscribe to a job, not to everything', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], webhooks: WEBHOOKS });
    const submit = (await jsonBody(await post(g, '/v1/tokens', { name: 'ci', scope: 'submit' }))).token as string;
    // Its own job: a subscription reads the job's events, so another token's job is not found (see ownership.test.ts).
    const job = await jsonBody(await post(g, '/v1/jobs', { graph: txt2img({ seed: 6 }) }, submit));
    const adminJob = await g.client.createJob({ graph: txt2img({ seed: 7 }) });
    expect((await post(g, '/v1/webhooks', { url: 'http://127.0.0.1:9/x' }, submit)).status).toBe(403);
    expect((await post(g, '/v1/webhooks', { url: 'http://127.0.0.1:9/x', jobId: job.id }, submit)).status).toBe(201);
    expect((await post(g, '/v1/webhooks', { url: 'http://127.0.0.1:9/x', jobId: adminJob.id }, submit)).status).toBe(
      404,
    );
    expect((await post(g, '/v1/webhooks', { url: 'http://127.0.0.1:9/x', jobId: 'nope' })).status).toBe(404);
    expect((await post(g, '/v1/webhooks', { url: 'ftp://127.0.0.1/x' })).status).toBe(400);
    expect((await post(g, '/v1/webhooks', { url: 'http://127.0.0.1:9/x', secret: 'whsec_c2hvcnQ=' })).status).toBe(400);
    expect((await post(g, '/v1/webhooks', { url: 'http://127.0.0.1:9/x', events: ['job:exploded'] })).status).toBe(400);
    const given = `whsec_${crypto.randomBytes(24).toString('base64')}`;
    expect((await subscribe(g, { url: 'http://127.0.0.1:9/x', secret: given, events: ['*'] })).secret).toBe(given);
  });

  it('retries 500, 500, then 200: delivered once acknowledged, three attempts listed', async () => {
    await using fake = await startFakeComfy();
    await using rx = await startReceiver((n) => (n <= 2 ? 500 : 200));
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], webhooks: WEBHOOKS });
    const hook = await subscribe(g, { url: rx.url });
    await g.client.createJob({ graph: txt2img({ seed: 7 }) });
    await waitFor(() => rx.hits.length === 3, { timeoutMs: 15_000, what: 'three attempts' });
    expect(new Set(rx.hits.map((h) => h.headers['webhook-id'])).size).toBe(1);
    expect(new Set(rx.hits.map((h) => h.raw.toString())).size).toBe(1); // the same bytes each time
    const deliveries = await waitFor(
      async () => {
        const d = await jsonBody(await g.fetch(`/v1/webhooks/${hook.id}/deliveries`));
        return d.length === 3 ? d : null;
      },
      { what: 'three delivery records' },
    );
    const eventId = rx.hits[0]!.body.data.event.id;
    expect(deliveries.map((d: Record<string, unknown>) => [d.eventId, d.attempt, d.status, d.delivered])).toEqual([
      [eventId, 3, 200, true],
      [eventId, 2, 500, false],
      [eventId, 1, 500, false],
    ]);
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.hits.length).toBe(3);
  });

  it('holds events while the receiver is down and delivers each exactly once, in order, when it is back', async () => {
    await using fake = await startFakeComfy();
    await using rx = await startReceiver();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], webhooks: WEBHOOKS });
    const hook = await subscribe(g, { url: rx.url, events: ['*'] });
    await rx.down();
    const jobs = await Promise.all(
      [1, 2, 3].map((seed) => g.client.createJob({ graph: txt2img({ seed: 10 + seed }) })),
    );
    await Promise.all(jobs.map((j) => g.client.waitForJob(j.id)));
    await waitFor(async () => (await jsonBody(await g.fetch(`/v1/webhooks/${hook.id}/deliveries`))).length >= 2, {
      what: 'failed attempts',
    });
    await rx.up();
    const expected = (await g.daemon.store.events.after(hook.lastEventId, 1000)).map((e) => e.id);
    await waitFor(() => rx.hits.length >= expected.length, { timeoutMs: 15_000, what: `${expected.length} events` });
    await new Promise((r) => setTimeout(r, 300));
    expect(eventIds(rx.hits)).toEqual(expected);
  });

  it('delivers the backlog after a daemon restart and re-sends nothing acknowledged', async () => {
    await using fake = await startFakeComfy();
    await using rx = await startReceiver();
    const home = makeHome();
    try {
      const opts = { backends: [{ name: 'a', url: fake.url }], webhooks: WEBHOOKS, home };
      const g1 = await startTestGateway(opts);
      const hook = await subscribe(g1, { url: rx.url, events: ['*'] });
      const a = await g1.client.createJob({ graph: txt2img({ seed: 21 }) });
      await waitFor(() => rx.hits.some((h) => h.body.type === 'job:succeeded'), {
        timeoutMs: 15_000,
        what: 'job A delivered',
      });
      await rx.down();
      const b = await g1.client.createJob({ graph: txt2img({ seed: 22 }) });
      await g1.client.waitForJob(b.id);
      await g1.close();
      await rx.up();

      await using g2 = await startTestGateway(opts);
      await waitFor(() => rx.hits.some((h) => h.body.type === 'job:succeeded' && h.body.data.jobId === b.id), {
        timeoutMs: 15_000,
        what: 'job B delivered',
      });
      const all = await g2.daemon.store.events.after(hook.lastEventId, 1000);
      const ofJobs = all.filter((e) => e.jobId === a.id || e.jobId === b.id).map((e) => e.id);
      await new Promise((r) => setTimeout(r, 300));
      const got = eventIds(rx.hits);
      expect(new Set(got).size).toBe(got.length); // nothing sent twice
      expect(got).toEqual([...got].sort((x, y) => x - y)); // in log order across the restart
      expect(got.filter((id) => ofJobs.includes(id))).toEqual(ofJobs); // nothing skipped
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('a receiver that hangs does not hold up jobs, and closing does not wait the timeout out', async () => {
    await using fake = await startFakeComfy();
    await using rx = await startReceiver(() => null);
    const g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], webhooks: WEBHOOKS });
    try {
      await subscribe(g, { url: rx.url, events: ['*'] });
      const t0 = Date.now();
      const jobs = await Promise.all(
        [1, 2, 3].map((seed) => g.client.createJob({ graph: txt2img({ seed: 30 + seed }) })),
      );
      const done = await Promise.all(jobs.map((j) => g.client.waitForJob(j.id)));
      expect(done.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(rx.hits.length).toBe(1); // still waiting on the first answer: delivery is in order, the engine is not
    } finally {
      const t1 = Date.now();
      await g.close();
      expect(Date.now() - t1).toBeLessThan(3_000);
    }
  });
});
