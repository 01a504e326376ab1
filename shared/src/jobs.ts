import { z } from 'zod';
import { ErrorDetail } from './errors.js';
import { PostprocessSpec } from './postprocess.js';

/**
 * Job life cycle. `dispatched` = handed to a ComfyUI backend's queue; `running` = ComfyUI reported
 * `execution_start`. Close to Comfy API v2's states so the mapping stays trivial.
 */
export const JobState = z.enum([
  'queued',
  'dispatched',
  'running',
  'postprocessing',
  'succeeded',
  'failed',
  'canceled',
]);
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

/** A follow-up step: a template whose first image parameter takes the previous step's first output. */
export const ChainStep = z.object({
  template: z.string().min(1).max(100),
  params: z.record(z.string(), z.unknown()).optional(),
  postprocess: PostprocessSpec.optional(),
});
export type ChainStep = z.infer<typeof ChainStep>;

export const CreateJob = z
  .object({
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
        secret: z
          .string()
          .startsWith('whsec_')
          .describe('Standard Webhooks secret you verify with (whsec_ + base64 of 24-64 bytes)'),
        events: z.array(z.string()).min(1).max(20).optional().describe('default: the terminal job events'),
      })
      .optional()
      .describe("call this URL, signed, on this job's events"),
    preset: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe('a style preset: prefix/suffix for the prompt, extra negative'),
    enhance: z
      .boolean()
      .optional()
      .describe('rewrite the prompt with the configured LLM first (falls back to the original)'),
    then: z.array(ChainStep).max(8).optional().describe('follow-up steps, e.g. upscale then remove-background'),
  })
  .refine((j) => (j.graph === undefined) !== (j.template === undefined), {
    message: 'give either `graph` or `template`',
  })
  .refine((j) => j.params === undefined || j.template !== undefined, { message: '`params` go with a `template`' });
export type CreateJob = z.input<typeof CreateJob>;
export type CreateJobParsed = z.output<typeof CreateJob>;

/**
 * A running job's progress for any graph: `fraction` counts the nodes done (cached ones at once) out of those
 * ComfyUI runs, refined by the current node's own steps (`value`/`max`, 0/0 for a node that reports none).
 */
export const Progress = z.object({
  fraction: z
    .number()
    .min(0)
    .max(1)
    .describe("overall, 0..1: nodes done / nodes to run, plus the current node's share"),
  nodesDone: z.number().int(),
  nodesTotal: z.number().int().describe('nodes ComfyUI runs: output nodes and what feeds them'),
  node: z.string().nullable().describe('the node executing now'),
  nodeClass: z.string().nullable().describe('its class_type'),
  value: z.number().describe("the current node's step (sampler steps), 0 if it reports none"),
  max: z.number(),
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
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  animated: z.boolean().describe('ComfyUI flagged the file as animated (animated WEBP/PNG, video)'),
  variants: z.array(OutputVariant).describe('post-processed renditions: made for still images only'),
});
export type Output = z.infer<typeof Output>;

/** The token an object belongs to: only it (and admins, or a token that may see all) can see the object. */
export const Owner = z.object({
  id: z.string().describe('token id'),
  name: z.string().describe("the token's name when it was read (its id if the token is gone)"),
});
export type Owner = z.infer<typeof Owner>;

/** A text output of an output node (ComfyUI's `text` list, e.g. PreviewAny): kept on the job, not as a file. */
export const TextOutput = z.object({
  nodeId: z.string(),
  index: z.number().int(),
  text: z.string(),
});
export type TextOutput = z.infer<typeof TextOutput>;

export const Job = z.object({
  id: z.string(),
  state: JobState,
  priority: z.number().int(),
  client: z.string(),
  owner: Owner.describe(
    "the token that made the job (a watched folder's job: the rule's; a chain step: its first step's)",
  ),
  backend: z.string().nullable().describe('backend of the current or last attempt'),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  error: ErrorDetail.nullable(),
  progress: Progress.nullable(),
  waiting: z
    .string()
    .nullable()
    .optional()
    .describe('why a queued job is not running yet, e.g. "no backend is up"; null otherwise'),
  outputs: z.array(Output),
  texts: z.array(TextOutput).describe('text outputs, in node then list order'),
  metadata: z.record(z.string(), z.unknown()),
  parentJobId: z.string().nullable().describe('the previous step of a chain'),
  then: z.array(ChainStep).describe('steps still to run after this one'),
  createdAt: z.number(),
  updatedAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
});
export type Job = z.infer<typeof Job>;

