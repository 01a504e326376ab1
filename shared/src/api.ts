import { z } from 'zod';
import { BatchSummary } from './batches.js';
import { GatewayEvent, JobState, JobSummary, ProgressEvent } from './jobs.js';

/** Request and response bodies of `/v1`. The daemon validates with these; every client calls with them. */

export const ListJobsResponse = z.object({
  jobs: z.array(JobSummary).describe('summaries, newest first; the whole job is at GET /v1/jobs/{id}'),
  nextCursor: z.string().nullable().describe('pass as `before` for the next page'),
});
export type ListJobsResponse = z.infer<typeof ListJobsResponse>;

export const ListBatchesResponse = z.object({
  batches: z.array(BatchSummary).describe('newest first; the job ids are at GET /v1/batches/{id}'),
  nextCursor: z.string().nullable().describe('pass as `before` for the next page'),
});
export type ListBatchesResponse = z.infer<typeof ListBatchesResponse>;

export const Asset = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int(),
  contentType: z.string(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
});
export type Asset = z.infer<typeof Asset>;

export const BackendHealth = z.enum(['unknown', 'up', 'down']);
export const Backend = z.object({
  name: z.string(),
  url: z.string(),
  health: BackendHealth,
  reason: z
    .string()
    .nullable()
    .optional()
    .describe('why a backend is not up (e.g. the last probe error); null when up'),
  draining: z.boolean(),
  inflight: z.number().int(),
  capacity: z.number().int(),
  weight: z.number(),
  nodes: z.number().int().nullable().describe('node classes known from /object_info'),
  models: z
    .number()
    .int()
    .nullable()
    .describe("model files known from the loaders' lists (checkpoints, loras, vae…); other options are not models"),
  modelsByFolder: z.record(z.string(), z.array(z.string())).nullable().describe('model files per ComfyUI model folder'),
});
export type Backend = z.infer<typeof Backend>;

export const AddBackend = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  url: z.url({ protocol: /^https?$/ }),
  weight: z.number().positive().default(1),
  inflight: z.number().int().min(1).max(16).default(2),
});
export type AddBackend = z.input<typeof AddBackend>;

export const Stats = z.object({
  jobs: z.record(JobState, z.number().int()),
  backends: z.object({ up: z.number().int(), down: z.number().int(), unknown: z.number().int() }),
  lastEventId: z.number().int(),
});
export type Stats = z.infer<typeof Stats>;

export const TokenScope = z.enum(['read', 'submit', 'admin']);
export type TokenScope = z.infer<typeof TokenScope>;

export const Token = z.object({
  id: z.string(),
  name: z.string(),
  scope: TokenScope,
  dailyQuota: z.number().int().nullable(),
  seeAll: z.boolean().describe("reads every token's jobs, batches, assets and webhooks; acts on its own only"),
  createdAt: z.number(),
  revokedAt: z.number().nullable(),
});
export type Token = z.infer<typeof Token>;

export const CreateToken = z.object({
  name: z.string().min(1).max(100),
  scope: TokenScope.default('submit'),
  dailyQuota: z.number().int().min(1).nullable().default(null).describe('jobs per UTC day; null = unlimited'),
  seeAll: z
    .boolean()
    .default(false)
    .describe("read every token's objects (a team dashboard); it still acts on its own only"),
});
export type CreateToken = z.input<typeof CreateToken>;

export const CreatedToken = Token.extend({ token: z.string().describe('shown once') });
export type CreatedToken = z.infer<typeof CreatedToken>;

export const PairRequest = z.object({ name: z.string().min(1).max(100).default('Figma') });
export const PairStarted = z.object({
  pairingId: z.string().describe('secret: poll GET /v1/pair/{pairingId} with it'),
  code: z.string().describe('show this; the user confirms it with `comfygate pair <code>`'),
  expiresAt: z.number(),
});
export type PairStarted = z.infer<typeof PairStarted>;
export const PairStatus = z.discriminatedUnion('state', [
  z.object({ state: z.literal('pending'), expiresAt: z.number() }),
  z.object({ state: z.literal('confirmed'), token: z.string() }),
  z.object({ state: z.literal('expired') }),
]);
export type PairStatus = z.infer<typeof PairStatus>;
export const PendingPairing = z.object({
  code: z.string(),
  name: z.string(),
  expiresAt: z.number(),
  origin: z.string().nullable().describe('who asked: confirm only a request you started yourself'),
  userAgent: z.string().nullable(),
  address: z.string().nullable().optional().describe('the network address the request came from'),
  createdAt: z.number().optional().describe('when it was asked (ms since epoch)'),
});
export type PendingPairing = z.infer<typeof PendingPairing>;
export const ConfirmPairing = z.object({ code: z.string().min(1) });

/** `/v1/ws`: the client subscribes; the server sends the same events as `/v1/events`. */
export const WsClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), jobs: z.array(z.string()).optional(), since: z.number().int().optional() }),
  z.object({ type: z.literal('unsubscribe'), jobs: z.array(z.string()).optional() }),
]);
export type WsClientMessage = z.infer<typeof WsClientMessage>;

export const StreamEvent = z.union([GatewayEvent, ProgressEvent]);
export type StreamEvent = z.infer<typeof StreamEvent>;

/** Browsers cannot set headers on a WebSocket: the token travels as a subprotocol entry `comfygate.token.<token>`. */
export const WS_TOKEN_PROTOCOL_PREFIX = 'comfygate.token.';
export const WS_PROTOCOL = 'comfygate.v1';

/** The retention limits in force (set in the config file's `retention` section); null: no limit. */
export const RetentionSettings = z.object({
  maxAgeMs: z.number().int().nullable().describe('finished jobs, outputs and uploads older than this are removed'),
  maxDiskBytes: z.number().int().nullable().describe('oldest finished jobs go first until stored files fit'),
  graceMs: z.number().int().describe('files younger than this are never removed'),
  sweepEveryMs: z.number().int(),
  webhookDeliveriesMaxAgeMs: z.number().int().nullable(),
  webhookDeliveriesPerWebhook: z.number().int().nullable(),
});
export type RetentionSettings = z.infer<typeof RetentionSettings>;

/** What a retention pass removed (or, with dryRun, would remove). */
export const GcReport = z.object({
  dryRun: z.boolean(),
  jobs: z.number().int(),
  refs: z.number().int(),
  assets: z.number().int(),
  bytes: z.number().int(),
  webhooks: z.number().int().describe('retired job webhooks removed with their delivery records'),
  deliveries: z.number().int().describe('webhook delivery records removed (beyond their age or count)'),
});
export type GcReport = z.infer<typeof GcReport>;
