import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { insertTextChunks } from '../fake-comfyui/src/png.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { jsonBody } from '../helpers/http.js';
import { repoRoot } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

// Issue 19: images people share carry a `prompt` and a `workflow`; a damaged or empty prompt must not block a good
// workflow, animated WEBPs carry them in EXIF, and what an import became (graph, bindings, warnings) can be read.

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const BIG_SEED = '1152921504606846977'; // 2^60 + 1: JSON.parse would round it

/** The editor's default graph (schema 0.4) with two things today's frontends produce: an extra value, a newer input. */
const workflowText = (
  name: string,
) => `{"version": 0.4, "links": [[1, 4, 0, 3, 0, "MODEL"], [2, 5, 0, 3, 3, "LATENT"], [3, 4, 1, 6, 0, "CLIP"],
  [4, 6, 0, 3, 1, "CONDITIONING"], [5, 4, 1, 7, 0, "CLIP"], [6, 7, 0, 3, 2, "CONDITIONING"], [7, 3, 0, 8, 0, "LATENT"], [8, 4, 2, 8, 1, "VAE"],
  [9, 8, 0, 9, 0, "IMAGE"]], "nodes": [
  {"id": 4, "type": "CheckpointLoaderSimple", "mode": 0, "inputs": [], "outputs": [{"name": "MODEL", "type": "MODEL", "links": [1]},
    {"name": "CLIP", "type": "CLIP", "links": [3, 5]}, {"name": "VAE", "type": "VAE", "links": [8]}], "widgets_values": ["v1-5-pruned-emaonly.safetensors"]},
  {"id": 5, "type": "EmptyLatentImage", "mode": 0, "inputs": [], "outputs": [{"name": "LATENT", "type": "LATENT", "links": [2]}], "widgets_values": [64, 64]},
  {"id": 6, "type": "CLIPTextEncode", "mode": 0, "inputs": [{"name": "clip", "type": "CLIP", "link": 3}],
    "outputs": [{"name": "CONDITIONING", "type": "CONDITIONING", "links": [4]}], "widgets_values": ["${name}"]},
  {"id": 7, "type": "CLIPTextEncode", "mode": 0, "inputs": [{"name": "clip", "type": "CLIP", "link": 5}],
    "outputs": [{"name": "CONDITIONING", "type": "CONDITIONING", "links": [6]}], "widgets_values": ["blurry"]},
  {"id": 3, "type": "KSampler", "mode": 0, "inputs": [{"name": "model", "type": "MODEL", "link": 1}, {"name": "positive", "type": "CONDITIONING", "link": 4},
    {"name": "negative", "type": "CONDITIONING", "link": 6}, {"name": "latent_image", "type": "LATENT", "link": 2}],
    "outputs": [{"name": "LATENT", "type": "LATENT", "links": [7]}], "widgets_values": [${BIG_SEED}, "fixed", 4, 8, "euler", "normal", 1]},
  {"id": 8, "type": "VAEDecode", "mode": 0, "inputs": [{"name": "samples", "type": "LATENT", "link": 7}, {"name": "vae", "type": "VAE", "link": 8}],
    "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [9]}], "widgets_values": []},
  {"id": 9, "type": "SaveImage", "mode": 0, "inputs": [{"name": "images", "type": "IMAGE", "link": 9}], "outputs": [], "widgets_values": ["ComfyUI", ""]}]}`;

const pixels = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } });
const pngWith = async (chunks: Array<[string, string]>) =>
  insertTextChunks(await pixels().png().toBuffer(), chunks).toString('base64');
/** As ComfyUI's SaveAnimatedWEBP writes it: `workflow:` in IFD0 Make (0x010F), `prompt:` in Model (0x0110). */
const webpWith = async (ifd0: Record<string, string>) =>
  (await pixels().webp().withExif({ IFD0: ifd0 }).toBuffer()).toString('base64');

