// Comfy API v2 through the official @comfyorg/sdk, used exactly as its README says, against a real gateway
// and the fake ComfyUI over real HTTP.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { Comfy, type ComfyEvent, MissingAsset, NotFound, WorkflowFormatUi } from '@comfyorg/sdk';
import { INTERNAL } from '@comfygate/daemon';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The SDK reads COMFY_BASE_URL at construction only; the SDK appends /api/v2 itself. */
function sdk(g: TestGateway): Comfy {
  const before = process.env.COMFY_BASE_URL;
  process.env.COMFY_BASE_URL = g.url;
  try {
    return new Comfy({ apiKey: g.token });
  } finally {
    if (before === undefined) delete process.env.COMFY_BASE_URL;
    else process.env.COMFY_BASE_URL = before;
  }
}

/** txt2img with its latent taken from an input image (LoadImage → VAEEncode), image input at node 10. */
function img2img(seed = 1) {
  const g: Record<string, { class_type: string; inputs: Record<string, unknown> }> = txt2img({ seed });
  delete g['5'];
  g['10'] = { class_type: 'LoadImage', inputs: { image: 'placeholder.png' } };
  g['11'] = { class_type: 'VAEEncode', inputs: { pixels: ['10', 0], vae: ['4', 2] } };
  g['3']!.inputs.latent_image = ['11', 0];
  g['3']!.inputs.denoise = 0.6;
  return g;
}

const tmpFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-v2-')), name);

