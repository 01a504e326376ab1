import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  type Batch,
  type BatchSummary,
  type BatchVariationsParsed,
  CreateBatch,
  type CreateJobParsed,
  type Job,
  type JobState,
  ListBatchesQuery,
  isTerminal,
} from '@comfygate/shared';
import { z } from 'zod';
import type { AssetFiles } from '../assets/files.js';
import { GatewayError } from '../errors.js';
import { ownerNames } from '../ownership/names.js';
import { checkOwner, INTERNAL, ownerFilter, tokenOf, type Viewer } from '../ownership/viewer.js';
import type { BatchRecord, BatchTally, JobRecord, NewJob, Store } from '../store/types.js';
import type { QuotaClaim } from '../store/quota.js';
import type { EnhanceMemo } from '../templates/enhancer.js';
import type { Variation } from '../templates/seeds.js';
import { archiveStream } from './archive.js';
import { expandMatrix } from './matrix.js';
import { validationError } from '../validation.js';

export interface BatchDeps {
  store: Store;
  files: AssetFiles;
  /** The params of each variation of a template job. */
  variations(v: BatchVariationsParsed): Promise<Variation[]>;
  /** `enhanced`: one per batch, so each distinct prompt is rewritten once and its jobs stay comparable. */
  prepareJob(
    spec: CreateJobParsed,
    opts: { caller?: string; enhanced?: EnhanceMemo; viewer: Viewer },
  ): Promise<Omit<NewJob, 'id' | 'idempotencyKey'> & { warning: string | null }>;
  checkQueueRoom(adding: number): Promise<void>;
  cancel(job: JobRecord): Promise<void>;
  views(records: JobRecord[]): Promise<Job[]>;
  kick(): void;
  backendsUp(): number;
}

export interface BatchService {
  /**
   * `quota`: the caller's daily quota, from which every job of the batch is taken when it is inserted. `viewer`: the
   * token making it, which owns the batch and its jobs (`INTERNAL`: the admin).
   */
  create(input: unknown, caller: string | undefined, quota: QuotaClaim | undefined, viewer: Viewer): Promise<Batch>;
  /** Another token's batch is not found (a see-all token may read it, not cancel it). */
  get(id: string, viewer: Viewer): Promise<Batch>;
  /**
   * The viewer's batches (every owner's for the admin or a see-all token), newest first, as summaries without job
   * ids; `before` is a batch id the viewer can see (else 404, as for GET /v1/batches/{id}).
   */
  list(query: unknown, viewer: Viewer): Promise<{ batches: BatchSummary[]; nextCursor: string | null }>;
  cancel(id: string, viewer: Viewer): Promise<Batch>;
  /** A zip of every output of the batch plus manifest.json, streamed (never built in memory). */
  archive(id: string, viewer: Viewer): Promise<{ stream: Readable; filename: string }>;
}

const STATES: JobState[] = ['queued', 'dispatched', 'running', 'postprocessing', 'succeeded', 'failed', 'canceled'];

const zeroCounts = () => Object.fromEntries(STATES.map((s) => [s, 0])) as Record<JobState, number>;

/**
 * Remaining work over the backends, at the mean run time of the batch's succeeded jobs; null before one succeeded.
 * A finished batch needs no mean: nothing is left (0), unless nothing ever succeeded (null, as while running).
 */
function eta(counts: Record<JobState, number>, meanRunMs: number | null, backendsUp: number): number | null {
  const remaining = STATES.filter((s) => !isTerminal(s)).reduce((n, s) => n + counts[s], 0);
  if (remaining === 0) return counts.succeeded > 0 ? 0 : null;
  if (meanRunMs === null) return null;
  return Math.round((meanRunMs * remaining) / Math.max(1, backendsUp));
}

function meanRun(jobs: JobRecord[]): number | null {
  const times = jobs
    .filter((j) => j.state === 'succeeded' && j.startedAt && j.finishedAt)
    .map((j) => j.finishedAt! - j.startedAt!);
  return times.length ? times.reduce((a, b) => a + b, 0) / times.length : null;
}

