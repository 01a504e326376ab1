import { expect, it } from 'vitest';
import sharp from 'sharp';
import type { PostprocessSpec } from '@comfygate/shared';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';

it('post-processes every output into its variants plus a thumbnail, with provenance, served by id', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  const postprocess: PostprocessSpec = {
    variants: {
      web: {
        ops: [
          { op: 'resize', width: 32 },
          { op: 'format', format: 'webp', quality: 80 },
        ],
      },
      print: { ops: [{ op: 'grayscale' }, { op: 'format', format: 'png' }] },
    },
  };
  const job = await g.client.waitForJob(
    (await g.client.createJob({ graph: txt2img({ seed: 5, text: 'a harbour', width: 128, height: 96 }), postprocess }))
      .id,
  );
  expect(job.state).toBe('succeeded');
  const variants = job.outputs[0]!.variants;
  expect(variants.map((v) => v.variant).sort()).toEqual(['print', 'thumb', 'web']);
  const web = variants.find((v) => v.variant === 'web')!;
  expect(web).toMatchObject({ contentType: 'image/webp', width: 32, height: 24 });
  const res = await g.fetch(`/v1/outputs/${web.id}`);
  expect(res.headers.get('content-type')).toBe('image/webp');
  const bytes = Buffer.from(await res.arrayBuffer());
  const meta = await sharp(bytes).metadata();
  expect([meta.format, meta.width]).toEqual(['webp', 32]);
  expect(bytes.toString('latin1')).toContain('a harbour'); // provenance (EXIF/XMP) names the prompt
  const print = variants.find((v) => v.variant === 'print')!;
  const printed = Buffer.from(await (await g.fetch(`/v1/outputs/${print.id}`)).arrayBuffer());
  const { channels } = await sharp(printed).stats();
  expect(Math.abs(channels[0]!.mean - channels[1]!.mean)).toBeLessThan(1); // grey: R = G
  expect(printed.toString('latin1')).toContain(job.id); // PNG text chunk carries the job id
});

it('every job gets a thumbnail; a bad spec is refused at submit naming the op', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  const job = await g.client.waitForJob((await g.client.createJob({ graph: txt2img() })).id);
  expect(job.outputs[0]!.variants.map((v) => v.variant)).toEqual(['thumb']);
  const bad = await g.fetch('/v1/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      graph: txt2img(),
      postprocess: { variants: { x: { ops: [{ op: 'resize', width: -5 }] } } },
    }),
  });
  const body = await jsonBody(bad);
  expect([bad.status, body.error.code]).toEqual([400, 'validation_failed']);
  expect(JSON.stringify(body.error)).toContain('width');
});
