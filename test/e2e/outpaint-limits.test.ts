import sharp from 'sharp';
import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';

// Review of the outpaint built-in (issue 16): margins of up to 16384 px a side would hand ComfyUI an image of
// a gigapixel and more. Like upscale, the padded size is checked against security.maxPixels at submit.

const photo = () =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: '#2a6' } })
    .png()
    .toBuffer();

it('outpaint refuses at submit margins that would make the image larger than security.maxPixels', async () => {
  await using fake = await startFakeComfy({ stepMs: 1 });
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    security: { maxPixels: 100_000 },
  });
  const image = (await g.client.uploadAsset(await photo(), 'image/png')).sha256;
  const submit = async (params: Record<string, unknown>) => {
    const body = JSON.stringify({ template: 'outpaint', params: { image, steps: 2, ...params } });
    const res = await g.fetch('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, body: await jsonBody(res) };
  };
  // 64+136+136 = 336 wide, 48+128+128 = 304 high: 102,144 pixels, just over.
  const over = await submit({ left: 136, right: 136, top: 128, bottom: 128 });
  expect([over.status, over.body.error?.code], JSON.stringify(over.body)).toEqual([400, 'validation_failed']);
  expect(over.body.error.message).toContain('336×304');
  expect(over.body.error.message).toContain('100000');
  // The largest margins the schema allows (a gigapixel and more) likewise.
  const huge = await submit({ left: 16384, right: 16384, top: 16384, bottom: 16384 });
  expect(huge.status).toBe(400);
  // Just under is a job; so are bad margins reported by their parameter, as before.
  const under = await submit({ left: 100, right: 100, top: 100, bottom: 100 });
  expect(under.status, JSON.stringify(under.body)).toBe(201);
  expect(under.body.metadata).not.toHaveProperty('variant');
  const negative = await submit({ left: -1 });
  expect([negative.status, negative.body.error.details?.[0]?.param]).toEqual([400, 'left']);
});
