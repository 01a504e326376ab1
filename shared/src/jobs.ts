import { z } from 'zod';
import { ErrorDetail } from './errors.js';
import { PostprocessSpec } from './postprocess.js';

/**
 * Job life cycle. `dispatched` = handed to a ComfyUI backend's queue; `running` = ComfyUI reported
 * `execution_start`. Close to Comfy API v2's states so the mapping stays trivial.
 */
export const JobState = z.enum(['queued', 'dispatched', 'running', 'postprocessing', 'succeeded', 'failed', 'canceled']);
export type JobState = z.infer<typeof JobState>;

export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'canceled'];
export const isTerminal = (s: JobState): boolean => TERMINAL_STATES.includes(s);

/** One node of an API-format ComfyUI graph. Seeds above 2^53 may arrive as bigint and are sent on verbatim. */
export const ComfyNode = z.object({
  class_type: z.string().min(1),
  inputs: z.record(z.string(), z.unknown()),
  _meta: z.record(z.string(), z.unknown()).optional(),
});
export type ComfyNode = z.infer<typeof ComfyNode>;

export const ComfyGraph = z
  .record(z.string(), ComfyNode)
  .refine((g) => Object.keys(g).length > 0, { message: 'graph has no nodes' });
export type ComfyGraph = z.infer<typeof ComfyGraph>;

export const CreateJob = z.object({
  graph: ComfyGraph.optional().describe('API-format ComfyUI graph (or give `template`)'),
  template: z.string().min(1).max(100).optional().describe('a template id or name, e.g. txt2img'),
  params: z.record(z.string(), z.unknown()).optional().describe("the template's parameters, e.g. {prompt, seed}"),
  priority: z.number().int().min(-1000).max(1000).default(0).describe('higher runs first'),
  client: z.string().min(1).max(200).optional().describe('fairness key; defaults to the caller'),
  backend: z.string().min(1).optional().describe('pin the job to one named backend'),
  maxAttempts: z.number().int().min(1).max(20).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  postprocess: PostprocessSpec.optional().describe('named variants of each output image; a `thumb` is always made'),
  webhook: z
    .object({
      url: z.url({ protocol: /^https?$/ }).max(2048),
      secret: z.string().startsWith('whsec_').describe('Standard Webhooks secret you verify with (whsec_ + base64 of 24-64 bytes)'),
      events: z.array(z.string()).min(1).max(20).optional().describe('default: the terminal job events'),
    })
    .optional()
    .describe('call this URL, signed, on this job\'s events'),
}).refine((j) => (j.graph === undefined) !== (j.template === undefined), { message: 'give either `graph` or `template`' })
  .refine((j) => j.params === undefined || j.template !== undefined, { message: '`params` go with a `template`' });
export type CreateJob = z.input<typeof CreateJob>;
export type CreateJobParsed = z.output<typeof CreateJob>;

export const Progress = z.object({
  value: z.number(),
  max: z.number(),
  node: z.string().nullable(),
});
export type Progress = z.infer<typeof Progress>;

export const OutputVariant = z.object({
  id: z.string().describe('download at /v1/outputs/{id}'),
  variant: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  contentType: z.string(),
  width: z.number().int(),
  height: z.number().int(),
});
export type OutputVariant = z.infer<typeof OutputVariant>;

export const Output = z.object({
  id: z.string(),
  jobId: z.string(),
  nodeId: z.string(),
  index: z.number().int(),
  filename: z.string(),
  kind: z.enum(['output', 'temp']),
  sha256: z.string(),
  bytes: z.number().int(),
  contentType: z.string(),
  variants: z.array(OutputVariant),
});
export type Output = z.infer<typeof Output>;

export const Job = z.object({
  id: z.string(),
  state: JobState,
  priority: z.number().int(),
  client: z.string(),
  backend: z.string().nullable().describe('backend of the current or last attempt'),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  error: ErrorDetail.nullable(),
  progress: Progress.nullable(),
  outputs: z.array(Output),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.number(),
  updatedAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
});
export type Job = z.infer<typeof Job>;

export const JobEventType = z.enum([
  'job:queued',
  'job:dispatched',
  'job:running',
  'job:postprocessing',
  'job:succeeded',
  'job:failed',
  'job:canceled',
  'job:retrying',
  'job:warning',
  'job:deleted',
  'backend:up',
  'backend:down',
]);
export type JobEventType = z.infer<typeof JobEventType>;

/** A durable event: one row of the append-only log, so a client that reconnects with its last id misses nothing. */
export const GatewayEvent = z.object({
  id: z.number().int(),
  type: JobEventType,
  jobId: z.string().nullable(),
  at: z.number(),
  data: z.record(z.string(), z.unknown()),
});
export type GatewayEvent = z.infer<typeof GatewayEvent>;

/** Live-only progress (not written to the log: one row per sampler step would swamp it). */
export const ProgressEvent = z.object({
  type: z.literal('job:progress'),
  jobId: z.string(),
  at: z.number(),
  progress: Progress,
  hasPreview: z.boolean(),
});
export type ProgressEvent = z.infer<typeof ProgressEvent>;

export const ListJobsQuery = z.object({
  state: JobState.optional(),
  client: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.string().optional().describe('cursor: list jobs created before this job id'),
});
export type ListJobsQuery = z.input<typeof ListJobsQuery>;