export function createBatchService(d: BatchDeps): BatchService {
  const find = async (id: string, viewer: Viewer, act = false) => {
    const batch = await d.store.batches.get(id);
    if (!batch) throw new GatewayError({ code: 'not_found', message: `no batch ${id}` });
    checkOwner(viewer, batch.owner, `batch ${id}`, act);
    return batch;
  };
  const load = async (id: string, viewer: Viewer, act = false) => {
    const batch = await find(id, viewer, act);
    return { batch, jobs: await d.store.batches.jobs(id) };
  };
  /** The fields a listing and a single batch share, from its counts (the listing never loads the jobs). */
  const summary = (batch: BatchRecord, t: BatchTally, names: Map<string, string>): BatchSummary => {
    const done = t.counts.succeeded + t.counts.failed + t.counts.canceled;
    const total = STATES.reduce((n, s) => n + t.counts[s], 0);
    return {
      id: batch.id,
      name: batch.name,
      client: batch.client,
      owner: { id: batch.owner, name: names.get(batch.owner) ?? batch.owner },
      total,
      counts: t.counts,
      done,
      etaMs: eta(t.counts, t.meanRunMs, d.backendsUp()),
      createdAt: batch.createdAt,
      canceledAt: batch.canceledAt,
    };
  };
  const view = async (id: string, viewer: Viewer): Promise<Batch> => {
    const { batch, jobs } = await load(id, viewer);
    const counts = zeroCounts();
    for (const j of jobs) counts[j.state]++;
    const names = await ownerNames(d.store);
    return { ...summary(batch, { counts, meanRunMs: meanRun(jobs) }, names), jobIds: jobs.map((j) => j.id) };
  };

  /** The batch's jobs: as listed, the matrix's product, or the variations of a template job. */
  const jobSpecs = async (b: z.output<typeof CreateBatch>): Promise<CreateJobParsed[]> => {
    if (b.jobs) return b.jobs;
    if (b.matrix) {
      return expandMatrix(b.matrix).map(({ graph, values }) => ({
        graph,
        priority: b.priority ?? 0,
        postprocess: b.postprocess,
        metadata: { matrix: values },
      }));
    }
    const job = b.variations!.job;
    return (await d.variations(b.variations!)).map(({ params, vary, index }) => ({
      ...job,
      params,
      metadata: { ...job.metadata, variation: { index, vary } },
    }));
  };

  return {
    async create(input, caller, quota, viewer) {
      const parsed = CreateBatch.safeParse(input);
      if (!parsed.success) throw validationError(parsed.error, input);
      const b = parsed.data;
      const specs = await jobSpecs(b);
      await d.checkQueueRoom(specs.length);
      const jobs: NewJob[] = [];
      const warnings: [string, string][] = [];
      const enhanced: EnhanceMemo = new Map();
      for (const [i, spec] of specs.entries()) {
        const prepared = await d.prepareJob(spec, { caller, enhanced, viewer }).catch((err: unknown) => {
          if (err instanceof GatewayError)
            throw new GatewayError({ code: err.code, message: `job ${i}: ${err.message}`, details: err.details });
          throw err;
        });
        const { warning, ...fields } = prepared;
        const id = crypto.randomUUID();
        if (warning) warnings.push([id, warning]);
        jobs.push({ id, ...fields, idempotencyKey: null });
      }
      const batch = await d.store.batches.create(
        { id: crypto.randomUUID(), name: b.name ?? null, client: caller ?? 'default', owner: tokenOf(viewer) },
        jobs,
        quota,
      );
      for (const [id, message] of warnings) await d.store.events.append('job:warning', id, { message });
      d.kick();
      return view(batch.id, INTERNAL);
    },
    get: view,
    async list(query, viewer) {
      const parsed = ListBatchesQuery.safeParse(query);
      if (!parsed.success) throw validationError(parsed.error, query);
      const q = parsed.data;
      // A cursor the viewer may not see is a 404, as that batch's own route would answer: no probing for ids.
      if (q.before) await find(q.before, viewer);
      const page = await d.store.batches.list({
        owner: ownerFilter(viewer),
        state: q.state,
        limit: q.limit,
        before: q.before,
      });
      const tallies = await d.store.batches.tallies(page.map((b) => b.id));
      const names = await ownerNames(d.store);
      return {
        batches: page.map((b) => summary(b, tallies.get(b.id) ?? { counts: zeroCounts(), meanRunMs: null }, names)),
        nextCursor: page.length === q.limit ? page[page.length - 1]!.id : null,
      };
    },
    async cancel(id, viewer) {
      const { jobs } = await load(id, viewer, true);
      await d.store.batches.markCanceled(id);
      for (const j of jobs) if (!isTerminal(j.state)) await d.cancel(j);
      return view(id, INTERNAL);
    },
    async archive(id, viewer) {
      const { batch, jobs } = await load(id, viewer);
      return {
        stream: await archiveStream(batch, await d.views(jobs), d.files),
        filename: `batch-${batch.id.slice(0, 8)}.zip`,
      };
    },
  };
}
