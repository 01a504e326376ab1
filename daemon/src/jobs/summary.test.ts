import { describe, expect, it } from 'vitest';
import { JOB_SUMMARY_LIMITS as L, type Job, JobSummary, type Output } from '@comfygate/shared';
import { clipJson, summarizeJob } from './summary.js';

const output = (i: number): Output => ({
  id: `o${i}`,
  jobId: 'j',
  nodeId: '9',
  index: i,
  filename: `ComfyUI_${i}.png`,
  kind: 'output',
  sha256: 'a'.repeat(64),
  bytes: 100,
  contentType: 'image/png',
  width: 8,
  height: 8,
  animated: false,
  variants: [
    {
      id: `v${i}`,
      variant: 'thumb',
      sha256: 'b'.repeat(64),
      bytes: 10,
      contentType: 'image/webp',
      width: 4,
      height: 4,
    },
  ],
});

function job(over: Partial<Job> = {}): Job {
  return {
    id: '00000000-0000-4000-8000-000000000000',
    state: 'succeeded',
    priority: 0,
    client: 'me',
    owner: { id: 't', name: 'tok' },
    backend: 'a',
    attempts: 1,
    maxAttempts: 3,
    error: null,
    progress: null,
    waiting: null,
    outputs: [output(0)],
    texts: [],
    metadata: { template: 'txt2img', params: { prompt: 'a fox', seed: 7 } },
    parentJobId: null,
    then: [],
    createdAt: 1,
    updatedAt: 2,
    startedAt: 1,
    finishedAt: 2,
    ...over,
  };
}

const size = (v: unknown) => JSON.stringify(v).length;

describe('summarizeJob', () => {
  it('keeps a small job as it is, with counts and no cut', () => {
    const s = summarizeJob(job({ texts: [{ nodeId: '7', index: 0, text: '42' }] }));
    expect(JobSummary.parse(s)).toEqual(s);
    expect(s.metadata).toEqual({ template: 'txt2img', params: { prompt: 'a fox', seed: 7 } });
    expect(s.outputs).toEqual([output(0)]);
    expect(s.texts).toEqual([{ nodeId: '7', index: 0, text: '42', bytes: 2, cut: false }]);
    expect([s.outputCount, s.textCount, s.thenCount, s.truncated]).toEqual([1, 1, 0, false]);
    expect(s).not.toHaveProperty('then');
  });

  it('cuts a huge job to a bounded summary that still parses and says what it left out', () => {
    const big = 'x'.repeat(32_768);
    const metadata: Record<string, unknown> = {
      template: 'txt2img',
      params: { prompt: big, negative: big, seed: 7, nested: { a: { b: { c: { d: 'deep' } } } } },
      notes: Array.from({ length: 2000 }, (_, i) => `note ${i} ${big.slice(0, 100)}`),
    };
    for (let i = 0; i < 500; i++) metadata[`k${i}`] = big;
    const j = job({
      metadata,
      outputs: Array.from({ length: 100 }, (_, i) => output(i)),
      texts: Array.from({ length: 256 }, (_, i) => ({ nodeId: '7', index: i, text: 'é'.repeat(64 * 1024) })),
      error: { code: 'comfy_execution', message: big, details: { traceback: [big, big], node_id: '4' } },
      then: [{ template: 'upscale', params: { prompt: big } }],
    });
    const s = summarizeJob(j);
    expect(JobSummary.parse(s)).toEqual(s);
    expect(size(s)).toBeLessThan(40_000);
    expect(size(j)).toBeGreaterThan(30_000_000);
    expect(s.truncated).toBe(true);
    // What rows render survives: the template, the start of the prompt, the seed, the first output and its thumb.
    expect(s.metadata.template).toBe('txt2img');
    const params = s.metadata.params as Record<string, unknown>;
    expect(params.prompt).toBe(`${'x'.repeat(L.stringChars)}…`);
    expect(params.seed).toBe(7);
    expect(s.outputs.map((o) => o.id)).toEqual(Array.from({ length: L.outputs }, (_, i) => `o${i}`));
    expect(s.outputs[0]!.variants[0]!.variant).toBe('thumb');
    expect([s.outputCount, s.textCount, s.thenCount]).toEqual([100, 256, 1]);
    expect(s.texts).toHaveLength(L.texts);
    expect(s.texts[0]).toEqual({
      nodeId: '7',
      index: 0,
      text: `${'é'.repeat(L.textChars)}…`,
      bytes: 2 * 64 * 1024,
      cut: true,
    });
    expect(s.error!.code).toBe('comfy_execution');
    expect(s.error!.message.length).toBe(L.messageChars + 1);
    expect((s.error!.details as { node_id: string }).node_id).toBe('4');
  });

  it("keeps template and params even after a caller's own bulky metadata", () => {
    const own = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`own${i}`, 'z'.repeat(400)]));
    const s = summarizeJob(job({ metadata: { ...own, template: 'img2img', params: { prompt: 'a cat', seed: 3 } } }));
    expect(s.metadata.template).toBe('img2img');
    expect(s.metadata.params).toEqual({ prompt: 'a cat', seed: 3 });
    expect(s.truncated).toBe(true);
    expect(size(s.metadata)).toBeLessThan(L.jsonChars + L.stringChars + 100);
  });

  it('flags a cut of metadata alone', () => {
    expect(summarizeJob(job({ metadata: { params: { prompt: 'y'.repeat(L.stringChars + 1) } } })).truncated).toBe(true);
    expect(summarizeJob(job({ metadata: { params: { prompt: 'y'.repeat(L.stringChars) } } })).truncated).toBe(false);
  });
});

describe('clipJson', () => {
  it('stays within its budget whatever the shape', () => {
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key${i}`, i]));
    const long = Array.from({ length: 100_000 }, () => 'abc');
    let deep: unknown = 'bottom';
    for (let i = 0; i < 50; i++) deep = { d: deep };
    for (const v of [wide, long, deep, { a: [[[['x'.repeat(10_000)]]]] }]) {
      const { value, cut } = clipJson(v);
      expect(cut).toBe(true);
      expect(size(value)).toBeLessThan(L.jsonChars + L.stringChars + 100);
    }
  });
});
