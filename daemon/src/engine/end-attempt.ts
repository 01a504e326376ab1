import type { ErrorDetail } from '@comfygate/shared';
import type { Failure } from '../comfy/classify.js';
import type { JobRecord } from '../store/types.js';
import { ACTIVE, type EngineContext, type Inflight } from './context.js';
import { decideRetry } from './retry.js';

type AttemptUpdate = { id: string; state: 'failed' | 'abandoned'; error: ErrorDetail };

/**
 * Ends an attempt that did not succeed: canceled, retried (preferably elsewhere) or failed. Dispatch,
 * completion, cancel and failover all end their failures here, so they end the same way.
 */
export async function endAttempt(
  ctx: EngineContext,
  f: Inflight,
  failure: Failure,
  attemptState: 'failed' | 'abandoned' = 'failed',
): Promise<void> {
  // While closing, leave the attempt open: recover() re-attaches it at the next start instead of re-running it.
  if (ctx.closed() || !ctx.inflight.delete(f.promptId)) return;
  const { store } = ctx.deps;
  const job = await store.jobs.get(f.jobId);
  if (!job || !ACTIVE.includes(job.state)) return;
  const attemptError: ErrorDetail = { code: failure.code, message: failure.message, details: failure.details };
  const attemptUpdate: AttemptUpdate = { id: f.promptId, state: attemptState, error: attemptError };
  if (job.cancelRequested || failure.code === 'canceled') {
    await store.jobs.transition({
      jobId: job.id,
      from: ACTIVE,
      to: 'canceled',
      event: { type: 'job:canceled' },
      patch: { finishedAt: Date.now() },
      attemptUpdate,
    });
    return ctx.settle(job.id);
  }
  return retryOrFail(ctx, job, failure, f.backend.name, attemptUpdate);
}

/** The retry decision (retry.ts) applied: back to the queue, away from this backend, or failed for good. */
async function retryOrFail(
  ctx: EngineContext,
  job: JobRecord,
  failure: Failure,
  backend: string,
  attemptUpdate: AttemptUpdate,
): Promise<void> {
  const { store, config } = ctx.deps;
  const error = attemptUpdate.error;
  const decision = decideRetry(failure, job.attempts, job.maxAttempts, config);
  if (!decision.retry) {
    await store.jobs.transition({
      jobId: job.id,
      from: ACTIVE,
      to: 'failed',
      event: { type: 'job:failed', data: { error } },
      patch: { error, finishedAt: Date.now() },
      attemptUpdate,
    });
    return ctx.settle(job.id);
  }
  await store.jobs.transition({
    jobId: job.id,
    from: ACTIVE,
    to: 'queued',
    event: { type: 'job:retrying', data: { error, delayMs: decision.delayMs, backend } },
    patch: { notBefore: Date.now() + decision.delayMs, avoidBackend: backend },
    attemptUpdate,
  });
  ctx.progress.clear(job.id);
  ctx.kick();
}
