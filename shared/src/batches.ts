import { z } from 'zod';
import { ComfyGraph, CreateJob, JobState, Owner } from './jobs.js';
import { PostprocessSpec } from './postprocess.js';

export const MAX_BATCH_JOBS = 1000;

/** One axis of a matrix: every value is written into `inputs[input]` of graph node `node`. */
export const MatrixAxis = z.object({
  node: z.string().min(1),
  input: z.string().min(1),
  values: z.array(z.unknown()).min(1).max(MAX_BATCH_JOBS),
});
export type MatrixAxis = z.infer<typeof MatrixAxis>;

/**
 * A matrix batch: the cartesian product of its axes over one graph. `prompts` and `seeds` are shorthands for
 * axes on the first sampler's positive prompt text and seed.
 */
export const BatchMatrix = z.object({
  graph: ComfyGraph,
  prompts: z.array(z.string().max(32_768)).min(1).max(MAX_BATCH_JOBS).optional(),
  seeds: z
    .array(z.union([z.number().int().min(0), z.bigint()]))
    .min(1)
    .max(MAX_BATCH_JOBS)
    .optional(),
  axes: z.array(MatrixAxis).max(8).optional(),
});
export type BatchMatrix = z.input<typeof BatchMatrix>;

/** How the seeds of a template's variations are chosen (docs/architecture.md §3). */
export const SeedMode = z.enum(['random', 'fixed', 'increment']);
export type SeedMode = z.infer<typeof SeedMode>;

/**
 * Variations of one template job: `count` jobs for every combination of `vary` (template parameter -> values,
 * a cartesian product). Seed parameters that `job.params` or `vary` do not set follow `seed`.
 */
export const BatchVariations = z
  .object({
    job: CreateJob.describe('the job to vary; it names a `template`'),
    count: z.number().int().min(1).max(MAX_BATCH_JOBS).default(1).describe('jobs per combination of `vary`'),
    seed: SeedMode.default('random').describe(
      "random: drawn per job; fixed: the same seed for every job (the given one, else the template's, else one drawn); " +
        'increment: that seed, then +1 per variation (per combination of `vary`, so combinations are comparable)',
    ),
    vary: z
      .record(z.string(), z.array(z.unknown()).min(1).max(MAX_BATCH_JOBS))
      .optional()
      .describe('e.g. {"prompt": ["a cat", "a dog"]}'),
  })
  .refine((v) => v.job.template !== undefined, {
    message: 'variations vary a template job: give `job.template`',
    path: ['job', 'template'],
  });
export type BatchVariations = z.input<typeof BatchVariations>;
export type BatchVariationsParsed = z.output<typeof BatchVariations>;

export const CreateBatch = z
  .object({
    name: z.string().max(200).optional(),
    jobs: z.array(CreateJob).min(1).max(MAX_BATCH_JOBS).optional(),
    matrix: BatchMatrix.optional(),
    variations: BatchVariations.optional(),
    priority: z
      .number()
      .int()
      .min(-1000)
      .max(1000)
      .optional()
      .describe('for matrix jobs (listed jobs carry their own)'),
    postprocess: PostprocessSpec.optional().describe('for matrix jobs (listed jobs carry their own)'),
  })
  .refine((b) => [b.jobs, b.matrix, b.variations].filter((x) => x !== undefined).length === 1, {
    message: 'give one of `jobs`, `matrix`, `variations`',
  });
export type CreateBatch = z.input<typeof CreateBatch>;

export const Batch = z.object({
  id: z.string(),
  name: z.string().nullable(),
  client: z.string(),
  owner: Owner.describe('the token that made the batch (and owns its jobs)'),
  total: z.number().int(),
  counts: z.record(JobState, z.number().int()),
  done: z.number().int().describe('jobs in a terminal state'),
  etaMs: z.number().int().nullable().describe('estimate from the observed job times; null until one finished'),
  createdAt: z.number(),
  canceledAt: z.number().nullable(),
  jobIds: z.array(z.string()),
});
export type Batch = z.infer<typeof Batch>;

/**
 * A batch in a listing: the `Batch` without `jobIds` (up to 1,000 per batch, so a page of 200 would carry up to
 * 200,000 ids); the ids are at GET /v1/batches/{id}.
 */
export const BatchSummary = Batch.omit({ jobIds: true });
export type BatchSummary = z.infer<typeof BatchSummary>;

/** active: some job not finished yet; done: every job finished (succeeded, failed or canceled). */
export const BatchListState = z.enum(['active', 'done']);
export type BatchListState = z.infer<typeof BatchListState>;

export const ListBatchesQuery = z.object({
  state: BatchListState.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.string().optional().describe('cursor: list batches created before this batch id'),
});
export type ListBatchesQuery = z.input<typeof ListBatchesQuery>;
