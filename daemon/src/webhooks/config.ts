import { z } from 'zod';

/**
 * Dispatcher settings. Shaped as a config section (`webhooks` in the daemon's config file) so that adding
 * `webhooks: WebhookConfig.default({})` to the main schema is all it takes; until then it is read from
 * `config.webhooks` when present (tests set it) and defaults otherwise.
 */
export const BackoffConfig = z.object({
  /** First retry after about this long... */
  baseMs: z.number().int().min(1).default(1_000),
  /** ...then doubling... */
  factor: z.number().min(1).default(2),
  /** ...up to this. */
  maxMs: z
    .number()
    .int()
    .min(1)
    .default(5 * 60_000),
  /** Each delay is drawn from [d × (1 − jitter), d]: receivers that come back are not hit by every retry at once. */
  jitter: z.number().min(0).max(1).default(0.2),
});
export type BackoffConfig = z.infer<typeof BackoffConfig>;

export const WebhookConfig = z.object({
  backoff: BackoffConfig.default(BackoffConfig.parse({})),
  /** One POST, connect to last body byte. */
  timeoutMs: z.number().int().min(1).default(10_000),
  /** Subscriptions delivering at once (each one is strictly sequential). */
  concurrency: z.number().int().min(1).max(64).default(4),
  /** Events read from the log per query. */
  batchSize: z.number().int().min(1).max(10_000).default(200),
  /** close() waits this long for posts in flight, then aborts them (they are retried after a restart). */
  closeGraceMs: z.number().int().min(0).default(2_000),
  /** A subscription failing without a single success for this long is disabled; 0 never disables. */
  disableAfterMs: z
    .number()
    .int()
    .min(0)
    .default(3 * 24 * 3_600_000),
  /** A slow safety sweep besides the wake-ups on new events. */
  sweepMs: z.number().int().min(100).default(60_000),
});
export type WebhookConfig = z.infer<typeof WebhookConfig>;
export type WebhookConfigInput = z.input<typeof WebhookConfig>;

export const WEBHOOK_DEFAULTS: WebhookConfig = WebhookConfig.parse({});

/** Parses the optional `webhooks` section of a daemon config, which the main schema does not know yet. */
export function webhookConfigOf(config: { webhooks?: unknown }): WebhookConfig {
  return WebhookConfig.parse(config.webhooks ?? {});
}
