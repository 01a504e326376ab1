import { z } from 'zod';
import { ComfyGraph, CreateJob, JobState } from './jobs.js';
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
  seeds: z.array(z.union([z.number().int().min(0), z.bigint()])).min(1).max(MAX_BATCH_JOBS).optional(),
  axes: z.array(MatrixAxis).max(8).optional(),
});
export type BatchMatrix = z.input<typeof BatchMatrix>;

export const CreateBatch = z
  .object({
    name: z.string().max(200).optional(),
    jobs: z.array(CreateJob).min(1).max(MAX_BATCH_JOBS).optional(),
    matrix: BatchMatrix.optional(),
    priority: z.number().int().min(-1000).max(1000).optional().describe('for matrix jobs (listed jobs carry their own)'),
    postprocess: PostprocessSpec.optional().describe('for matrix jobs (listed jobs carry their own)'),
  })
  .refine((b) => (b.jobs === undefined) !== (b.matrix === undefined), { message: 'give either `jobs` or `matrix`' });
export type CreateBatch = z.input<typeof CreateBatch>;

export const Batch = z.object({
  id: z.string(),
  name: z.string().nullable(),
  client: z.string(),
  total: z.number().int(),
  counts: z.record(JobState, z.number().int()),
  done: z.number().int().describe('jobs in a terminal state'),
  etaMs: z.number().int().nullable().describe('estimate from the observed job times; null until one finished'),
  createdAt: z.number(),
  canceledAt: z.number().nullable(),
  jobIds: z.array(z.string()),
});
export type Batch = z.infer<typeof Batch>;
