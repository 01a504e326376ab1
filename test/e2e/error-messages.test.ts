// Validation errors a person can read, from every entry point: `path: what was expected, what came`, the hint for a
// UI workflow posted as a graph, the nearest names for a misspelt template or parameter, the options of a combo.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeComfy, startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
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

async function post(path: string, body: unknown): Promise<{ status: number; message: string; code: string }> {
  const res = await g.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, message: json.error.message, code: json.error.code };
}

/** zod's own rendering, which a person should never see. */
const RAW_ZOD = /✖|→ at|Invalid input:|received /;

describe('validation errors', () => {
  it('name each problem as path: expected, got', async () => {
    const r = await post('/v1/jobs', { graph: txt2img(), priority: 'high', maxAttempts: 0 });
    expect(r.status).toBe(400);
    expect(r.message).not.toMatch(RAW_ZOD);
    expect(r.message).toContain("priority: expected a number, got 'high'");
    expect(r.message).toContain('maxAttempts: expected at least 1, got 0');

    const nodes = await post('/v1/jobs', { graph: [] });
    expect(nodes.message).toBe('graph: expected an object, got an empty array');
  });

  it('recognise a UI workflow posted as a graph and say what to do', async () => {
    const ui = { last_node_id: 9, last_link_id: 9, nodes: [{ id: 3, type: 'KSampler' }], links: [], version: 0.4 };
    const r = await post('/v1/jobs', { graph: ui });
    expect(r.status).toBe(400);
    expect(r.message).toBe(
      "graph: this is a UI (editor) workflow, not an API-format graph: export it with 'Export (API)' ('Save (API)' " +
        'in older versions) in ComfyUI, or import it as a template (comfygate templates import file.json, or POST /v1/templates ' +
        '{name, workflow}) and run that',
    );
  });

  it('in a post-processing spec, name the variant, the op and the field', async () => {
    const r = await post('/v1/jobs', {
      graph: txt2img(),
      postprocess: { variants: { web: { ops: [{ op: 'resize', width: 'big' }] } } },
    });
    expect(r.status).toBe(400);
    expect(r.message).not.toMatch(RAW_ZOD);
    expect(r.message).toMatch(/^postprocess\.variants\.web\.ops\[0\]\.width: expected a number, got 'big'/);
    const op = await post('/v1/jobs', {
      graph: txt2img(),
      postprocess: { variants: { web: { ops: [{ op: 'blurr', sigma: 2 }] } } },
    });
    expect(op.message).toMatch(
      /^postprocess\.variants\.web\.ops\[0\]\.op: expected one of resize, crop, .*, got 'blurr' \(did you mean 'blur'\?\)$/,
    );
    const name = await post('/v1/jobs', { graph: txt2img(), postprocess: { variants: { 'bad name!': { ops: [] } } } });
    expect(name.message).toMatch(/^postprocess\.variants: the name 'bad name!' is not allowed \(variant names are /);
  });

  it('suggest the nearest template and parameter, and list the options of a combo', async () => {
    const t = await post('/v1/jobs', { template: 'txt2imgg', params: {} });
    expect([t.status, t.code]).toEqual([404, 'not_found']);
    expect(t.message).toContain("no template 'txt2imgg' (did you mean 'txt2img'?)");

    const p = await post('/v1/jobs', { template: 'txt2img', params: { prompt: 'a fox', stpes: 4 } });
    expect(p.status).toBe(400);
    expect(p.message).toMatch(/^stpes: unknown parameter \(did you mean 'steps'\?\)/);

    const c = await post('/v1/jobs', { template: 'txt2img', params: { prompt: 'a fox', sampler: 'eulr' } });
    expect(c.status).toBe(400);
    expect(c.message).toMatch(/^sampler: 'eulr' is not one of \d+ options \(euler, [^)]*\) \(did you mean 'euler'/);
  });

  it('take sampler_name for sampler on a built-in template', async () => {
    const res = await g.fetch('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        template: 'txt2img',
        params: { prompt: 'a fox', sampler_name: 'heun', steps: 1, width: 64, height: 64 },
      }),
    });
    expect(res.status).toBe(201);
    const job = (await res.json()) as { id: string; metadata: { params: Record<string, unknown> } };
    expect(job.metadata.params.sampler).toBe('heun');
  });
});
