/**
 * API latency under load: job create and get from 50 concurrent clients, against a bare express route as the
 * floor, measured side by side in one run; and SSE fan-out to 100 subscribers (event commit -> delivery).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Pool } from 'undici';
import { parseSse } from '@comfygate/shared';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';

const CLIENTS = 50;
const ROUNDS = 40;
const SUBSCRIBERS = 100;
const FANOUT_JOBS = 20;

export interface LatencyFigures {
  p50: number;
  p99: number;
  n: number;
}

export const percentiles = (xs: number[]): LatencyFigures => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), n: s.length };
};

async function timed(fn: () => Promise<void>, into: number[]): Promise<void> {
  const t0 = performance.now();
  await fn();
  into.push(performance.now() - t0);
}

/** `CLIENTS` workers, each `ROUNDS` times: one POST then one GET. */
async function load(
  pool: Pool,
  post: { path: string; body: string; headers: Record<string, string> },
  get: (id: string) => string,
  headers: Record<string, string>,
) {
  const creates: number[] = [];
  const gets: number[] = [];
  const worker = async () => {
    for (let i = 0; i < ROUNDS; i++) {
      let id = '';
      await timed(async () => {
        const r = await pool.request({ method: 'POST', path: post.path, body: post.body, headers: post.headers });
        id = ((await r.body.json()) as { id?: string }).id ?? 'x';
      }, creates);
      await timed(
        async () => void (await (await pool.request({ method: 'GET', path: get(id), headers })).body.text()),
        gets,
      );
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  return { create: percentiles(creates), get: percentiles(gets) };
}

async function bareExpress() {
  const app = express();
  app.use(express.json());
  app.post('/hello', (_req, res) => void res.status(201).json({ id: 'hello' }));
  app.get('/hello/:id', (req, res) => void res.json({ id: req.params.id }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CLIENTS });
  const json = { 'content-type': 'application/json' };
  try {
    return await load(pool, { path: '/hello', body: '{"a":1}', headers: json }, (id) => `/hello/${id}`, {});
  } finally {
    await pool.close();
    server.close();
  }
}

async function gatewayLoad() {
  // A backend with nothing listening: jobs queue, so this measures the API and the store, not the engine.
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: 'http://127.0.0.1:9' }],
    security: { rateLimitPerMinute: 1_000_000 },
  });
  const pool = new Pool(g.url, { connections: CLIENTS });
  const auth = { authorization: `Bearer ${g.token}` };
  try {
    const body = JSON.stringify({ graph: txt2img() });
    return await load(
      pool,
      { path: '/v1/jobs', body, headers: { ...auth, 'content-type': 'application/json' } },
      (id) => `/v1/jobs/${id}`,
      auth,
    );
  } finally {
    await pool.close();
  }
}

async function sseFanout(): Promise<LatencyFigures> {
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: 'http://127.0.0.1:9' }],
    security: { rateLimitPerMinute: 1_000_000 },
  });
  const delays: number[] = [];
  const ctrl = new AbortController();
  let ready = 0;
  const subscriber = async () => {
    const res = await fetch(`${g.url}/v1/events`, {
      headers: { authorization: `Bearer ${g.token}` },
      signal: ctrl.signal,
    });
    ready++;
    try {
      for await (const m of parseSse(res.body!)) {
        const e = JSON.parse(m.data) as { type: string; at: number };
        if (e.type === 'job:queued') delays.push(Date.now() - e.at);
      }
    } catch {
      /* aborted at the end */
    }
  };
  const subs = Array.from({ length: SUBSCRIBERS }, subscriber);
  // eslint-disable-next-line no-unmodified-loop-condition -- each subscriber's handshake raises `ready`
  while (ready < SUBSCRIBERS) await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < FANOUT_JOBS; i++) await g.client.createJob({ graph: txt2img({ seed: i }) });
  const deadline = Date.now() + 20_000;
  while (delays.length < SUBSCRIBERS * FANOUT_JOBS && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  ctrl.abort();
  await Promise.allSettled(subs);
  return percentiles(delays);
}

export async function runApiLatency() {
  const floor = await bareExpress();
  const gateway = await gatewayLoad();
  const fanout = await sseFanout();
  return {
    clients: CLIENTS,
    rounds: ROUNDS,
    floor,
    gateway,
    sse: { subscribers: SUBSCRIBERS, jobs: FANOUT_JOBS, delivery: fanout },
  };
}

/** Human-readable figures with the ratios against the floor. */
export function apiLatencyLines(r: Awaited<ReturnType<typeof runApiLatency>>): string[] {
  const f = (x: LatencyFigures) => `p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms (n=${x.n})`;
  return [
    `${r.clients} concurrent clients x ${r.rounds} rounds (loopback)`,
    `bare express POST: ${f(r.floor.create)}   GET: ${f(r.floor.get)}`,
    `comfygate create:  ${f(r.gateway.create)}   get: ${f(r.gateway.get)}`,
    `ratio p50 create/bare: ${(r.gateway.create.p50 / r.floor.create.p50).toFixed(1)}x, get/bare: ${(r.gateway.get.p50 / r.floor.get.p50).toFixed(1)}x; p99 create/bare ${(r.gateway.create.p99 / r.floor.create.p99).toFixed(1)}x`,
    `SSE fan-out to ${r.sse.subscribers} subscribers, ${r.sse.jobs} jobs: event commit -> delivery ${f(r.sse.delivery)}`,
  ];
}
