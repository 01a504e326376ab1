// Comfy API v2 assets, auth and SSE over raw HTTP (shared/comfy-api-v2.md §2.2, §3, §4.6, §5.1–§5.6, §7).
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { schemas } from '@comfyorg/sdk/low';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { txt2img } from '../helpers/graphs.js';

// Required keys of an Asset, from §4.6 of the document.
const ASSET_KEYS = ['id', 'hash', 'size_bytes', 'content_type', 'created_at', 'url', 'url_expires_at'];

async function expectError(res: Response, status: number, code: string) {
  const body = await jsonBody(res);
  expect([res.status, body.error?.code], JSON.stringify(body)).toEqual([status, code]);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.details === null || typeof body.error.details === 'object').toBe(true);
}

function expectAsset(a: Record<string, unknown>) {
  for (const k of ASSET_KEYS) expect(a, `asset.${k}`).toHaveProperty(k);
  expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v2\/assets\/.+\/content$/);
  schemas.zAsset.parse(a);
}

/** The SDK's wire order (§5.1): content_type, file_path, expected_hash, then file. */
function form(
  bytes: Uint8Array | string,
  opts: { contentType?: string; filePath?: string; fileFirst?: boolean } = {},
): FormData {
  const f = new FormData();
  const file = new Blob([bytes], { type: 'application/octet-stream' });
  if (opts.fileFirst) f.append('file', file, 'x.bin');
  if (opts.contentType !== '') f.append('content_type', opts.contentType ?? 'image/png');
  if (opts.filePath !== '') f.append('file_path', opts.filePath ?? 'in.png');
  f.append('expected_hash', `blake3:${'0'.repeat(64)}`);
  if (!opts.fileFirst) f.append('file', file, 'x.bin');
  return f;
}

const upload = (g: TestGateway, body: FormData) => g.fetch('/api/v2/assets', { method: 'POST', body });
const png = () =>
  sharp({ create: { width: 16, height: 16, channels: 3, background: '#2050a0' } })
    .png()
    .toBuffer();

