// Review of the engine, output and CLI changes (progress, output kinds, suggestions): each case failed before its fix.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { type FakeComfy, startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { repoRoot } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

let fake: FakeComfy;
let g: TestGateway;

beforeAll(async () => {
  fake = await startFakeComfy();
  g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  await waitFor(async () => (await g.client.backends())[0]?.health === 'up', { timeoutMs: 15_000, what: 'backend up' });
});
afterAll(async () => {
  await g?.close();
  await fake?.close();
});

async function post(path: string, body: unknown, signal?: AbortSignal) {
  const res = await g.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  const json = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, message: json.error.message };
}

describe('did-you-mean on hostile names', () => {
  // The edit distance is a table of name × candidate: a 2 MB name held the event loop for minutes (and gigabytes).
  // Any answer within the bound is fine; before the fix none came (the request was aborted).
  const huge = 'x'.repeat(2_000_000);
  it.each([
    ['parameter name', { template: 'txt2img', params: { prompt: 'a fox', [huge]: 1 } }, 400],
    ['combo value', { template: 'txt2img', params: { prompt: 'a fox', sampler: huge } }, 400],
  ])('a 2 MB %s is answered at once, without a suggestion', async (_what, body, status) => {
    const r = await post('/v1/jobs', body, AbortSignal.timeout(10_000));
    expect(r.status).toBe(status);
    expect(r.message).not.toContain('did you mean');
    expect(r.message.length).toBeLessThan(2_000); // the name is quoted cut short, not echoed whole
    // and the daemon still answers
    expect((await g.fetch('/v1/backends')).status).toBe(200);
  });
});

describe('text outputs of hostile size', () => {
  // PreviewAny nodes of 64 K characters each (StringConcatenate makes them from a short graph, up to 256 of them):
  // 16 M characters on the job row, in every job list, event and zip. 24 are enough to pass the per-job bound.
  it('keeps a bounded total of text on the job (the first texts, whole)', async () => {
    const big = 'a'.repeat(64 * 1024);
    const graph: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {};
    for (let i = 1; i <= 24; i++) graph[String(i)] = { class_type: 'PreviewAny', inputs: { source: big } };
    const job = await g.client.createJob({ graph: graph as never });
    const done = await g.client.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    const total = done.texts.reduce((n, t) => n + t.text.length, 0);
    // engine/harvest.ts keeps 256 K characters of text per job; more than one text fits.
    expect(total).toBeGreaterThan(64 * 1024);
    expect(total).toBeLessThanOrEqual(256 * 1024 + done.texts.length /* the cut mark */);
    expect(done.texts.length).toBeLessThan(24);
    expect(done.texts[0]!.text).toBe(big);
    const list = await g.fetch('/v1/jobs?limit=50');
    expect(list.status).toBe(200);
  });
});

/** The entry names of a zip, read by yauzl, which refuses a name that climbs out (`..`) or is absolute. */
function zipNames(buf: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const names: string[] = [];
      zip.on('error', reject);
      zip.on('entry', (e: yauzl.Entry) => (names.push(e.fileName), zip.readEntry()));
      zip.on('end', () => resolve(names));
      zip.readEntry();
    });
  });
}

describe('batch archive names', () => {
  // Node ids are the graph's keys, any string the submitter (or a shared template's author) chose.
  it('a node id with ../ stays one name inside the job folder', async () => {
    const graph = txt2img() as Record<string, unknown>;
    graph['../../../evil'] = graph['9'];
    delete graph['9'];
    const res = await g.fetch('/v1/batches', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'slip', matrix: { graph, prompts: ['a fox'] } }),
    });
    expect(res.status).toBe(201);
    const batch = await jsonBody(res);
    await waitFor(async () => (await jsonBody(await g.fetch(`/v1/batches/${batch.id}`))).done === 1, {
      timeoutMs: 30_000,
      what: 'batch done',
    });
    const zip = await g.fetch(`/v1/batches/${batch.id}/archive`);
    const names = await zipNames(Buffer.from(await zip.arrayBuffer()));
    expect(names.filter((n) => n !== 'manifest.json')).toEqual([
      expect.stringMatching(/^0001-[0-9a-f]{8}\/[^/]+\.png$/),
      expect.stringMatching(/^0001-[0-9a-f]{8}\/[^/]+\.thumb\.webp$/),
    ]);
    for (const n of names) expect(n.split('/')).not.toContain('..');
  });
});

