import { z } from 'zod';
import { WatchRule } from '@comfygate/shared';
import { DEFAULT_HOME } from './home.js';
import { WebhookConfig } from '../webhooks/config.js';
import { EnhancerConfig } from '../templates/enhancer.js';

export const BackendConfig = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only'),
  url: z.url({ protocol: /^https?$/ }),
  weight: z.number().positive().default(1).describe('relative GPU speed; a weight-2 backend gets twice the load'),
  inflight: z.number().int().min(1).max(16).default(2).describe("prompts kept in this backend's queue at once"),
});
export type BackendConfig = z.infer<typeof BackendConfig>;

export const EngineConfig = z.object({
  maxAttempts: z.number().int().min(1).max(20).default(3),
  retryBaseMs: z.number().int().min(0).default(500),
  retryMaxMs: z.number().int().min(0).default(30_000),
  /** A backend down this long has its in-flight attempts re-dispatched elsewhere (and deleted there on return). */
  failoverAfterMs: z.number().int().min(0).default(5_000),
  /** How often in-flight prompts are confirmed through /history when their WebSocket is quiet or down. */
  pollMs: z.number().int().min(20).default(1_000),
  breakerThreshold: z.number().int().min(1).default(3),
  probeMs: z.number().int().min(20).default(1_000),
  probeMaxMs: z.number().int().min(20).default(15_000),
  /** While jobs wait for a down backend (or it holds our prompts), it is probed at least this often. */
  probeWaitingMs: z.number().int().min(20).default(1_000),
  progressThrottleMs: z.number().int().min(0).default(200),
  historyConfirmMs: z.number().int().min(100).default(10_000),
  /** Queued jobs accepted at most; beyond it submissions get 429 and /readyz reports not ready. */
  maxQueued: z.number().int().min(1).default(100_000),
});
export type EngineConfig = z.infer<typeof EngineConfig>;

export const SecurityConfig = z.object({
  /** Host names accepted besides the loopback ones (a LAN name when binding beyond 127.0.0.1). Never resolved through DNS. */
  allowedHosts: z.array(z.string().min(1)).default([]),
  /** Browser origins accepted besides the dashboard's own, `vscode-webview://…` and `null` (Figma). */
  allowedOrigins: z.array(z.string().min(1)).default([]),
  maxUploadBytes: z
    .number()
    .int()
    .min(1)
    .default(50 * 1024 * 1024),
  /** Decoded pixels per uploaded image (width × height × frames); bounds sharp's memory. */
  maxPixels: z.number().int().min(1).default(40_000_000),
  maxJsonBytes: z
    .number()
    .int()
    .min(1)
    .default(10 * 1024 * 1024),
  /** Requests per minute per token (a burst of the same size is allowed). */
  rateLimitPerMinute: z.number().int().min(1).default(1200),
  /** Nesting of arrays/objects in a JSON body (graph, metadata, params), checked before parsing: deep nesting overflows the stack. */
  maxJsonDepth: z.number().int().min(8).max(1000).default(64),
  /** Nodes in one graph (a large real workflow has a few hundred). */
  maxGraphNodes: z.number().int().min(1).default(2_000),
  /** A job's graph, serialized. */
  maxGraphBytes: z
    .number()
    .int()
    .min(1)
    .default(2 * 1024 * 1024),
  /** A job's `metadata`, serialized (it comes back in every job view and list). */
  maxMetadataBytes: z
    .number()
    .int()
    .min(1)
    .default(64 * 1024),
  /** Characters of any one text value in a graph or in template params (prompts). */
  maxPromptChars: z.number().int().min(1).default(32_768),
  /** Ops in one post-processing variant. */
  maxOpsPerVariant: z.number().int().min(1).max(32).default(16),
  /** Estimated post-processing work per job, in megapixel-passes (a blur counts its sigma as passes); see the README. */
  maxPostprocessCost: z.number().int().min(1).default(2_000),
  /** Event streams (`/v1/ws`, `/v1/events`, `/api/v2/jobs/{id}/events`) one token may hold open at once. */
  maxStreamsPerToken: z.number().int().min(1).default(32),
  /** Frames one token may send on its `/v1/ws` sockets per minute (a burst of the same size); over it the sending socket is closed. */
  wsMessagesPerMinute: z.number().int().min(1).default(120),
  /** Pairing requests started per minute from one origin and address (they need no token). */
  pairStartsPerMinute: z.number().int().min(1).default(5),
  /** Pending pairing requests kept per origin and address (and 10 times that in all). */
  maxPendingPairings: z.number().int().min(1).default(3),
});
export type SecurityConfig = z.infer<typeof SecurityConfig>;

