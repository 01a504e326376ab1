import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';

it('a job created with a webhook calls it, signed per Standard Webhooks, on its terminal event', async () => {
  const key = crypto.randomBytes(32);
  const secret = `whsec_${key.toString('base64')}`;
  const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => (got.push({ headers: req.headers, body }), res.end('ok')));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const job = await g.client.createJob({ graph: txt2img(), webhook: { url, secret } });
    await waitFor(() => got.length > 0, { what: 'webhook call' });
    const { headers, body } = got[0]!;
    const signed = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`;
    const expected = crypto.createHmac('sha256', key).update(signed).digest('base64');
    expect(String(headers['webhook-signature']).split(' ')).toContain(`v1,${expected}`);
    expect(JSON.parse(body)).toMatchObject({ type: 'job:succeeded', data: { jobId: job.id, state: 'succeeded' } });
    const bad = await g.fetch('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ graph: txt2img(), webhook: { url, secret: 'whsec_short' } }) });
    expect(bad.status).toBe(400);
  } finally {
    receiver.close();
  }
});
