import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';

type ErrorReply = { error: { code: string; message: string; details?: Record<string, unknown> } };

async function post(url: string, token: string, route: string, body: unknown) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const res = await request(url + route, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.statusCode, body: (await res.body.json()) as ErrorReply };
}

const RESIZE_6000 = { op: 'resize', width: 6000, height: 6000, fit: 'fill' };

function bigGraph(nodes: number) {
  const g: Record<string, unknown> = txt2img();
  for (let i = 0; i < nodes; i++) g[`n${i}`] = { class_type: 'PrimitiveNode', inputs: { value: i } };
  return g;
}

describe('submit limits: cheap requests that would be expensive to hold, list or run are refused up front', () => {
  it('prompts, graphs, metadata and post-processing over their limits get a 4xx naming the limit; nothing reaches the GPU', async () => {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const huge = 'x'.repeat(9 * 1024 * 1024);
    const refusals: [string, string, unknown, string][] = [
      [
        '9 MB prompt (template)',
        '/v1/jobs',
        { template: 'txt2img', params: { prompt: huge } },
        'security.maxPromptChars',
      ],
      ['9 MB prompt (graph)', '/v1/jobs', { graph: txt2img({ text: huge }) }, 'security.maxPromptChars'],
      [
        '9 MB prompt (batch)',
        '/v1/batches',
        { jobs: [{ template: 'txt2img', params: { prompt: huge } }] },
        'security.maxPromptChars',
      ],
      ['100k-node graph', '/v1/jobs', { graph: bigGraph(100_000) }, 'security.maxGraphNodes'],
      ['3k-node graph', '/v1/jobs', { graph: bigGraph(3_000) }, 'security.maxGraphNodes'],
      [
        '100 KB metadata',
        '/v1/jobs',
        { graph: txt2img(), metadata: { note: 'm'.repeat(100_000) } },
        'security.maxMetadataBytes',
      ],
      [
        '8192² txt2img',
        '/v1/jobs',
        { template: 'txt2img', params: { prompt: 'a cat', width: 8192, height: 8192 } },
        'security.maxPixels',
      ],
      ['8192² graph', '/v1/jobs', { graph: txt2img({ width: 8192, height: 8192 }) }, 'security.maxPixels'],
      [
        '31 blurs at sigma 100 on a 6000 px resize',
        '/v1/jobs',
        {
          graph: txt2img(),
          postprocess: { variants: { hero: { ops: [RESIZE_6000, ...Array(31).fill({ op: 'blur', sigma: 100 })] } } },
        },
        'security.maxOpsPerVariant',
      ],
      [
        '10 blurs at sigma 100 on a 6000 px resize',
        '/v1/jobs',
        {
          graph: txt2img(),
          postprocess: { variants: { hero: { ops: [RESIZE_6000, ...Array(10).fill({ op: 'blur', sigma: 100 })] } } },
        },
        'security.maxPostprocessCost',
      ],
    ];
    for (const [what, route, body, key] of refusals) {
      const r = await post(g.url, g.token, route, body);
      expect(r.status, `${what}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(400);
      expect(r.body.error.message, what).toContain(key);
    }
    // Comfy API v2 says the same in its own terms.
    const v2 = await post(g.url, g.token, '/api/v2/jobs', { workflow: txt2img({ width: 8192, height: 8192 }) });
    expect(v2.status).toBe(422);
    expect(v2.body.error.message).toContain('security.maxPixels');
    const v2Nodes = await post(g.url, g.token, '/api/v2/jobs', { workflow: bigGraph(100_000) });
    expect(v2Nodes.status).toBe(422);
    expect(v2Nodes.body.error.message).toContain('security.maxGraphNodes');

    // Ordinary work within the limits still runs.
    const ok = await post(g.url, g.token, '/v1/jobs', {
      template: 'txt2img',
      params: { prompt: 'p'.repeat(2_000), width: 1024, height: 1024 },
      postprocess: {
        variants: {
          hero: {
            ops: [
              { op: 'resize', width: 2048 },
              { op: 'sharpen', sigma: 2 },
              { op: 'blur', sigma: 3 },
            ],
          },
        },
      },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    // A prompt at the limit, styled by a preset (prefix, suffix, the styled copy kept in metadata), still goes.
    expect(
      (
        await post(g.url, g.token, '/v1/presets', {
          name: 'long',
          prefix: 'a'.repeat(2_000),
          suffix: 'z'.repeat(2_000),
        })
      ).status,
    ).toBe(201);
    const atLimit = await post(g.url, g.token, '/v1/jobs', {
      template: 'txt2img',
      params: { prompt: 'q'.repeat(32_768) },
      preset: 'long',
    });
    expect(atLimit.status, JSON.stringify(atLimit.body).slice(0, 300)).toBe(201);
    const jobs = (await (await g.fetch('/v1/jobs?limit=50')).json()) as { jobs: unknown[] };
    expect(jobs.jobs).toHaveLength(2);
    expect(fake.control.stats().received.length).toBeLessThanOrEqual(2);
  });

  it('Comfy API v2 event streams are limited per token, so one reader cannot starve the others', async () => {
    await using fake = await startFakeComfy({ stepMs: 500 });
    await using g = await startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      security: { maxStreamsPerToken: 3 },
    });
    const submitter = await g.client.createToken({ name: 'plugin', scope: 'submit' });
    const job = await post(g.url, submitter.token, '/api/v2/jobs', { workflow: txt2img({ steps: 40 }) });
    expect(job.status).toBe(201);
    const id = (job.body as unknown as { id: string }).id;
    const open = (token: string) =>
      request(`${g.url}/api/v2/jobs/${id}/events`, { headers: { authorization: `Bearer ${token}` } });
    const held = await Promise.all([0, 1, 2].map(() => open(submitter.token)));
    expect(held.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    const fourth = await open(submitter.token);
    expect(fourth.statusCode).toBe(429);
    expect(((await fourth.body.json()) as ErrorReply).error.message).toContain('security.maxStreamsPerToken');
    const admin = await open(g.token); // another token is not starved
    expect(admin.statusCode).toBe(200);
    for (const r of [...held, admin]) r.body.on('error', () => {}).destroy();
  });
});
