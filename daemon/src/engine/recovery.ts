import type { ComfyGraph } from '@comfygate/shared';
import type { ComfyBackend } from '../comfy/backend.js';
import type { AttemptRecord } from '../store/types.js';
import { finish, completePostprocess, markRunning } from './completion.js';
import { ACTIVE, type EngineContext, newInflight } from './context.js';
import { endAttempt } from './end-attempt.js';

/**
 * After a restart: re-attach every attempt a backend may hold, and finish interrupted post-processing.
 * Re-attached prompts are then reconciled like any other when their backend's socket opens.
 */
export async function recover(ctx: EngineContext): Promise<void> {
  const { store } = ctx.deps;
  for (const a of await store.attempts.open()) {
    if (a.state !== 'abandoned') await reattach(ctx, a);
  }
  for (const job of await store.jobs.inStates(['postprocessing'])) ctx.track(completePostprocess(ctx, job));
}

async function reattach(ctx: EngineContext, a: AttemptRecord): Promise<void> {
  const { store } = ctx.deps;
  const job = await store.jobs.get(a.jobId);
  const b = ctx.backends.get(a.backend);
  if (!job || !ACTIVE.includes(job.state)) {
    await store.attempts.setState(a.id, 'abandoned');
    return;
  }
  if (!b) {
    await store.attempts.setState(a.id, 'failed', {
      code: 'backend_unavailable',
      message: `backend ${a.backend} is no longer configured`,
    });
    await store.jobs.transition({
      jobId: job.id,
      from: ACTIVE,
      to: 'queued',
      event: { type: 'job:retrying', data: { reason: 'backend removed' } },
    });
    return;
  }
  ctx.inflight.set(
    a.id,
    newInflight(a.id, job, b, { posting: false, lastSignalAt: 0 }, JSON.parse(job.graphJson) as ComfyGraph),
  );
}

/**
 * Brings our view of one backend in line with its /queue and /history: finished prompts are harvested,
 * queued or running ones kept, vanished ones (a ComfyUI restart empties its queue) retried, and
 * abandoned ones deleted so nothing we gave up on runs twice.
 */
export async function reconcile(ctx: EngineContext, b: ComfyBackend): Promise<void> {
  if (ctx.reconciling.has(b.name) || ctx.closed()) return;
  ctx.reconciling.add(b.name);
  try {
    await cleanUpAbandoned(ctx, b);
    const mine = [...ctx.inflight.values()].filter((f) => f.backend === b && !f.posting && !f.finishing);
    if (mine.length === 0) return;
    const q = await b.http.queue();
    for (const f of mine) {
      if (await b.http.history(f.promptId)) {
        ctx.track(finish(ctx, f));
      } else if (q.running.includes(f.promptId) || q.pending.includes(f.promptId)) {
        f.lastSignalAt = Date.now();
        if (q.running.includes(f.promptId)) markRunning(ctx, f.promptId);
      } else if (!f.finishing && ctx.inflight.has(f.promptId) && !(await b.http.history(f.promptId))) {
        // Asked twice: the prompt may have finished between the /queue and the first /history answers.
        await endAttempt(ctx, f, {
          kind: 'transient',
          code: 'backend_unavailable',
          message: `backend ${b.name} no longer has the prompt (restarted?)`,
        });
      }
    }
  } catch (err) {
    b.reportFailure((err as Error).message);
  } finally {
    ctx.reconciling.delete(b.name);
  }
}

/** Deletes (or interrupts) on a returned backend the prompts we gave up on while it was away. */
async function cleanUpAbandoned(ctx: EngineContext, b: ComfyBackend): Promise<void> {
  const { store } = ctx.deps;
  const abandoned = (await store.attempts.open()).filter((a) => a.backend === b.name && a.state === 'abandoned');
  if (abandoned.length === 0) return;
  const ids = abandoned.map((a) => a.id);
  await b.http.deleteFromQueue(ids);
  const q = await b.http.queue();
  for (const id of ids) if (q.running.includes(id)) await b.http.interrupt(id);
  for (const id of ids) await store.attempts.markCleanedUp(id);
}

/** Every pollMs: a backend whose socket is down, or quiet about a prompt for a while, is asked over HTTP. */
export function pollQuiet(ctx: EngineContext): void {
  const quietBefore = Date.now() - ctx.deps.config.pollMs;
  for (const b of ctx.backends.values()) {
    if (b.health !== 'up') continue;
    const quiet = [...ctx.inflight.values()].some(
      (f) => f.backend === b && !f.posting && (!b.socket.connected || f.lastSignalAt < quietBefore),
    );
    if (quiet) ctx.track(reconcile(ctx, b));
  }
}

/** A backend down for failoverAfterMs: its prompts go elsewhere and are deleted there when it returns. */
export function failOver(ctx: EngineContext, b: ComfyBackend): void {
  if (b.health === 'up') return;
  for (const f of [...ctx.inflight.values()]) {
    if (f.backend === b && !f.posting && !f.finishing) {
      ctx.track(
        endAttempt(
          ctx,
          f,
          { kind: 'transient', code: 'backend_unavailable', message: `backend ${b.name} is down` },
          'abandoned',
        ),
      );
    }
  }
}
