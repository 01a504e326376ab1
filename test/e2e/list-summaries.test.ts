// Issue 13 item 6: a page of jobs is a page of bounded summaries, whatever the jobs hold. Fifty jobs at the largest
// metadata the daemon accepts, each with long text outputs (PreviewAny echoing prompt-sized strings), list in well
// under 2 MB on /v1 and /api/v2, while each job read by id is still whole.
import { describe, expect, it } from 'vitest';
import { JOB_SUMMARY_LIMITS as L, type JobSummary } from '@comfygate/shared';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';

const JOBS = 50;
const TEXTS = 16;
// 16 × 16,000 = 256,000 characters: just within a job's total for text outputs (256 Ki characters), so every job keeps
// all of its texts whole and the list is as large as a job can make it.
const TEXT_CHARS = 16_000;
const LIST_BOUND = 2 * 1024 * 1024;

/** An image and TEXTS PreviewAny nodes, each given its own long string (distinct, so nothing is served from cache). */
function graph(job: number) {
  const g: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {
    '1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 1, color: job } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: `job${job}` } },
  };
  for (let t = 0; t < TEXTS; t++) {
    const head = `job ${job} text ${t} `;
    g[`${10 + t}`] = { class_type: 'PreviewAny', inputs: { source: head + 'x'.repeat(TEXT_CHARS - head.length) } };
  }
  return g;
}

/** Metadata just under security.maxMetadataBytes (64 KiB): a long prompt in params and a wide bag of notes. */
function metadata(job: number) {
  const prompt = `a fox number ${job} ` + 'p'.repeat(20_000);
  const notes = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`note${i}`, 'n'.repeat(1000)]));
  return { template: 'txt2img', params: { prompt, seed: job }, ...notes };
}

describe('job lists return summaries', () => {
  it('a page of 50 huge jobs stays under 2 MB on /v1 and /api/v2; each job by id is whole', async () => {
    const fake = await startFakeComfy({ stepMs: 0 });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url, inflight: 4 }] });
    try {
      const ids: string[] = [];
      for (let i = 0; i < JOBS; i++) {
        const meta = metadata(i);
        expect(JSON.stringify(meta).length).toBeGreaterThan(60_000);
        ids.push((await g.client.createJob({ graph: graph(i) as never, metadata: meta })).id);
      }
      for (const id of ids)
        expect((await g.client.waitForJob(id, { signal: AbortSignal.timeout(60_000) })).state).toBe('succeeded');

      // The whole job by id: every text in full, the metadata as given.
      const whole = await g.client.getJob(ids[7]!);
      expect(whole.texts).toHaveLength(TEXTS);
      expect(whole.texts.every((t) => t.text.length === TEXT_CHARS)).toBe(true);
      expect(whole.metadata).toEqual(metadata(7));
      const wholeBytes = (await (await g.fetch(`/v1/jobs/${ids[7]}`)).arrayBuffer()).byteLength;
      expect(wholeBytes).toBeGreaterThan(TEXTS * TEXT_CHARS);

      // The list: raw size first (what a client downloads), then the typed view through the shared client.
      const raw = await g.fetch(`/v1/jobs?limit=${JOBS}`);
      expect(raw.status).toBe(200);
      const listBytes = (await raw.arrayBuffer()).byteLength;
      expect(listBytes).toBeLessThan(LIST_BOUND);
      expect(listBytes).toBeLessThan(wholeBytes * JOBS * 0.05);
      const { jobs } = await g.client.listJobs({ limit: JOBS });
      expect(jobs.map((j) => j.id)).toEqual([...ids].reverse());
      const s = jobs.find((j) => j.id === ids[7]) as JobSummary;
      // What rows render survives: state, owner, backend, outputs with their thumbs, template, the prompt's start.
      expect(s).toMatchObject({ state: 'succeeded', backend: 'a', owner: whole.owner, attempts: 1 });
      expect(s.outputs.map((o) => o.id)).toEqual(whole.outputs.map((o) => o.id));
      expect(s.outputs[0]!.variants.map((v) => v.variant)).toContain('thumb');
      expect(s.metadata.template).toBe('txt2img');
      const params = s.metadata.params as { prompt: string; seed: number };
      expect(params.seed).toBe(7);
      expect(params.prompt.startsWith('a fox number 7 ')).toBe(true);
      expect(params.prompt.length).toBeLessThanOrEqual(L.stringChars + 1);
      // Texts: the first few as previews, with the full count and sizes, flagged as cut.
      expect([s.textCount, s.outputCount, s.truncated]).toEqual([TEXTS, 1, true]);
      expect(s.texts).toHaveLength(L.texts);
      expect(s.texts[0]).toMatchObject({ nodeId: whole.texts[0]!.nodeId, bytes: TEXT_CHARS, cut: true });
      expect(s.texts[0]!.text.startsWith(whole.texts[0]!.text.slice(0, L.textChars))).toBe(true);
      expect(s.texts[0]!.text.length).toBeLessThanOrEqual(L.textChars + 1);

      // /api/v2 lists the same way: text outputs as previews flagged `text_truncated`, sizes of the whole.
      const v2raw = await g.fetch(`/api/v2/jobs?limit=${JOBS}`);
      expect(v2raw.status).toBe(200);
      const v2text = await v2raw.text();
      expect(Buffer.byteLength(v2text)).toBeLessThan(LIST_BOUND);
      type V2Out = { type: string; text?: string; text_truncated?: boolean; size_bytes: number };
      const v2 = JSON.parse(v2text) as { jobs: { id: string; outputs: V2Out[]; truncated?: boolean }[] };
      expect(v2.jobs).toHaveLength(JOBS);
      const item = v2.jobs.find((j) => j.id === ids[7])!;
      const texts = item.outputs.filter((o) => o.type === 'text');
      expect(texts).toHaveLength(L.texts);
      expect(texts[0]).toMatchObject({ text_truncated: true, size_bytes: TEXT_CHARS });
      expect(texts[0]!.text!.length).toBeLessThanOrEqual(L.textChars + 1);
      expect(item.truncated).toBe(true);
      // ... and the job by id there is whole too.
      const v2whole = (await (await g.fetch(`/api/v2/jobs/${ids[7]}`)).json()) as { outputs: V2Out[] };
      const full = v2whole.outputs.filter((o) => o.type === 'text');
      expect(full).toHaveLength(TEXTS);
      expect(full.every((o) => o.text!.length === TEXT_CHARS && o.text_truncated === undefined)).toBe(true);
      console.log(
        `list of ${JOBS}: /v1 ${listBytes} B, /api/v2 ${Buffer.byteLength(v2text)} B; one whole job ${wholeBytes} B`,
      );
    } finally {
      await fake.close();
    }
  }, 180_000);
});
