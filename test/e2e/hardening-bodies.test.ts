import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { request } from 'undici';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

async function send(url: string, token: string, route: string, body: string | Buffer, contentType: string) {
  const res = await request(url + route, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body,
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: JSON.parse(text) as { error: { code: string; message: string } } };
}

describe('hostile bodies get a 4xx with a message, never a 5xx', () => {
  it('JSON nested thousands deep in a graph, metadata or watch params: 400 naming the limit', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-deep-'));
    try {
      for (const depth of [3_000, 5_000]) {
        const graph = JSON.stringify(txt2img()).replace('"a lighthouse at dusk"', nested(depth));
        const bodies: [string, string][] = [
          ['/v1/jobs', `{"graph":${graph}}`],
          ['/v1/jobs', `{"graph":${JSON.stringify(txt2img())},"metadata":{"x":${nested(depth)}}}`],
          ['/v1/jobs', `{"template":"txt2img","params":{"prompt":${nested(depth)}}}`],
          ['/v1/watch', `{"dir":${JSON.stringify(dir)},"params":{"prompt":${nested(depth)}}}`],
          ['/v1/batches', `{"jobs":[{"graph":${graph}}]}`],
          ['/api/v2/jobs', `{"workflow":${graph}}`],
        ];
        for (const [route, body] of bodies) {
          const r = await send(g.url, g.token, route, body, 'application/json');
          expect(r.status, `${route} at depth ${depth}`).toBe(400);
          expect(r.body.error.message).toContain('security.maxJsonDepth');
        }
      }
      // Ordinary nesting still goes through.
      const ordinary = JSON.stringify({ graph: txt2img(), metadata: { a: { b: [[1, [2]]] } } });
      expect((await send(g.url, g.token, '/v1/jobs', ordinary, 'application/json')).status).toBe(201);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('multipart without a boundary, with a wrong one, or cut before its end: 400 (v1) / 4xx (v2)', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const part = (b: string) =>
      Buffer.concat([
        Buffer.from(
          `--${b}\r\nContent-Disposition: form-data; name="content_type"\r\n\r\nimage/png\r\n` +
            `--${b}\r\nContent-Disposition: form-data; name="file_path"\r\n\r\nin/a.png\r\n` +
            `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`,
        ),
        png,
        Buffer.from(`\r\n--${b}--\r\n`),
      ]);
    const whole = part('XYZ');
    const cases: [string, Buffer, string][] = [
      ['no boundary', whole, 'multipart/form-data'],
      ['wrong boundary', whole, 'multipart/form-data; boundary=OTHER'],
      ['cut before the closing boundary', whole.subarray(0, whole.length - 300), 'multipart/form-data; boundary=XYZ'],
      ['cut in the headers', whole.subarray(0, 60), 'multipart/form-data; boundary=XYZ'],
    ];
    for (const [what, body, type] of cases) {
      const v1 = await send(g.url, g.token, '/v1/assets', body, type);
      expect(v1.status, `v1 ${what}: ${JSON.stringify(v1.body)}`).toBe(400);
      expect(v1.body.error.message.length).toBeGreaterThan(0);
      const v2 = await send(g.url, g.token, '/api/v2/assets', body, type);
      expect(v2.status, `v2 ${what}: ${JSON.stringify(v2.body)}`).toBeGreaterThanOrEqual(400);
      expect(v2.status, `v2 ${what}: ${JSON.stringify(v2.body)}`).toBeLessThan(500);
    }
    // The well-formed body is accepted by both.
    expect((await send(g.url, g.token, '/v1/assets', whole, 'multipart/form-data; boundary=XYZ')).status).toBeLessThan(
      300,
    );
    expect(
      (await send(g.url, g.token, '/api/v2/assets', whole, 'multipart/form-data; boundary=XYZ')).status,
    ).toBeLessThan(300);
  });

  it('uploads are judged by their bytes: a truncated PNG, an SVG behind a comment, text declared image/png are refused on v1 and v2', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const noise = Buffer.alloc(256 * 256 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const png = await sharp(noise, { raw: { width: 256, height: 256, channels: 3 } })
      .png()
      .toBuffer();
    const svg = Buffer.from(
      '<!-- made by hand -->\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
    );
    const multipart = (bytes: Buffer, type: string) => {
      const b = 'B0UNDARY';
      return Buffer.concat([
        Buffer.from(
          `--${b}\r\nContent-Disposition: form-data; name="content_type"\r\n\r\n${type}\r\n` +
            `--${b}\r\nContent-Disposition: form-data; name="file_path"\r\n\r\nin/x.png\r\n` +
            `--${b}\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\nContent-Type: ${type}\r\n\r\n`,
        ),
        bytes,
        Buffer.from(`\r\n--${b}--\r\n`),
      ]);
    };
    const bad: [string, Buffer][] = [
      ['truncated PNG', png.subarray(0, Math.floor(png.length / 2))],
      ['SVG starting with a comment', svg],
      ['text declared image/png', Buffer.from('hello, I am text\n'.repeat(20))],
    ];
    for (const [what, bytes] of bad) {
      const v1 = await send(g.url, g.token, '/v1/assets', bytes, 'image/png');
      expect(v1.status, `v1 ${what}: ${JSON.stringify(v1.body)}`).toBe(415);
      const v1multi = await send(
        g.url,
        g.token,
        '/v1/assets',
        multipart(bytes, 'image/png'),
        'multipart/form-data; boundary=B0UNDARY',
      );
      expect(v1multi.status, `v1 multipart ${what}`).toBe(415);
      const v2 = await send(
        g.url,
        g.token,
        '/api/v2/assets',
        multipart(bytes, 'image/png'),
        'multipart/form-data; boundary=B0UNDARY',
      );
      expect(v2.status, `v2 ${what}: ${JSON.stringify(v2.body)}`).toBe(415);
    }
    expect((await send(g.url, g.token, '/v1/assets', png, 'image/png')).status).toBe(201);
    expect(
      (
        await send(
          g.url,
          g.token,
          '/api/v2/assets',
          multipart(png, 'image/png'),
          'multipart/form-data; boundary=B0UNDARY',
        )
      ).status,
    ).toBe(201);
    // v2 still takes bytes that are not images under their own (non-image) type.
    const audio = multipart(Buffer.from('RIFF....WAVEfmt '), 'audio/wav');
    expect((await send(g.url, g.token, '/api/v2/assets', audio, 'multipart/form-data; boundary=B0UNDARY')).status).toBe(
      201,
    );
  });
});