describe('Comfy API v2 assets: contract', () => {
  it('upload → 201 Asset; the same bytes and name → 200 created_new false; metadata, content and ranges', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const img = await png();
    const first = await upload(g, form(img));
    expect(first.status).toBe(201);
    const a = await jsonBody(first);
    expectAsset(a);
    expect(a).toMatchObject({
      created_new: true,
      size_bytes: img.length,
      content_type: 'image/png',
      file_path: 'in.png',
      hash: null,
      expires_at: null,
      job_id: null,
    });
    const again = await upload(g, form(img));
    expect(again.status).toBe(200);
    expect(await jsonBody(again)).toMatchObject({ id: a.id, created_new: false });
    const renamed = await jsonBody(await upload(g, form(img, { filePath: 'other.png' })));
    expect(renamed.id).not.toBe(a.id);
    const meta = await g.fetch(`/api/v2/assets/${a.id}`);
    expect(meta.status).toBe(200);
    const m = await jsonBody(meta);
    expectAsset(m);
    expect(m).not.toHaveProperty('created_new');
    const content = await g.fetch(`/api/v2/assets/${a.id}/content`);
    expect([
      content.status,
      content.headers.get('content-type'),
      content.headers.get('x-content-type-options'),
    ]).toEqual([200, 'image/png', 'nosniff']);
    expect(Buffer.from(await content.arrayBuffer())).toEqual(img);
    const part = await g.fetch(`/api/v2/assets/${a.id}/content`, { headers: { range: 'bytes=1-3' } });
    expect([part.status, part.headers.get('content-range')]).toEqual([206, `bytes 1-3/${img.length}`]);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(img.subarray(1, 4));
    const bad = await g.fetch(`/api/v2/assets/${a.id}/content`, { headers: { range: `bytes=${img.length + 10}-` } });
    expect([bad.status, bad.headers.get('content-range')]).toEqual([416, `bytes */${img.length}`]);
  });

  it('dedup probe and from-hash: a constant 404 (no blake3 here), as §5.2 allows', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const hash = `blake3:${'ab'.repeat(32)}`;
    const head = await g.fetch(`/api/v2/assets/by-hash/${encodeURIComponent(hash)}`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([404, '']);
    const postJson = (body: unknown) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await expectError(
      await g.fetch('/api/v2/assets/from-hash', postJson({ hash, file_path: 'a.png' })),
      404,
      'blob_not_found',
    );
    await expectError(await g.fetch('/api/v2/assets/from-hash', postJson({ hash: 'sha1:x' })), 400, 'invalid_request');
  });

  it('refuses malformed, active and oversized uploads', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      security: { maxUploadBytes: 100_000 },
    });
    const img = await png();
    await expectError(await upload(g, form(img, { fileFirst: true })), 422, 'invalid_request');
    await expectError(await upload(g, form(img, { contentType: '' })), 422, 'invalid_request');
    await expectError(await upload(g, form(img, { filePath: '' })), 422, 'invalid_request');
    await expectError(await g.fetch('/api/v2/assets', { method: 'POST', body: img }), 400, 'invalid_request');
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';
    await expectError(
      await upload(g, form(svg, { contentType: 'image/png', filePath: 'x.png' })),
      415,
      'unsupported_media_type',
    );
    await expectError(
      await upload(g, form('hello', { contentType: 'text/html', filePath: 'x.html' })),
      415,
      'unsupported_media_type',
    );
    await expectError(
      await upload(g, form(Buffer.alloc(150_000, 1), { contentType: 'audio/wav', filePath: 'a.wav' })),
      413,
      'payload_too_large',
    );
    // Not an image, not markup: kept with its declared type and served as an attachment.
    const wav = await jsonBody(
      await upload(g, form(Buffer.from('RIFF....WAVEfmt '), { contentType: 'audio/wav', filePath: 'a.wav' })),
    );
    expect(wav.content_type).toBe('audio/wav');
    const served = await g.fetch(`/api/v2/assets/${wav.id}/content`);
    expect(served.headers.get('content-disposition')).toMatch(/^attachment/);
  });

  it('outputs are assets: readable by id, not deletable alone; refs in use by a queued job are kept', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const job = await g.client.waitForJob((await g.client.createJob({ graph: txt2img() })).id);
    const out = job.outputs[0]!;
    const meta = await jsonBody(await g.fetch(`/api/v2/assets/${out.id}`));
    expectAsset(meta);
    expect(meta).toMatchObject({
      id: out.id,
      job_id: job.id,
      size_bytes: out.bytes,
      content_type: 'image/png',
      file_path: out.filename,
    });
    await expectError(await g.fetch(`/api/v2/assets/${out.id}`, { method: 'DELETE' }), 409, 'asset_in_use');
    const a = await jsonBody(await upload(g, form(await png())));
    await fake.control.down();
    const wf = {
      ...txt2img(),
      '10': { class_type: 'LoadImage', inputs: { image: { __type: 'core/ASSET', info: { id: a.id } } } },
    };
    const queued = await g.fetch('/api/v2/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: wf }),
    });
    expect(queued.status).toBe(201);
    await expectError(await g.fetch(`/api/v2/assets/${a.id}`, { method: 'DELETE' }), 409, 'asset_in_use');
    await g.fetch(`/api/v2/jobs/${(await jsonBody(queued)).id}/cancel`, { method: 'POST' });
    expect((await g.fetch(`/api/v2/assets/${a.id}`, { method: 'DELETE' })).status).toBe(204);
    await expectError(await g.fetch(`/api/v2/assets/${a.id}`, { method: 'DELETE' }), 404, 'not_found');
    await expectError(await g.fetch(`/api/v2/assets/${a.id}`), 404, 'not_found');
    await expectError(await g.fetch(`/api/v2/assets/${crypto.randomUUID()}/content`), 404, 'not_found');
  });
});

