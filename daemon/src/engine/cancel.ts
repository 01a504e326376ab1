import type { JobRecord } from '../store/types.js';
import { ACTIVE, type EngineContext, type Inflight } from './context.js';
import { endAttempt } from './end-attempt.js';

/**
 * Cancel in each state. Queued or post-processing: at once. Dispatched or running: flag it, then take the
 * prompt back from ComfyUI; the job ends canceled when the backend confirms. Idempotent.
 */
export async function cancel(ctx: EngineContext, job: JobRecord): Promise<void> {
  const { store } = ctx.deps;
  if (job.state === 'queued' || job.state === 'postprocessing') {
    const done = await store.jobs.transition({
      jobId: job.id,
      from: [job.state],
      to: 'canceled',
      event: { type: 'job:canceled' },
      patch: { finishedAt: Date.now(), cancelRequested: true },
    });
    if (done) return ctx.settle(job.id);
    // It moved on meanwhile (dispatched, say): cancel it in the state it is in now.
    const fresh = await store.jobs.get(job.id);
    if (fresh && fresh.state !== job.state) return cancel(ctx, fresh);
    return;
  }
  if (!ACTIVE.includes(job.state)) return;
  await store.jobs.requestCancel(job.id);
  const f = [...ctx.inflight.values()].find((x) => x.jobId === job.id);
  if (!f) return;
  if (f.posting) return; // the POST path sees the flag when ComfyUI answers
  await withdraw(ctx, f);
}

/** Takes a prompt back from ComfyUI: delete it if pending, interrupt it if running (only ours, by id). */
export async function withdraw(ctx: EngineContext, f: Inflight): Promise<void> {
  try {
    await f.backend.http.deleteFromQueue([f.promptId]);
    const q = await f.backend.http.queue();
    // Older servers interrupt globally, so interrupt only when our prompt is the one running.
    if (q.running.includes(f.promptId)) return await f.backend.http.interrupt(f.promptId);
    if (!q.pending.includes(f.promptId) && !(await f.backend.http.history(f.promptId))) {
      await endAttempt(ctx, f, { kind: 'permanent', code: 'canceled', message: 'canceled' });
    }
  } catch {
    // Unreachable backend: give the prompt up now; it is deleted there when the backend returns.
    await endAttempt(ctx, f, { kind: 'permanent', code: 'canceled', message: 'canceled' }, 'abandoned');
  }
}
