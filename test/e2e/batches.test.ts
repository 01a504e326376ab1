import crypto from 'node:crypto';
import { expect, it } from 'vitest';
import yauzl from 'yauzl';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

/** Every entry of a zip, read with an independent implementation (yauzl), as name -> bytes. */
function unzip(buf: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('entry', (e: yauzl.Entry) => {
        zip.openReadStream(e, (er, rs) => {
          if (er || !rs) return reject(er);
          const chunks: Buffer[] = [];
          rs.on('data', (c: Buffer) => chunks.push(c));
          rs.on('end', () => (out.set(e.fileName, Buffer.concat(chunks)), zip.readEntry()));
        });
      });
      zip.on('end', () => resolve(out));
      zip.readEntry();
    });
  });
}

const post = (g: Awaited<ReturnType<typeof startTestGateway>>, body: unknown) =>
  g.fetch('/v1/batches', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

it('a 40-job matrix batch runs end to end and its zip holds every file with a correct manifest', async () => {
  const fakes = await Promise.all([startFakeComfy({ stepMs: 1 }), startFakeComfy({ stepMs: 1 })]);
  try {
    await using g = await startTestGateway({ backends: fakes.map((f, i) => ({ name: `b${i}`, url: f.url })) });
    const prompts = ['a fox', 'a heron', 'a lighthouse', 'an owl'];
    const seeds = Array.from({ length: 10 }, (_, i) => 100 + i);
    const res = await post(g, { name: 'zoo', matrix: { graph: txt2img(), prompts, seeds } });
    expect(res.status).toBe(201);
    const created = await jsonBody(res);
    expect(created).toMatchObject({ name: 'zoo', total: 40 });
    const done = await waitFor(
      async () => {
        const b = await jsonBody(await g.fetch(`/v1/batches/${created.id}`));
        return b.done === 40 ? b : null;
      },
      { timeoutMs: 60_000, what: 'batch done' },
    );
    expect(done.counts.succeeded).toBe(40);
    expect(done.etaMs).toBe(0);

    const zipRes = await g.fetch(`/v1/batches/${created.id}/archive`);
    expect(zipRes.headers.get('content-type')).toBe('application/zip');
    const entries = await unzip(Buffer.from(await zipRes.arrayBuffer()));
    const manifest = JSON.parse(entries.get('manifest.json')!.toString());
    expect(manifest.jobs).toHaveLength(40);
    const combos = new Set(
      manifest.jobs.map((j: { matrix: Record<string, unknown> }) => `${j.matrix['6.text']}|${j.matrix['3.seed']}`),
    );
    expect(combos.size).toBe(40);
    for (const job of manifest.jobs) {
      expect(job.state).toBe('succeeded');
      expect(job.files.map((f: { variant: string | null }) => f.variant)).toEqual([null, 'thumb']);
      for (const f of job.files) {
        const bytes = entries.get(f.path);
        expect(bytes, f.path).toBeDefined();
        expect(crypto.createHash('sha256').update(bytes!).digest('hex')).toBe(f.sha256);
      }
    }
    expect(entries.size).toBe(1 + 40 * 2);
  } finally {
    await Promise.all(fakes.map((f) => f.close()));
  }
});

it('cancels a batch, and refuses bad batches naming the problem', async () => {
  await using fake = await startFakeComfy();
  await fake.control.down();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  const created = await jsonBody(
    await post(g, { jobs: [{ graph: txt2img({ seed: 1 }) }, { graph: txt2img({ seed: 2 }) }] }),
  );
  const canceled = await jsonBody(await g.fetch(`/v1/batches/${created.id}/cancel`, { method: 'POST' }));
  expect(canceled.counts.canceled).toBe(2);
  expect(canceled.canceledAt).not.toBeNull();

  const tooBig = await post(g, {
    matrix: {
      graph: txt2img(),
      seeds: Array.from({ length: 40 }, (_, i) => i),
      axes: [{ node: '3', input: 'steps', values: Array.from({ length: 30 }, (_, i) => i + 1) }],
    },
  });
  expect([tooBig.status, (await jsonBody(tooBig)).error.message]).toEqual([
    400,
    'the matrix makes 1200 jobs; the limit is 1000',
  ]);
  const badNode = await post(g, { matrix: { graph: txt2img(), axes: [{ node: '99', input: 'x', values: [1] }] } });
  expect((await jsonBody(badNode)).error.message).toContain('node 99');
  const both = await post(g, { jobs: [{ graph: txt2img() }], matrix: { graph: txt2img(), seeds: [1] } });
  expect(both.status).toBe(400);
  const badJob = await post(g, { jobs: [{ graph: txt2img() }, { graph: txt2img(), backend: 'nowhere' }] });
  expect((await jsonBody(badJob)).error.message).toContain('job 1');
  expect((await jsonBody(await g.fetch('/v1/batches/nope'))).error.code).toBe('not_found');
});
