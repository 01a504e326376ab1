import sharp from 'sharp';
import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { insertTextChunks } from '../fake-comfyui/src/png.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

// Review of template imports (issue 19). Texts that come out of an image are not bounded by the JSON body parser,
// so a `prompt` nested a few thousand deep (it parses, then overflows when written back) gave a 500; so did a
// conversion note or widget error quoting a big integer (JSON.stringify throws on a bigint).

const pixels = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } });
const deep = (levels: number) =>
  `{"1":{"class_type":"KSampler","inputs":{"seed":${'['.repeat(levels)}${']'.repeat(levels)}}}}`;

it('a PNG or WEBP prompt nested thousands deep is a 400, never a 500', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  await waitFor(() => g.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
  const importing = async (name: string, png: string) => {
    const body = JSON.stringify({ name, png });
    const res = await g.fetch('/v1/templates', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: res.status, body: await jsonBody(res) };
  };
  const png = async (chunks: Array<[string, string]>) =>
    insertTextChunks(await pixels().png().toBuffer(), chunks).toString('base64');
  const webp = async (ifd0: Record<string, string>) =>
    (await pixels().webp().withExif({ IFD0: ifd0 }).toBuffer()).toString('base64');

  for (const [name, image] of [
    ['png', await png([['prompt', deep(3000)]])],
    ['webp', await webp({ Model: `prompt:${deep(3000)}` })],
  ] as const) {
    const r = await importing(name, image);
    expect([r.status, r.body.error?.code], JSON.stringify(r.body)).toEqual([400, 'validation_failed']);
    expect(r.body.error.message).toMatch(/nested deeper than 128 levels/);
  }
  // Legitimate depth (an API graph: a handful of levels) still imports.
  const ok = await importing('shallow', await png([['prompt', JSON.stringify(txt2img())]]));
  expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  // The daemon is still up and answering.
  expect((await g.fetch('/healthz')).status).toBe(200);
});

it('a workflow whose widget values hold a big integer where the converter reports on them is a 201 or a 400, never a 500', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  await waitFor(() => g.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
  const big = '1152921504606846977'; // 2^60 + 1: read as a bigint
  // Written as text: a JSON number past 2^53 is what makes the body parser produce a bigint.
  const importing = async (name: string, node: string) => {
    const body = `{"name": "${name}", "workflow": {"links": [], "nodes": [${node}]}}`;
    const res = await g.fetch('/v1/templates', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: res.status, body: await jsonBody(res) };
  };
  // One value past the node's widgets (width, height, batch_size): ignored, and the warning quotes it exactly.
  const latent = `{"id": 5, "type": "EmptyLatentImage", "mode": 0, "inputs": [], "outputs": [], "widgets_values": [64, 64, 1, ${big}]}`;
  const extra = await importing('extra', latent);
  expect(extra.status, JSON.stringify(extra.body)).toBe(201);
  expect(JSON.stringify(extra.body.warnings)).toContain(big);
  // A big integer where the seed's control mode belongs: the widgets do not line up, which is a 400 naming it.
  const shifted = await importing(
    'shifted',
    `{"id": 3, "type": "KSampler", "mode": 0, "inputs": [], "outputs": [],
    "widgets_values": [5, ${big}, 20, 8, "euler", "normal", 1]}`,
  );
  expect([shifted.status, shifted.body.error?.code], JSON.stringify(shifted.body)).toEqual([400, 'validation_failed']);
  expect(shifted.body.error.message).toContain(big);
});
