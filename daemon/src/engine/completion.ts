import type { ErrorDetail } from '@comfygate/shared';
import { type Failure, classifyExecutionError, classifyThrown } from '../comfy/classify.js';
import type { ExecutionErrorData, HistoryEntry } from '../comfy/types.js';
import type { JobRecord } from '../store/types.js';
import { ACTIVE, type EngineContext, type Inflight } from './context.js';
import { endAttempt } from './end-attempt.js';
import { harvestOutputs, textOutputs } from './harvest.js';

/** ComfyUI started our prompt (execution_start, or a node executing that we had not seen start). */
export function markRunning(ctx: EngineContext, promptId: string): void {
  const f = ctx.inflight.get(promptId);
  if (!f) return;
  f.lastSignalAt = Date.now();
  ctx.track(
    ctx.deps.store.jobs.transition({
      jobId: f.jobId,
      from: ['dispatched'],
      to: 'running',
      event: { type: 'job:running', data: { backend: f.backend.name } },
      attemptUpdate: { id: promptId, state: 'running' },
    }),
  );
}

/** Confirms a finished prompt through /history (the only trustworthy record) and settles its job. */
export async function finish(ctx: EngineContext, f: Inflight): Promise<void> {
  if (f.finishing || !ctx.inflight.has(f.promptId)) return;
  f.finishing = true;
  try {
    const entry = await confirmHistory(ctx, f);
    if (!entry)
      return await endAttempt(ctx, f, {
        kind: 'transient',
        code: 'backend_unavailable',
        message: 'ComfyUI reported the prompt finished but wrote no history entry',
      });
    if (entry.status && entry.status.status_str !== 'success')
      return await endAttempt(ctx, f, await failureOf(ctx, f, entry));
    await succeed(ctx, f, entry);
  } catch (err) {
    await endAttempt(ctx, f, classifyThrown(err));
  }
}

/** `execution_success` comes before ComfyUI writes history: ask again briefly before calling it missing. */
async function confirmHistory(ctx: EngineContext, f: Inflight): Promise<HistoryEntry | null> {
  const deadline = Date.now() + ctx.deps.config.historyConfirmMs;
  for (let delay = 10; ; delay = Math.min(500, delay * 2)) {
    const entry = await f.backend.http.history(f.promptId);
    if (entry || Date.now() > deadline || ctx.closed()) return entry;
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Why a prompt ended without success: a node's error, our own cancel, or an interrupt by someone else. */
async function failureOf(ctx: EngineContext, f: Inflight, entry: HistoryEntry): Promise<Failure> {
  const messages = entry.status?.messages ?? [];
  const err = messages.find(([type]) => type === 'execution_error')?.[1] as ExecutionErrorData | undefined;
  if (err ?? f.executionError) return classifyExecutionError((err ?? f.executionError)!);
  const job = await ctx.deps.store.jobs.get(f.jobId);
  if (job?.cancelRequested) return { kind: 'permanent', code: 'canceled', message: 'canceled' };
  return {
    kind: 'transient',
    code: 'backend_unavailable',
    message: 'prompt was interrupted on the backend by someone else',
  };
}

async function succeed(ctx: EngineContext, f: Inflight, entry: HistoryEntry): Promise<void> {
  const { store, files } = ctx.deps;
  // Out of ComfyUI's queue now: its slot can take the next prompt while we download, as pipelining intends.
  f.harvesting = true;
  // History says success: every node ran, the last one too (no later `executing` marked it done).
  f.progress.complete();
  ctx.progress.update(f.jobId, f.progress.read);
  ctx.kick();
  let harvested;
  try {
    harvested = await harvestOutputs(f.backend, entry, { jobId: f.jobId, attemptId: f.promptId }, files);
  } catch (err) {
    const failure = classifyThrown(err);
    // A failed download may go better on a retry; a storage error (a full disk) keeps its own kind.
    return endAttempt(ctx, f, failure.code === 'storage_error' ? failure : { ...failure, kind: 'transient' });
  }
  ctx.inflight.delete(f.promptId);
  const { outputs, assets } = harvested;
  const texts = textOutputs(entry);
  const job = await store.jobs.transition({
    jobId: f.jobId,
    from: ACTIVE,
    to: 'postprocessing',
    event: { type: 'job:postprocessing', data: { outputs: outputs.length, texts: texts.length } },
    patch: { texts },
    attemptUpdate: { id: f.promptId, state: 'done' },
    assets,
    outputs,
  });
  if (job) return completePostprocess(ctx, job);
  // The job moved on meanwhile: still record the files, or retention (which goes by rows) never removes them.
  for (const a of assets) await store.assets.upsert(a);
}

/** Runs the post-processing hook on a job in `postprocessing`; also after a restart, so it must be repeatable. */
export async function completePostprocess(ctx: EngineContext, job: JobRecord): Promise<void> {
  const { store, postprocess } = ctx.deps;
  try {
    await postprocess?.(job);
  } catch (err) {
    const e = classifyThrown(err);
    const error: ErrorDetail = { code: e.code, message: `post-processing failed: ${e.message}` };
    await store.jobs.transition({
      jobId: job.id,
      from: ['postprocessing'],
      to: 'failed',
      event: { type: 'job:failed', data: { error } },
      patch: { error, finishedAt: Date.now() },
    });
    return ctx.settle(job.id);
  }
  await store.jobs.transition({
    jobId: job.id,
    from: ['postprocessing'],
    to: 'succeeded',
    event: { type: 'job:succeeded' },
    patch: { finishedAt: Date.now() },
  });
  ctx.settle(job.id);
}
