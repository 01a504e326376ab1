// Every kind of output ComfyUI reports: still and animated images, video (core savers under `images` with
// `animated`, and VideoHelperSuite's `gifs`), and text (PreviewAny). Files become assets with their real
// content type; text stays on the job, in /v1, /api/v2, the batch manifest and the watched folder.
import fs from 'node:fs';
import path from 'node:path';
import yauzl from 'yauzl';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';
import { FAST_WATCH, tempFolders, waitForFile } from '../helpers/watch.js';

type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

/** One image into a still PNG, an animated WEBP, a WEBM, a VHS mp4, and an int into PreviewAny. */
function allKinds(value = 42): Graph {
  const img = ['1', 0];
  return {
    '1': { class_type: 'EmptyImage', inputs: { width: 32, height: 32, batch_size: 1, color: 0x336699 } },
    '2': { class_type: 'SaveImage', inputs: { images: img, filename_prefix: 'still' } },
    '3': {
      class_type: 'SaveAnimatedWEBP',
      inputs: { images: img, filename_prefix: 'anim', fps: 6, lossless: true, quality: 80, method: 'default' },
    },
    '4': { class_type: 'SaveWEBM', inputs: { images: img, filename_prefix: 'clip', codec: 'vp9', fps: 24, crf: 32 } },
    '5': {
      class_type: 'VHS_VideoCombine',
      inputs: {
        images: img,
        frame_rate: 8,
        loop_count: 0,
        filename_prefix: 'vhs',
        format: 'video/h264-mp4',
        pingpong: false,
        save_output: true,
      },
    },
    '6': { class_type: 'PrimitiveInt', inputs: { value } },
    '7': { class_type: 'PreviewAny', inputs: { source: ['6', 0] } },
  };
}

const folders = tempFolders();
afterEach(() => folders.cleanup());

async function gateway(extra: Parameters<typeof startTestGateway>[0] extends infer O ? Partial<O> : never = {}) {
  const fake = await startFakeComfy({ extraNodes: ['VHS_VideoCombine'] });
  const g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], ...extra });
  return { fake, g, [Symbol.asyncDispose]: async () => (await g.close(), await fake.close()) };
}

function unzip(buf: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('entry', (e: yauzl.Entry) =>
        zip.openReadStream(e, (er, rs) => {
          if (er || !rs) return reject(er);
          const chunks: Buffer[] = [];
          rs.on('data', (c: Buffer) => chunks.push(c));
          rs.on('end', () => (out.set(e.fileName, Buffer.concat(chunks)), zip.readEntry()));
        }),
      );
      zip.on('end', () => resolve(out));
      zip.readEntry();
    });
  });
}

/** The job's durable events from the start of the log, read until its terminal one. */
async function events(g: TestGateway, jobId: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const got: { type: string; data: Record<string, unknown> }[] = [];
  const stop = AbortSignal.timeout(10_000);
  for await (const e of g.client.events({ job: jobId, since: 0, signal: stop })) {
    if (e.type === 'job:progress') continue;
    got.push({ type: e.type, data: e.data });
    if (e.type === 'job:succeeded' || e.type === 'job:failed') break;
  }
  return got;
}

