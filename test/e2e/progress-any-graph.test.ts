// Progress for graphs whose nodes report no sampler steps (issue: 8 image nodes ran 10 s with no progress):
// the overall fraction counts nodes done out of those ComfyUI runs, cached ones at once.
import type { Progress, StreamEvent } from '@comfygate/shared';
import { describe, expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { imageOnly, txt2img } from '../helpers/graphs.js';

/** Runs a graph with the event stream open before the job exists: a cached job can finish within milliseconds. */
async function progressOf(g: TestGateway, graph: object): Promise<{ state: string; seen: Progress[] }> {
  const stop = new AbortController();
  let opened!: () => void;
  const open = new Promise<void>((r) => (opened = r));
  const all: StreamEvent[] = [];
  let jobId: string | null = null;
  let state = 'timeout';
  const timer = setTimeout(() => stop.abort(), 20_000);
  // Every event is kept: one about the job may come before createJob's answer does.
  const end = (e: StreamEvent) => e.jobId === jobId && (e.type === 'job:succeeded' || e.type === 'job:failed');
  const reading = (async () => {
    for await (const e of g.client.events({ signal: stop.signal, onOpen: async () => opened() })) {
      all.push(e);
      const last = jobId === null ? undefined : all.find(end);
      if (last) return void (state = last.type.slice(4));
    }
  })();
  await open;
  jobId = (await g.client.createJob({ graph: graph as never })).id;
  await reading.catch(() => undefined);
  clearTimeout(timer);
  stop.abort();
  const seen = all.flatMap((e) => (e.type === 'job:progress' && e.jobId === jobId ? [e.progress] : []));
  return { state, seen };
}

const nonDecreasing = (xs: number[]) => xs.every((x, i) => i === 0 || x >= xs[i - 1]!);

describe('progress for every graph', () => {
  it('an image-only graph moves node by node, naming each node and its class', async () => {
    await using fake = await startFakeComfy({ nodeMs: 60, cacheOutputs: false });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const { state, seen } = await progressOf(g, imageOnly(1, true));
    expect(state).toBe('succeeded');
    // The ImageInvert feeds no output: ComfyUI never runs it, so it is not counted.
    expect(new Set(seen.map((p) => p.nodesTotal))).toEqual(new Set([8]));
    const fractions = seen.map((p) => p.fraction);
    expect(nonDecreasing(fractions)).toBe(true);
    expect(new Set(fractions).size).toBeGreaterThanOrEqual(4);
    expect(Math.max(...fractions)).toBeGreaterThanOrEqual(7 / 8);
    expect(seen.some((p) => p.node === '4' && p.nodeClass === 'ImageBlur' && p.max === 0)).toBe(true);
    expect(
      seen.every((p) => p.nodeClass === null || ['EmptyImage', 'ImageBlur', 'SaveImage'].includes(p.nodeClass)),
    ).toBe(true);
  });

  it('a job served from the cache counts its cached nodes at once', async () => {
    await using fake = await startFakeComfy({ nodeMs: 5 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    expect((await progressOf(g, imageOnly(7))).state).toBe('succeeded');
    const again = await progressOf(g, imageOnly(7));
    expect(again.state).toBe('succeeded');
    expect(again.seen.at(-1)).toMatchObject({ fraction: 1, nodesDone: 8, nodesTotal: 8 });
  });

  it('hires fix: two samplers, the overall fraction never goes back when the second one starts at step 0', async () => {
    await using fake = await startFakeComfy({ stepMs: 15 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const graph = {
      ...txt2img({ steps: 6 }),
      '10': {
        class_type: 'LatentUpscale',
        inputs: { samples: ['3', 0], upscale_method: 'nearest-exact', width: 128, height: 128, crop: 'disabled' },
      },
      '11': {
        class_type: 'KSampler',
        inputs: {
          seed: 2,
          steps: 6,
          cfg: 7,
          sampler_name: 'euler',
          scheduler: 'normal',
          denoise: 0.5,
          model: ['4', 0],
          positive: ['6', 0],
          negative: ['7', 0],
          latent_image: ['10', 0],
        },
      },
      '8': { class_type: 'VAEDecode', inputs: { samples: ['11', 0], vae: ['4', 2] } },
    };
    const { state, seen } = await progressOf(g, graph);
    expect(state).toBe('succeeded');
    expect(nonDecreasing(seen.map((p) => p.fraction))).toBe(true);
    const second = seen.filter((p) => p.node === '11' && p.max === 6);
    expect(second.length).toBeGreaterThan(0);
    // By the second sampler, everything before it is done: its steps refine the last part of the bar only.
    expect(second.every((p) => p.fraction >= p.nodesDone / p.nodesTotal && p.nodesDone >= 6)).toBe(true);
    expect(seen.every((p) => p.nodesTotal === 9)).toBe(true);
  });

  it('GET /v1/jobs/{id} and /api/v2 show the same progress while it runs', async () => {
    await using fake = await startFakeComfy({ nodeMs: 150, cacheOutputs: false });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const job = await g.client.createJob({ graph: imageOnly(3) as never });
    let running: Progress | null = null;
    for (let i = 0; i < 200 && !running?.nodesDone; i++) {
      running = (await g.client.getJob(job.id)).progress;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(running).toMatchObject({ nodesTotal: 8 });
    expect(running!.nodesDone).toBeGreaterThan(0);
    const v2 = (await (await g.fetch(`/api/v2/jobs/${job.id}`)).json()) as {
      progress: { nodes_total: number; nodes_done: number; value: number };
    };
    expect(v2.progress).toMatchObject({ nodes_total: 8 });
    expect(v2.progress.nodes_done).toBeGreaterThanOrEqual(running!.nodesDone);
    expect(v2.progress.value).toBeGreaterThan(0);
    expect((await g.client.waitForJob(job.id)).state).toBe('succeeded');
  });
});
