// `npx tsx bench/floods.ts` (from test/): the cheap denial-of-service floods of the hardening work, each against a
// fresh daemon in a child process (`comfygate start`, default limits), with /healthz latency and the daemon's RSS
// sampled while it runs. Prints one table; no asserts (the e2e tests in e2e/hardening-*.test.ts hold the bounds).
import { request } from 'undici';
import WebSocket from 'ws';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startChildDaemon, type ChildDaemon } from '../helpers/child-daemon.js';
import { txt2img } from '../helpers/graphs.js';

interface Row {
  flood: string;
  outcome: string;
  ms: number;
  healthzP50: number;
  healthzMax: number;
  rssBeforeMb: number;
  rssPeakMb: number;
}

const mb = (b: number) => Math.round(b / 2 ** 20);
const auth = (d: ChildDaemon) => ({ authorization: `Bearer ${d.token}` });
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

/** Runs `flood` while probing /healthz every 20 ms and sampling RSS. */
async function measure(d: ChildDaemon, name: string, flood: () => Promise<string>): Promise<Row> {
  const rssBefore = d.rssBytes();
  let peak = rssBefore;
  const lat: number[] = [];
  let stop = false;
  const probe = (async () => {
    // eslint-disable-next-line no-unmodified-loop-condition -- set once the flood is over
    while (!stop) {
      const t0 = performance.now();
      const r = await request(d.url + '/healthz');
      await r.body.dump();
      lat.push(performance.now() - t0);
      peak = Math.max(peak, d.rssBytes());
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const t0 = performance.now();
  const outcome = await flood();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 200));
  stop = true;
  await probe;
  return {
    flood: name,
    outcome,
    ms: Math.round(ms),
    healthzP50: Math.round(pct(lat, 0.5)),
    healthzMax: Math.round(Math.max(...lat)),
    rssBeforeMb: mb(rssBefore),
    rssPeakMb: mb(peak),
  };
}

function socketFlood(d: ChildDaemon, frame: string, count: number): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(d.url.replace('http', 'ws') + '/v1/ws', {
      headers: { authorization: `Bearer ${d.token}` },
    });
    const timer = setTimeout(() => (ws.terminate(), resolve('still open after 30 s')), 30_000);
    ws.on('close', (code) => (clearTimeout(timer), resolve(`closed ${code}`)));
    ws.on('error', () => {});
    ws.on('open', async () => {
      for (let i = 0; i < count && ws.readyState === WebSocket.OPEN; i++) {
        ws.send(frame);
        if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
      }
    });
  });
}

async function post(d: ChildDaemon, path: string, body: string): Promise<string> {
  const r = await request(d.url + path, {
    method: 'POST',
    headers: { ...auth(d), 'content-type': 'application/json' },
    body,
  });
  const text = await r.body.text();
  return `${r.statusCode} ${r.statusCode >= 400 ? (JSON.parse(text) as { error: { code: string } }).error.code : ''}`.trim();
}

const fake = await startFakeComfy({ stepMs: 200 });
const rows: Row[] = [];
try {
  const floods: [string, (d: ChildDaemon) => Promise<string>][] = [
    [
      '3,000 subscribe frames on one /v1/ws',
      (d) => socketFlood(d, JSON.stringify({ type: 'subscribe', since: 0 }), 3_000),
    ],
    ['100k invalid frames on one /v1/ws', (d) => socketFlood(d, 'not json', 100_000)],
    [
      '9 MB prompt',
      (d) => post(d, '/v1/jobs', JSON.stringify({ template: 'txt2img', params: { prompt: 'x'.repeat(9 * 2 ** 20) } })),
    ],
    [
      '100k-node graph',
      (d) => {
        const g: Record<string, unknown> = txt2img();
        for (let i = 0; i < 100_000; i++) g[`n${i}`] = { class_type: 'PrimitiveNode', inputs: { value: i } };
        return post(d, '/v1/jobs', JSON.stringify({ graph: g }));
      },
    ],
    [
      '31 blurs σ100 after a 6000 px resize',
      (d) =>
        post(
          d,
          '/v1/jobs',
          JSON.stringify({
            graph: txt2img(),
            postprocess: {
              variants: {
                hero: {
                  ops: [
                    { op: 'resize', width: 6000, height: 6000, fit: 'fill' },
                    ...Array(31).fill({ op: 'blur', sigma: 100 }),
                  ],
                },
              },
            },
          }),
        ),
    ],
    [
      '64 v2 event streams from one token',
      async (d) => {
        const job = await request(d.url + '/api/v2/jobs', {
          method: 'POST',
          headers: { ...auth(d), 'content-type': 'application/json' },
          body: JSON.stringify({ workflow: txt2img({ steps: 200 }) }),
        });
        const id = ((await job.body.json()) as { id: string }).id;
        const streams = await Promise.all(
          Array.from({ length: 64 }, () => request(`${d.url}/api/v2/jobs/${id}/events`, { headers: auth(d) })),
        );
        const ok = streams.filter((s) => s.statusCode === 200).length;
        for (const s of streams) s.body.on('error', () => {}).destroy();
        return `${ok} opened, ${64 - ok} refused (429)`;
      },
    ],
  ];
  for (const [name, flood] of floods) {
    const d = await startChildDaemon({ backends: [{ name: 'a', url: fake.url }] });
    try {
      // Some history, so that a subscribe with `since` has a log to replay.
      for (let i = 0; i < 20; i++) await post(d, '/v1/jobs', JSON.stringify({ graph: txt2img({ seed: i }) }));
      rows.push(await measure(d, name, () => flood(d)));
    } finally {
      await d.close();
    }
  }
} finally {
  await fake.close();
}
console.table(rows);