describe('Comfy API v2: auth and envelopes', () => {
  it('401 without a token, 403 for a read-only token on mutations, X-API-Key accepted', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const bare = { authorization: '' };
    await expectError(await fetch(`${g.url}/api/v2/jobs/${crypto.randomUUID()}`), 401, 'unauthorized');
    await expectError(
      await g.fetch('/api/v2/jobs', { method: 'POST', headers: { ...bare, 'x-api-key': 'wrong' } }),
      401,
      'unauthorized',
    );
    expect((await fetch(`${g.url}/api/v2/assets/by-hash/x`, { method: 'HEAD' })).status).toBe(401);
    const reader = await jsonBody(
      await g.fetch('/v1/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'r', scope: 'read' }),
      }),
    );
    const asReader = { authorization: `Bearer ${reader.token}`, 'content-type': 'application/json' };
    await expectError(
      await g.fetch('/api/v2/jobs', {
        method: 'POST',
        headers: asReader,
        body: JSON.stringify({ workflow: txt2img() }),
      }),
      403,
      'forbidden',
    );
    const list = await fetch(`${g.url}/api/v2/jobs`, { headers: { 'x-api-key': reader.token } });
    expect(list.status).toBe(200);
    await expectError(await g.fetch('/api/v2/nothing'), 404, 'not_found');
  });
});

describe('Comfy API v2: SSE wire format', () => {
  const frames = (text: string) =>
    text
      .split('\n\n')
      .filter((f) => f.trim() && !f.startsWith(':'))
      .map((f) => {
        const lines = f.split('\n');
        return {
          event: lines.find((l) => l.startsWith('event: '))?.slice(7),
          data: JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6)),
          lines,
        };
      });

  it('status first, terminal status last, then the stream ends; no id lines; a finished job gets one frame', async () => {
    await using fake = await startFakeComfy({ stepMs: 20 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const job = await g.client.createJob({ graph: txt2img({ steps: 20 }) });
    const res = await g.fetch(`/api/v2/jobs/${job.id}/events`, { headers: { accept: 'text/event-stream' } });
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    const text = await res.text(); // ends by itself after the terminal status
    expect(text).not.toMatch(/^id:/m);
    const got = frames(text);
    expect(got[0]!.event).toBe('status');
    expect(got.at(-1)).toMatchObject({ event: 'status', data: { status: 'succeeded', queue_position: null } });
    expect(got.filter((f) => f.event === 'output').map((f) => f.data.node_id)).toEqual(['9']);
    for (const f of got.filter((x) => x.event === 'progress')) schemas.zProgress.parse(f.data);
    const after = frames(await (await g.fetch(`/api/v2/jobs/${job.id}/events`)).text());
    expect(after.map((f) => [f.event, f.data.status])).toEqual([['status', 'succeeded']]);
    await expectError(await g.fetch(`/api/v2/jobs/${crypto.randomUUID()}/events`), 404, 'not_found');
  });

  it('a queued job: position updates as the queue moves, and keepalive comments within 45 s', async () => {
    await using fake = await startFakeComfy();
    await fake.control.down();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const first = await g.client.createJob({ graph: txt2img({ seed: 1 }) });
    const second = await g.client.createJob({ graph: txt2img({ seed: 2 }) });
    const res = await g.fetch(`/api/v2/jobs/${second.id}/events`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    /** Reads until `pred` holds; each read is raced against the deadline so a stalled stream fails, not hangs. */
    const until = async (pred: () => boolean, what: string) => {
      const deadline = Date.now() + 25_000;
      while (!pred()) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<null>(
          (r) => (timer = setTimeout(() => r(null), Math.max(0, deadline - Date.now()))),
        );
        const chunk = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
        if (chunk === null || chunk.done)
          throw new Error(`no ${what} (stream ${chunk ? 'ended' : 'stalled'}); got: ${text}`);
        text += chunk.value;
      }
    };
    await until(() => frames(text).length >= 1, 'first frame');
    expect(frames(text)[0]!.data).toEqual({ status: 'queued', queue_position: 2 });
    await g.client.cancelJob(first.id);
    await until(() => frames(text).length >= 2, 'position update');
    expect(frames(text)[1]!.data).toEqual({ status: 'queued', queue_position: 1 });
    await until(() => text.includes(': keepalive'), 'a keepalive comment'); // every 15 s
    await reader.cancel();
  });
});