export const RetentionConfig = z.object({
  /** Finished jobs, their outputs, and uploads older than this are removed; null keeps everything. */
  maxAgeMs: z.number().int().min(0).nullable().default(null),
  /** Oldest finished jobs are removed first until stored files fit; null means no bound. */
  maxDiskBytes: z.number().int().min(1).nullable().default(null),
  graceMs: z
    .number()
    .int()
    .min(0)
    .default(10 * 60_000),
  sweepEveryMs: z
    .number()
    .int()
    .min(1_000)
    .default(60 * 60_000),
  // Webhook history is bounded by default (each attempt is a row): unlike jobs, nobody asked to keep it forever.
  webhookDeliveriesMaxAgeMs: z
    .number()
    .int()
    .min(0)
    .nullable()
    .default(7 * 24 * 3_600_000)
    .describe(
      'webhook delivery records older than this are removed, and so is a retired (or disabled) job webhook, with its records, once retired this long; null keeps them',
    ),
  webhookDeliveriesPerWebhook: z
    .number()
    .int()
    .min(1)
    .nullable()
    .default(1_000)
    .describe('delivery records kept per webhook, newest first; null: no bound'),
});
export type RetentionConfig = z.infer<typeof RetentionConfig>;

/** Limits shared by every watched-folder rule (the rules themselves are `watch`). */
export const WatchOptions = z.object({
  /** Watch jobs queued or running at once; the rest wait in the ledger, so a 10,000-file dump never fills the queue. */
  maxQueued: z.number().int().min(1).max(10_000).default(32),
  /** Files hashed and recorded per intake pass before yielding to the event loop (the API stays responsive). */
  maxFilesPerScan: z.number().int().min(1).default(256),
  /** A file's size must hold still this long before it is read (partial writes, copies over a network share). */
  stableMs: z.number().int().min(0).default(1_000),
  pollMs: z.number().int().min(10).default(100),
  /** How often each rule's folder is checked for having been deleted or recreated. */
  presenceMs: z.number().int().min(50).default(2_000),
  /** Largest .txt / .prompt.json read (images use security.maxUploadBytes). */
  maxTextBytes: z
    .number()
    .int()
    .min(1)
    .default(256 * 1024),
});
export type WatchOptions = z.infer<typeof WatchOptions>;

export { DEFAULT_HOME };

export const Config = z.object({
  home: z.string().default(DEFAULT_HOME).describe('data directory: database, token, assets'),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8288),
  backends: z
    .array(BackendConfig)
    .default([{ name: 'local', url: 'http://127.0.0.1:8188', weight: 1, inflight: 2 }])
    .refine((bs) => new Set(bs.map((b) => b.name)).size === bs.length, 'backend names must be unique'),
  engine: EngineConfig.default(EngineConfig.parse({})),
  security: SecurityConfig.default(SecurityConfig.parse({})),
  retention: RetentionConfig.default(RetentionConfig.parse({})),
  webhooks: WebhookConfig.default(WebhookConfig.parse({})),
  watch: z.array(WatchRule).default([]).describe('watched folders (more can be added at runtime over the API)'),
  watchOptions: WatchOptions.default(WatchOptions.parse({})),
  /** An OpenAI-compatible chat endpoint for `enhance: true` jobs; null: enhancement is off. */
  enhancer: EnhancerConfig.nullable().default(null),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type Config = z.infer<typeof Config>;
export type ConfigInput = z.input<typeof Config>;