/**
 * Bounds of a list item ({@link JobSummary}): whatever a job holds, its summary stays within a few tens of KiB, so a
 * page of 500 is a few MB at most. The whole job stays at `GET /v1/jobs/{id}`.
 */
export const JOB_SUMMARY_LIMITS = {
  /** Characters kept of any one string in `metadata` and `error.details` (a prompt, a note). */
  stringChars: 500,
  /** Characters (keys and strings, roughly the JSON size) kept of `metadata` and of `error.details`, each. */
  jsonChars: 4096,
  /** Levels of nesting kept in `metadata` and `error.details`; deeper values become null. */
  depth: 4,
  /** Characters kept of the error message and of an output's file name. */
  messageChars: 1000,
  /** Outputs listed (each with its variants); `outputCount` has them all. */
  outputs: 8,
  /** Text outputs listed as previews; `textCount` has them all. */
  texts: 8,
  /** Characters of each text preview. */
  textChars: 200,
} as const;

/** The start of a text output; `bytes` is the whole text's UTF-8 size, `cut` says the preview is not all of it. */
export const TextPreview = TextOutput.extend({
  bytes: z.number().int(),
  cut: z.boolean(),
});
export type TextPreview = z.infer<typeof TextPreview>;

/**
 * A job as lists show it (`GET /v1/jobs`): every field a row needs, with metadata strings, texts and outputs cut
 * to {@link JOB_SUMMARY_LIMITS}. `truncated` says something was cut; `GET /v1/jobs/{id}` has the whole job.
 */
export const JobSummary = Job.omit({ texts: true, then: true }).extend({
  outputs: z.array(Output).describe(`the first ${JOB_SUMMARY_LIMITS.outputs} outputs`),
  outputCount: z.number().int().describe('outputs the job has'),
  texts: z.array(TextPreview).describe(`the first ${JOB_SUMMARY_LIMITS.texts} text outputs, each cut short`),
  textCount: z.number().int().describe('text outputs the job has'),
  thenCount: z.number().int().describe('chain steps still to run after this one'),
  truncated: z.boolean().describe('something was cut or left out: read GET /v1/jobs/{id} for the whole job'),
});
export type JobSummary = z.infer<typeof JobSummary>;

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

export const SetPriority = z.object({ priority: z.number().int().min(-1000).max(1000).describe('higher runs first') });
export type SetPriority = z.infer<typeof SetPriority>;

export const ListJobsQuery = z.object({
  state: JobState.optional(),
  client: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.string().optional().describe('cursor: list jobs created before this job id'),
});
export type ListJobsQuery = z.input<typeof ListJobsQuery>;

export const Preset = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  suffix: z.string(),
  negative: z.string(),
  createdAt: z.number(),
});
export type Preset = z.infer<typeof Preset>;

export const CreatePreset = z.object({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
  prefix: z.string().max(2000).default(''),
  suffix: z.string().max(2000).default(''),
  negative: z.string().max(2000).default(''),
});
export type CreatePreset = z.input<typeof CreatePreset>;

/** A chain as one unit: every step that exists, in order, and the steps not started yet. */
export const ChainView = z.object({
  steps: z.array(z.object({ jobId: z.string(), state: JobState, template: z.string().nullable() })),
  pending: z.array(ChainStep),
  state: z.enum(['running', 'succeeded', 'failed', 'canceled']),
  stoppedReason: z
    .string()
    .nullable()
    .describe(
      'why the chain stopped before making its next step (`state` is then failed), else null; a step that failed has its reason in its own job',
    ),
});
export type ChainView = z.infer<typeof ChainView>;