describe('@comfyorg/sdk against comfygate', () => {
  it('run() produces the image, downloadable whole or by range, and the workflow comes back', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const client = sdk(g);
    const job = await client.run(client.workflows.fromJson(txt2img({ seed: 5 })), { timeoutMs: 30_000 });
    expect(job.status).toBe('succeeded');
    const [out] = job.getOutputs('9');
    expect(out).toBeDefined();
    expect([out!.type, out!.contentType, out!.jobId]).toEqual(['image', 'image/png', job.id]);
    const file = tmpFile('out.png');
    await out!.toFile(file);
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(bytes.length).toBe(out!.sizeBytes);
    expect((await sharp(bytes).metadata()).width).toBe(64);
    expect(Buffer.from(await out!.toBytes({ range: [0, 7] }))).toEqual(PNG_SIGNATURE);
    const { workflow, format } = await job.getWorkflow();
    expect(format).toBe('api');
    expect((workflow['3'] as { inputs: { seed: number } }).inputs.seed).toBe(5);
    expect((await client.jobs.get(job.id)).status).toBe('succeeded');
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('uploads an input through an asset handle and runs a job that loads it', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const client = sdk(g);
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c83232' } })
      .png()
      .toBuffer();
    const asset = client.assets.fromBytes(new Uint8Array(png), { filename: 'in.png', contentType: 'image/png' });
    const wf = client.workflows.fromJson(img2img());
    wf.setInput('10', 'image', asset);
    const job = await client.run(wf, { timeoutMs: 30_000 });
    expect(job.status).toBe('succeeded');
    expect(asset.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(asset.createdNew).toBe(true);
    // The fake's input/ holds exactly our bytes, under the name the engine staged them as.
    const sha = crypto.createHash('sha256').update(png).digest('hex');
    const staged = await fetch(`${fake.url}/view?filename=cg_${sha.slice(0, 24)}.png&subfolder=comfygate&type=input`);
    expect(staged.status).toBe(200);
    expect(Buffer.from(await staged.arrayBuffer())).toEqual(png);
    const sent = await job.getWorkflow();
    expect(
      (sent.workflow['10'] as { inputs: { image: { __type: string; info: { id: string } } } }).inputs.image,
    ).toMatchObject({ __type: 'core/ASSET', info: { id: asset.id } });
    // The same bytes under the same name are the same asset; the handle can be rehydrated and deleted.
    const again = client.assets.fromBytes(new Uint8Array(png), { filename: 'in.png', contentType: 'image/png' });
    expect(await again.commit()).toBe(asset.id);
    expect(again.createdNew).toBe(false);
    const got = await client.assets.get(asset.id!);
    expect([got.filePath, got.jobId, got.expiresAt]).toEqual(['in.png', undefined, undefined]);
    await asset.delete();
    await expect(client.assets.get(got.id!)).rejects.toBeInstanceOf(NotFound);
  });

  it('raises typed errors: a UI export, an unknown asset reference, an unknown job', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const client = sdk(g);
    await expect(
      client.submit(client.workflows.fromJson({ nodes: [], links: [], last_node_id: 0 })),
    ).rejects.toBeInstanceOf(WorkflowFormatUi);
    const wf = img2img();
    wf['10']!.inputs.image = { __type: 'core/ASSET', info: { id: crypto.randomUUID() } };
    const err = await client.submit(client.workflows.fromJson(wf)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingAsset);
    await expect(client.jobs.get(crypto.randomUUID())).rejects.toBeInstanceOf(NotFound);
  });

  it('cancel() stops a long job: canceling, then canceled', async () => {
    await using fake = await startFakeComfy({ stepMs: 200 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const client = sdk(g);
    const job = await client.submit(client.workflows.fromJson(txt2img({ steps: 100 })));
    await waitFor(async () => (await job.refresh()).status === 'running', { what: 'job running' });
    await job.cancel();
    expect(['canceling', 'canceled']).toContain(job.status);
    await job.wait(30_000);
    expect(job.status).toBe('canceled');
    await job.cancel(); // idempotent on a finished job
    expect(job.status).toBe('canceled');
  });

  it('events() streams status, progress, previews and outputs, and ends on the terminal status', async () => {
    await using fake = await startFakeComfy({ stepMs: 40, previewMethod: 'auto' });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const client = sdk(g);
    const job = await client.submit(client.workflows.fromJson(txt2img({ steps: 40 })));
    const seen: ComfyEvent[] = [];
    const startedAt = Date.now();
    for await (const e of job.events()) seen.push(e);
    const elapsedMs = Date.now() - startedAt;
    const kinds = seen.map((e) => e.kind);
    expect(kinds[0]).toBe('statusChange');
    expect(seen.at(-1)).toMatchObject({ kind: 'statusChange', status: 'succeeded' });
    const progress = seen.filter((e) => e.kind === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.value >= 0 && p.value <= 1 && p.nodesTotal === 7)).toBe(true);
    // ≤ 2 frames a second (plus the snapshot on connect and a trailing frame), not one per sampler step.
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / 500) + 2);
    expect(kinds).toContain('preview');
    const output = seen.find((e) => e.kind === 'outputReady');
    expect(output && output.kind === 'outputReady' && output.output.nodeId).toBe('9');
    expect(kinds.lastIndexOf('outputReady')).toBeLessThan(kinds.length - 1);
    await job.refresh();
    expect(job.outputs.map((o) => o.id)).toEqual([output!.kind === 'outputReady' ? output!.output.id : '']);
  });

  it('a backend killed mid-job: the SDK still sees the job succeed on the other one', async () => {
    await using a = await startFakeComfy({ stepMs: 100 });
    await using b = await startFakeComfy({ stepMs: 100 });
    await using g = await startTestGateway({
      backends: [
        { name: 'a', url: a.url, inflight: 1 },
        { name: 'b', url: b.url, inflight: 1 },
      ],
    });
    const client = sdk(g);
    await waitFor(() => g.daemon.backends().every((x) => x.health === 'up'), { what: 'backends up' });
    const job = await client.submit(client.workflows.fromJson(txt2img({ steps: 30 })));
    await waitFor(async () => (await job.refresh()).status === 'running', { what: 'job running' });
    const first = (await g.daemon.get(job.id, INTERNAL)).backend;
    await (first === 'a' ? a : b).control.crash();
    await job.wait(60_000); // any 5xx on a poll would throw here
    expect(job.status).toBe('succeeded');
    const done = await g.daemon.get(job.id, INTERNAL);
    expect(done.attempts).toBe(2);
    expect(done.backend).not.toBe(first);
  });

  it('with every backend down, polls still answer 200 and the job waits queued', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    await fake.control.down();
    await waitFor(() => g.daemon.backends().every((x) => x.health === 'down'), { what: 'backend down' });
    const client = sdk(g);
    const job = await client.submit(client.workflows.fromJson(txt2img({ seed: 8 })));
    for (let i = 0; i < 5; i++) {
      await job.refresh();
      expect(job.status).toBe('queued');
      await new Promise((r) => setTimeout(r, 100));
    }
    await fake.control.up();
    await job.wait(30_000);
    expect(job.status).toBe('succeeded');
  });
});