describe('every output kind', () => {
  it('/v1: files as assets with their content type and animated flag, text on the job, variants for still images only', async () => {
    await using env = await gateway();
    const { g } = env;
    const job = await g.client.createJob({ graph: allKinds() as never });
    const done = await g.client.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    const byNode = Object.fromEntries(done.outputs.map((o) => [o.nodeId, o]));
    expect(Object.keys(byNode).sort()).toEqual(['2', '3', '4', '5']);
    expect([byNode['2']!.contentType, byNode['2']!.animated]).toEqual(['image/png', false]);
    expect([byNode['3']!.contentType, byNode['3']!.animated]).toEqual(['image/webp', true]);
    expect([byNode['4']!.contentType, byNode['4']!.animated]).toEqual(['video/webm', true]);
    expect([byNode['5']!.contentType, byNode['5']!.filename]).toEqual([
      'video/mp4',
      expect.stringMatching(/^vhs_\d{5}_\.mp4$/),
    ]);
    expect(done.texts).toEqual([{ nodeId: '7', index: 0, text: '42' }]);
    // Only the still image gets a thumbnail; the others are kept as they came, and a warning says so.
    expect(byNode['2']!.variants.map((v) => v.variant)).toEqual(['thumb']);
    for (const n of ['3', '4', '5']) expect(byNode[n]!.variants).toEqual([]);
    const all = await events(g, job.id);
    const warning = all.find((e) => e.type === 'job:warning');
    expect(warning?.data.message).toMatch(/still images only/);
    expect((warning?.data.outputs as { nodeId: string }[]).map((o) => o.nodeId).sort()).toEqual(['3', '4', '5']);
    const webm = await g.fetch(`/v1/outputs/${byNode['4']!.id}`);
    expect(webm.headers.get('content-type')).toBe('video/webm');
    expect(Buffer.from(await webm.arrayBuffer()).subarray(0, 4)).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]));
  });

  it('/api/v2: video, image and text outputs, the text readable as an asset', async () => {
    await using env = await gateway();
    const { g } = env;
    const job = await g.client.createJob({ graph: allKinds(7) as never });
    expect((await g.client.waitForJob(job.id)).state).toBe('succeeded');
    type V2Output = {
      node_id: string;
      type: string;
      url: string;
      text?: string;
      size_bytes: number;
      content_type: string;
    };
    const v2 = (await (await g.fetch(`/api/v2/jobs/${job.id}`)).json()) as { outputs: V2Output[] };
    const types = Object.fromEntries(v2.outputs.map((o) => [o.node_id, o.type]));
    expect(types).toEqual({ '2': 'image', '3': 'image', '4': 'video', '5': 'video', '7': 'text' });
    const text = v2.outputs.find((o) => o.type === 'text')!;
    expect(text).toMatchObject({ text: '7', size_bytes: 1, content_type: 'text/plain; charset=utf-8' });
    const content = await g.fetch(new URL(text.url).pathname);
    expect([content.status, await content.text()]).toEqual([200, '7']);
    const asset = await g.fetch(new URL(text.url).pathname.replace(/\/content$/, ''));
    expect(await asset.json()).toMatchObject({ size_bytes: 1, job_id: job.id });
    // An id naming no text of a real job is a 404, like any unknown asset.
    const missing = await g.fetch(`/api/v2/assets/text.${job.id}.3.7/content`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect(
      (await g.fetch(`/api/v2/assets/text.${job.id}.0.7/content`, { headers: { authorization: 'Bearer nope' } }))
        .status,
    ).toBe(401);
  });

  it('the batch zip manifest carries text outputs, content types and the animated flag', async () => {
    await using env = await gateway();
    const { g } = env;
    const res = await g.fetch('/v1/batches', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kinds', jobs: [{ graph: allKinds(1) }, { graph: allKinds(2) }] }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await waitFor(async () => ((await (await g.fetch(`/v1/batches/${id}`)).json()) as { done: number }).done === 2, {
      what: 'batch done',
    });
    const zip = await unzip(Buffer.from(await (await g.fetch(`/v1/batches/${id}/archive`)).arrayBuffer()));
    type Manifest = {
      jobs: { texts: { text: string }[]; files: { path: string; contentType: string; animated: boolean }[] }[];
    };
    const manifest = JSON.parse(zip.get('manifest.json')!.toString()) as Manifest;
    expect(manifest.jobs.map((j) => j.texts.map((t) => t.text))).toEqual([['1'], ['2']]);
    const webm = manifest.jobs[0]!.files.find((f) => f.contentType === 'video/webm')!;
    expect(webm.animated).toBe(true);
    expect(webm.path).toMatch(/\/4_0\.webm$/);
    expect(zip.get(webm.path)!.subarray(0, 4)).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]));
  });

  it('a watched folder gets <name>.out.txt beside the image, and never takes it for a prompt', async () => {
    await using env = await gateway({ watchOptions: FAST_WATCH });
    const { g } = env;
    await waitFor(async () => (await g.client.backends())[0]?.health === 'up', { what: 'backend up' });
    const graph = {
      ...txt2img({ steps: 1 }),
      '20': { class_type: 'PrimitiveInt', inputs: { value: 99 } },
      '21': { class_type: 'PreviewAny', inputs: { source: ['20', 0] } },
    };
    await g.client.importTemplate({ name: 'with-text', graph: graph as never });
    const dir = folders.make();
    await g.client.addWatchRule({ id: 'texts', dir, template: 'with-text' });
    fs.writeFileSync(path.join(dir, 'fox.txt'), 'a red fox\n');
    await waitForFile(path.join(dir, 'fox.out.txt'));
    await waitForFile(path.join(dir, 'fox.out.png'));
    expect(fs.readFileSync(path.join(dir, 'fox.out.txt'), 'utf8')).toBe('99\n');
    const files = await g.client.watchFiles('texts');
    expect(files.map((f) => [f.path, f.state])).toEqual([['fox.txt', 'done']]);
    expect(files[0]!.outputs).toContain(path.join(dir, 'fox.out.txt'));
    await new Promise((r) => setTimeout(r, FAST_WATCH.stableMs * 3)); // time for the .txt output to be (wrongly) taken as a prompt
    expect((await g.client.watchFiles('texts')).map((f) => f.path)).toEqual(['fox.txt']);
  });
});
