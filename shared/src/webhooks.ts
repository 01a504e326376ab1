import { z } from 'zod';
import { GatewayEvent, JobEventType, JobState } from './jobs.js';

/** Standard Webhooks (https://www.standardwebhooks.com) secrets: `whsec_` + base64 of 24 to 64 random bytes. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_SECRET_MIN_BYTES = 24;
export const WEBHOOK_SECRET_MAX_BYTES = 64;

/** Decoded length of a canonical base64 string, or null when it is not one (no Buffer: shared also runs in browsers). */
export function base64Bytes(s: string): number | null {
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null;
  const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return (s.length / 4) * 3 - padding;
}

export function isWebhookSecret(s: string): boolean {
  if (!s.startsWith(WEBHOOK_SECRET_PREFIX)) return false;
  const n = base64Bytes(s.slice(WEBHOOK_SECRET_PREFIX.length));
  return n !== null && n >= WEBHOOK_SECRET_MIN_BYTES && n <= WEBHOOK_SECRET_MAX_BYTES;
}

export const WebhookSecret = z.string().refine(isWebhookSecret, {
  message: `a secret is "${WEBHOOK_SECRET_PREFIX}" followed by base64 of ${WEBHOOK_SECRET_MIN_BYTES} to ${WEBHOOK_SECRET_MAX_BYTES} bytes`,
});

/** Any durable event type, or `*` for all of them. */
export const WebhookEventType = z.union([JobEventType, z.literal('*')]);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** What a subscription hears when it names no types: the end of each job. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEventType[] = ['job:succeeded', 'job:failed', 'job:canceled'];

export const CreateWebhook = z
  .object({
    url: z.url({ protocol: /^https?$/ }).max(2048),
    secret: WebhookSecret.optional().describe('generated when not given; shown once in the answer'),
    events: z.array(WebhookEventType).min(1).max(20).optional().describe('default: the terminal job events'),
    jobId: z.string().min(1).max(200).optional().describe("only this job's events (submit scope suffices)"),
    batchId: z.string().min(1).max(200).optional().describe("only events of this batch's jobs (submit scope suffices)"),
  })
  .refine((w) => !(w.jobId && w.batchId), { message: 'give at most one of `jobId` and `batchId`' });
export type CreateWebhook = z.input<typeof CreateWebhook>;

export const Webhook = z.object({
  id: z.string(),
  url: z.string(),
  secret: z.string().describe('masked, except in the answer to the POST that created it'),
  events: z.array(WebhookEventType),
  jobId: z.string().nullable(),
  batchId: z.string().nullable(),
  lastEventId: z.number().int().describe('the newest event acknowledged or passed over; delivery resumes after it'),
  createdAt: z.number(),
  disabledAt: z.number().nullable(),
  retiredAt: z
    .number()
    .nullable()
    .describe(
      "a job's subscription whose job finished and whose last event went out; its deliveries stay until retention",
    ),
});
export type Webhook = z.infer<typeof Webhook>;

export const WebhookDelivery = z.object({
  eventId: z.number().int(),
  attempt: z.number().int().describe('1 for the first try of this event'),
  status: z.number().int().nullable().describe('HTTP status; null when no answer came (refused, timeout)'),
  error: z.string().nullable(),
  delivered: z.boolean(),
  at: z.number(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const ListWebhookDeliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** The body POSTed to a receiver (Standard Webhooks shape); the same bytes on every retry of one event. */
export const WebhookPayload = z.object({
  type: JobEventType,
  timestamp: z.string().describe('ISO 8601 time of the event (not of the attempt)'),
  data: z.object({
    jobId: z.string().nullable(),
    state: JobState.nullable().describe('the state the event moved the job to; null for events that move none'),
    event: GatewayEvent,
  }),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;
