import { type GatewayEvent, JobState, type WebhookPayload } from '@comfygate/shared';
import type { WebhookRecord } from '../store/types.js';

/** Stable per (subscription, event), so a receiver can drop a redelivery of what it already processed. */
export const messageId = (hookId: string, eventId: number): string => `${hookId}_evt_${eventId}`;

export function typeMatches(hook: WebhookRecord, e: GatewayEvent): boolean {
  return hook.eventTypes.includes('*') || hook.eventTypes.includes(e.type);
}

/**
 * Whether an event belongs to the subscription's scope. Batch membership is read from the job row, so an
 * event of a job deleted since (or a backend event) is not a batch's.
 */
export async function scopeMatches(
  hook: WebhookRecord,
  e: GatewayEvent,
  batchOf: (jobId: string) => Promise<string | null>,
): Promise<boolean> {
  if (hook.jobId) return e.jobId === hook.jobId;
  if (hook.batchId) return e.jobId !== null && (await batchOf(e.jobId)) === hook.batchId;
  return true;
}

/** The state a transition moved the job to (its `to`); events that move none (warnings, deletions) have null. */
function stateOf(e: GatewayEvent): JobState | null {
  const r = JobState.safeParse(e.data.to);
  return r.success ? r.data : null;
}

/** The body: a pure function of the event, so every retry sends the same bytes. */
export function payloadOf(e: GatewayEvent): string {
  const body: WebhookPayload = {
    type: e.type,
    timestamp: new Date(e.at).toISOString(),
    data: { jobId: e.jobId, state: stateOf(e), event: e },
  };
  return JSON.stringify(body);
}