async function started(): Promise<{ g: TestGateway; close: () => Promise<void> }> {
  const fake = await startFakeComfy();
  const g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  await waitFor(() => g.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
  return { g, close: async () => (await g.close(), await fake.close()) };
}

it('PNG and WEBP imports: an empty or damaged prompt falls back to the workflow and says so; nothing usable is a 400, never a 500', async () => {
  const { g, close } = await started();
  try {
    const importing = async (name: string, png: string) => {
      const res = await g.fetch('/v1/templates', json({ name, png }));
      return { status: res.status, body: await jsonBody(res) };
    };
    const empty = await importing('empty', await pngWith([['prompt', '{}']]));
    expect([empty.status, empty.body.error.code]).toEqual([400, 'validation_failed']);
    expect(empty.body.error.message).toBe(
      "the PNG carries no usable ComfyUI graph: the 'prompt' chunk is an empty graph ({})",
    );

    const fallback = await importing(
      'fallback',
      await pngWith([
        ['prompt', '{}'],
        ['workflow', workflowText('an empty prompt')],
      ]),
    );
    expect(fallback.status).toBe(201);
    expect(fallback.body.warnings).toContainEqual({
      node: '',
      type: 'png',
      message: "the 'prompt' chunk is an empty graph ({}); the workflow it also carries was converted instead",
    });

    const damaged = await importing(
      'damaged',
      await pngWith([
        ['prompt', '{"3": {"class_type": "KSampler", '],
        ['workflow', workflowText('a damaged prompt')],
      ]),
    );
    expect(damaged.status).toBe(201);
    expect(damaged.body.warnings[0]).toMatchObject({
      type: 'png',
      message: expect.stringMatching(/^the 'prompt' chunk is not valid JSON: .*converted instead$/),
    });
    expect((await g.client.templateGraph('damaged')).graph['6']!.inputs.text).toBe('a damaged prompt');

    const both = await importing(
      'both',
      await pngWith([
        ['prompt', '[1, 2]'],
        ['workflow', '{"nodes": 3}'],
      ]),
    );
    expect(both.status).toBe(400);
    expect(both.body.error.message).toContain(
      "the 'prompt' chunk is not an API-format graph; the 'workflow' chunk is not a UI workflow",
    );

    // Animated WEBP: the prompt is taken as it is; a WEBP with only a workflow is converted.
    const api = txt2img({ seed: 5, steps: 3 });
    const webp = await importing(
      'webp',
      await webpWith({ Make: `workflow:${workflowText('from a webp')}`, Model: `prompt:${JSON.stringify(api)}` }),
    );
    expect([webp.status, webp.body.warnings]).toEqual([201, []]);
    expect((await g.client.templateGraph('webp')).graph['3']!.inputs).toMatchObject({ seed: 5, steps: 3 });
    const webpUi = await importing('webp-ui', await webpWith({ Make: `workflow:${workflowText('only a workflow')}` }));
    expect(webpUi.status).toBe(201);
    expect((await g.client.templateGraph('webp-ui')).graph['6']!.inputs.text).toBe('only a workflow');
    const bare = await importing('bare', await webpWith({ Make: 'a camera' }));
    expect([bare.status, bare.body.error.message]).toEqual([400, 'the WEBP carries no ComfyUI prompt or workflow']);

    // Cut anywhere, or not an image at all: a 400 naming the problem, never a 500.
    const whole = Buffer.from(
      await pngWith([
        ['prompt', '{}'],
        ['workflow', workflowText('cut')],
      ]),
      'base64',
    );
    const webpWhole = Buffer.from(await webpWith({ Make: `workflow:${workflowText('cut')}` }), 'base64');
    const statuses = new Set<number>();
    for (const bytes of [whole, webpWhole]) {
      for (let cut = 0; cut < bytes.length; cut += Math.ceil(bytes.length / 40)) {
        statuses.add(
          (await importing(`cut-${statuses.size}-${cut}`, bytes.subarray(0, cut).toString('base64'))).status,
        );
      }
    }
    statuses.add((await importing('text', Buffer.from('just text').toString('base64'))).status);
    expect([...statuses].every((s) => s === 400 || s === 201)).toBe(true);
    expect(statuses.has(400)).toBe(true);
  } finally {
    await close();
  }
}, 60_000);

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const runCli = (g: TestGateway, args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMFYGATE_'))),
      COMFYGATE_HOME: g.home,
    };
    execFile(
      process.execPath,
      [tsxCli, path.join(repoRoot, 'daemon/src/cli/main.ts'), '--url', g.url, '--token', g.token, ...args],
      { cwd: repoRoot, env, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });

it('GET /v1/templates/{id}/graph and `templates show --graph` show what a workflow became: graph, bindings, warnings', async () => {
  const { g, close } = await started();
  try {
    const res = await g.fetch('/v1/templates', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"name": "castle", "workflow": ${workflowText('a castle')}}`,
    });
    expect(res.status).toBe(201);
    const created = await jsonBody(res);
    const warnings = [
      {
        node: '5',
        type: 'EmptyLatentImage',
        message:
          "input 'batch_size' is newer than the workflow (no saved value): the current default 1 is used, as the editor does",
      },
      { node: '9', type: 'SaveImage', message: expect.stringContaining('the last 1 ("") are ignored') },
    ];
    expect(created.warnings).toEqual(warnings);
    expect((await g.client.template('castle')).warnings).toBeUndefined(); // only the import's answer and /graph carry them

    const raw = await g.fetch(`/v1/templates/${created.id}/graph`);
    expect(raw.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await raw.text();
    expect(text).toContain(`"seed":${BIG_SEED}`); // exact, as it is sent to ComfyUI
    const shown = await g.client.templateGraph('castle');
    expect(shown).toMatchObject({ id: created.id, name: 'castle', warnings });
    expect(shown.graph['5']!.inputs).toEqual({ width: 64, height: 64, batch_size: 1 });
    expect(shown.graph['9']!.inputs).toEqual({ filename_prefix: 'ComfyUI', images: ['8', 0] });
    expect(shown.params.find((p) => p.name === 'prompt')).toMatchObject({
      node: '6',
      input: 'text',
      default: 'a castle',
    });
    expect(shown.params.map((p) => p.name)).toEqual(created.params.map((p: { name: string }) => p.name));
    expect((await g.client.templateGraph('txt2img')).warnings).toEqual([]);

    expect((await g.fetch('/v1/templates/nope/graph')).status).toBe(404);
    expect((await fetch(`${g.url}/v1/templates/castle/graph`)).status).toBe(401);

    const cli = await runCli(g, ['templates', 'show', 'castle', '--graph']);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({
      name: 'castle',
      graph: { '6': { inputs: { text: 'a castle' } } },
      warnings: [{ node: '5' }, { node: '9' }],
    });
    expect(cli.stderr).toContain("warning: node 5 (EmptyLatentImage): input 'batch_size' is newer than the workflow");
    const schema = await runCli(g, ['templates', 'show', 'castle']);
    expect(JSON.parse(schema.stdout).properties.prompt).toBeDefined(); // without --graph: the schema, as before
  } finally {
    await close();
  }
}, 90_000);
