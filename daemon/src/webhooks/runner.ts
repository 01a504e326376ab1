import type { GatewayEvent } from '@comfygate/shared';
import type { Store, WebhookRecord } from '../store/types.js';
import type { WebhookConfig } from './config.js';
import { messageId, payloadOf, scopeMatches, typeMatches } from './payload.js';
import { postWebhook } from './post.js';
import { signedHeaders } from './signing.js';

/** idle: caught up; failed: an attempt failed (retry later); stopped: closing or deleted; gone: no such active subscription. */
export interface RunResult {
  outcome: 'idle' | 'failed' | 'stopped' | 'gone';
  delivered: number;
}

export interface RunContext {
  store: Store;
  config: WebhookConfig;
  /** Aborted when close() runs out of patience: posts end, and nothing more is written. */
  abort: AbortSignal;
  /** True once close() began: the post in flight may finish, no new one starts. */
  stopping(): boolean;
}

/**
 * Drains one subscription: reads its events after the stored cursor, in order, and POSTs each match, one
 * at a time. Stops at the first failure without moving past it, so order holds and nothing is skipped.
 * Only one run per subscription at a time (the dispatcher's job).
 */
export async function runSubscription(ctx: RunContext, id: string): Promise<RunResult> {
  const hook = await ctx.store.webhooks.get(id); // the cursor is read fresh each run: the database is the truth
  if (!hook || hook.disabledAt !== null || hook.retiredAt !== null) return { outcome: 'gone', delivered: 0 };
  let delivered = 0;
  let cursor = hook.lastEventId;
  let saved = cursor;
  const save = async () => {
    if (cursor > saved && !ctx.abort.aborted) await ctx.store.webhooks.advance(id, cursor);
    saved = cursor;
  };
  for (;;) {
    const events = await readAfter(ctx, hook, cursor);
    for (const e of events) {
      if (!(typeMatches(hook, e) && (await scopeMatches(hook, e, (job) => ctx.store.webhooks.batchOf(job))))) {
        cursor = e.id;
        continue;
      }
      await save(); // passed-over events before this one, so a failure below does not rescan them
      if (ctx.stopping()) return { outcome: 'stopped', delivered };
      if (!(await deliverOne(ctx, hook, e))) return { outcome: ctx.abort.aborted ? 'stopped' : 'failed', delivered };
      cursor = saved = e.id; // deliverOne moved the stored cursor in the same transaction as the record
      delivered++;
    }
    await save();
    if (events.length < ctx.config.batchSize) {
      // Caught up: a job-scoped subscription whose job has finished has nothing left to hear, so it leaves the work list.
      if (hook.jobId && (await ctx.store.webhooks.retireIfDone(id))) return { outcome: 'gone', delivered };
      return { outcome: 'idle', delivered };
    }
  }
}

/** Job-scoped subscriptions read only their job's events (an index probe), the rest read the global log. */
function readAfter(ctx: RunContext, hook: WebhookRecord, cursor: number): Promise<GatewayEvent[]> {
  return hook.jobId
    ? ctx.store.webhooks.jobEvents(hook.jobId, cursor, ctx.config.batchSize)
    : ctx.store.events.after(cursor, ctx.config.batchSize);
}

/** One attempt at one event. On 2xx the record and the cursor move together; otherwise the attempt is recorded. */
async function deliverOne(ctx: RunContext, hook: WebhookRecord, e: GatewayEvent): Promise<boolean> {
  const attempt = (await ctx.store.webhooks.lastAttempt(hook.id, e.id)) + 1;
  const body = payloadOf(e);
  const headers = signedHeaders(hook.secret, messageId(hook.id, e.id), body);
  const r = await postWebhook(hook.url, { ...headers }, body, ctx.config.timeoutMs, ctx.abort);
  // Aborted at close: the store may be closing, so write nothing; the event is sent again after a restart.
  if (ctx.abort.aborted) return false;
  const a = { webhookId: hook.id, eventId: e.id, attempt, status: r.status, error: r.error };
  if (r.ok) await ctx.store.webhooks.delivered(a);
  else await ctx.store.webhooks.failed(a);
  return r.ok;
}