describe('CLI output of text from the backend', () => {
  // A text output is whatever the graph (a shared template, a custom node) made: an OSC 52 sequence in it would
  // write the person's clipboard, others retitle or clear their terminal.
  it('shows control characters escaped, never sends them to the terminal', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-r3-'));
    try {
      const graphFile = path.join(tmp, 'g.json');
      const hostile = 'hi \u001b]52;c;ZXZpbA==\u0007 \u001b[2J\u009b31m there\nline two';
      fs.writeFileSync(graphFile, JSON.stringify({ '1': { class_type: 'PreviewAny', inputs: { source: hostile } } }));
      const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
      const cliMain = path.join(repoRoot, 'daemon/src/cli/main.ts');
      const args = [tsxCli, cliMain, '--url', g.url, '--token', g.token, 'submit', '--graph', graphFile];
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [...args, '--out', tmp], { cwd: tmp, timeout: 60_000 }, (err, out) =>
          err ? reject(err) : resolve(out),
        ),
      );
      expect(stdout).toContain('text (node 1): hi \\x1b]52;c;ZXZpbA==\\x07 \\x1b[2J\\x9b31m there\nline two');
      // eslint-disable-next-line no-control-regex -- what must not reach the terminal
      expect(stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('animated outputs of custom savers', () => {
  // VideoHelperSuite lists its files under `gifs` with a `format` and no `animated` flag; an image/gif or
  // image/webp one is an animation all the same, and post-processing (still images only) must leave it whole.
  it.each(['image/gif', 'image/webp'])('a VHS %s output is animated and gets no variants', async (format) => {
    await using vhs = await startFakeComfy({ extraNodes: ['VHS_VideoCombine'] });
    await using gw = await startTestGateway({ backends: [{ name: 'v', url: vhs.url }] });
    const graph = {
      '1': { class_type: 'EmptyImage', inputs: { width: 32, height: 32, batch_size: 2, color: 0x336699 } },
      '2': {
        class_type: 'VHS_VideoCombine',
        inputs: {
          images: ['1', 0],
          frame_rate: 8,
          loop_count: 0,
          filename_prefix: 'vhs',
          format,
          pingpong: false,
          save_output: true,
        },
      },
    };
    const job = await gw.client.createJob({ graph: graph as never });
    const done = await gw.client.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    expect(done.outputs.map((o) => [o.contentType, o.animated, o.variants.length])).toEqual([[format, true, 0]]);
  });
});

describe('CLI paths through pnpm', () => {
  // `pnpm comfygate` runs in the repository's root, with the person's folder in INIT_CWD: --out meant that folder,
  // but --graph and --postprocess were read from the root.
  it('reads --graph and --postprocess from the folder the command was typed in, like --out', async () => {
    const typedIn = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-r3-cwd-'));
    try {
      fs.writeFileSync(path.join(typedIn, 'g.json'), JSON.stringify(txt2img()));
      const spec = { variants: { small: { ops: [{ op: 'resize', width: 16 }] } } };
      fs.writeFileSync(path.join(typedIn, 'pp.json'), JSON.stringify(spec));
      const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
      const cliMain = path.join(repoRoot, 'daemon/src/cli/main.ts');
      const args = ['--url', g.url, '--token', g.token, 'submit', '--graph', 'g.json', '--postprocess', 'pp.json'];
      const env = { ...process.env, INIT_CWD: typedIn, npm_lifecycle_event: 'comfygate' };
      const r = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [tsxCli, cliMain, ...args], { cwd: repoRoot, env, timeout: 60_000 }, (err, o, e) =>
          resolve({ err, stdout: o, stderr: e }),
        ),
      );
      expect(r.stderr).toBe('');
      expect(r.err).toBeNull();
      const saved = fs.readdirSync(path.join(typedIn, 'comfygate-out')).sort();
      // named after the graph file (g.json), the variant beside its original
      expect(saved).toEqual([
        expect.stringMatching(/^g-[0-9a-f]{8}-1\.png$/),
        expect.stringMatching(/^g-[0-9a-f]{8}-1\.small\.\w+$/),
      ]);
    } finally {
      fs.rmSync(typedIn, { recursive: true, force: true });
    }
  });
});

describe('the sampler_name alias', () => {
  // A job's params take the old name for `sampler`; a batch's `vary` refused it ("does not have").
  it('is taken by a batch of variations too', async () => {
    const res = await g.fetch('/v1/batches', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        variations: {
          job: { template: 'txt2img', params: { prompt: 'a fox', steps: 1, width: 64, height: 64 } },
          vary: { sampler_name: ['euler', 'heun'] },
        },
      }),
    });
    const body = await jsonBody(res);
    expect([res.status, body.error?.message]).toEqual([201, undefined]);
    const samplers = await Promise.all(
      (body.jobIds as string[]).map(async (id) => (await g.client.getJob(id)).metadata.params as { sampler: string }),
    );
    expect(samplers.map((p) => p.sampler).sort()).toEqual(['euler', 'heun']);
    await g.fetch(`/v1/batches/${body.id}/cancel`, { method: 'POST' });
  });
});

describe('/api/v2 text output names', () => {
  // The name is what a client saves the text under; the node id in it came from the graph's author.
  it('keep a node id with ../ inside one portable file name', async () => {
    const graph = { '../../evil': { class_type: 'PreviewAny', inputs: { source: 'hello' } } };
    const job = await g.client.createJob({ graph: graph as never });
    expect((await g.client.waitForJob(job.id)).state).toBe('succeeded');
    const v2 = (await (await g.fetch(`/api/v2/jobs/${job.id}`)).json()) as {
      outputs: { type: string; name: string; url: string; node_id: string }[];
    };
    const text = v2.outputs.find((o) => o.type === 'text')!;
    expect(text.node_id).toBe('../../evil');
    expect(text.name).toMatch(/^[A-Za-z0-9_.-]+\.txt$/);
    expect(text.name).not.toContain('/');
    const asset = (await (await g.fetch(new URL(text.url).pathname.replace(/\/content$/, ''))).json()) as {
      file_path: string;
    };
    expect(asset.file_path).toBe(text.name);
    const content = await g.fetch(new URL(text.url).pathname);
    expect([content.status, await content.text()]).toEqual([200, 'hello']);
  });
});
