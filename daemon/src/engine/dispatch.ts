import crypto from 'node:crypto';
import type { ComfyGraph } from '@comfygate/shared';
import type { ComfyBackend } from '../comfy/backend.js';
import { missingFor } from '../comfy/capabilities.js';
import {
  type Failure,
  classifyThrown,
  classifyValidation,
  isMissingCapability,
  neverReached,
} from '../comfy/classify.js';
import type { ComfyErrorObject, NodeError } from '../comfy/types.js';
import type { JobRecord } from '../store/types.js';
import { withdraw } from './cancel.js';
import { type EngineContext, type Inflight, loadOf, newInflight } from './context.js';
import { endAttempt } from './end-attempt.js';
import { reconcile } from './recovery.js';
import { route } from './routing.js';

/** Dispatches or fails one queued job; false if it has to wait for a backend. */
export async function place(ctx: EngineContext, job: JobRecord): Promise<boolean> {
  const graph = JSON.parse(job.graphJson) as ComfyGraph;
  const candidates = job.backendPin
    ? [ctx.backends.get(job.backendPin)].filter((b) => b !== undefined)
    : [...ctx.backends.values()];
  const r = route(graph, candidates, (b) => loadOf(ctx, b), job.avoidBackend);
  if (r.kind === 'wait') return false;
  if (r.kind === 'impossible') {
    const error = {
      code: 'no_capable_backend' as const,
      message: `no backend can run this graph; missing: ${r.missing.join('; ')}`,
      details: { missing: r.missing },
    };
    await ctx.deps.store.jobs.transition({
      jobId: job.id,
      from: ['queued'],
      to: 'failed',
      event: { type: 'job:failed', data: { error } },
      patch: { error, finishedAt: Date.now() },
    });
    return true;
  }
  await dispatch(ctx, job, r.backend, graph);
  return true;
}

async function dispatch(ctx: EngineContext, job: JobRecord, b: ComfyBackend, graph: ComfyGraph): Promise<void> {
  const promptId = crypto.randomUUID();
  const number = job.attempts + 1;
  // The attempt (and so the prompt_id) is committed before ComfyUI hears of it: after a crash we can ask for it by id.
  const moved = await ctx.deps.store.jobs.transition({
    jobId: job.id,
    from: ['queued'],
    to: 'dispatched',
    event: { type: 'job:dispatched', data: { backend: b.name, attempt: number, promptId } },
    patch: { attempts: number, lastBackend: b.name, startedAt: job.startedAt ?? Date.now() },
    newAttempt: { id: promptId, jobId: job.id, backend: b.name, number, state: 'posting' },
  });
  if (!moved) return;
  ctx.served.served(job.client);
  const f = newInflight(promptId, job, b, { posting: true, lastSignalAt: Date.now() }, graph);
  ctx.inflight.set(promptId, f);
  ctx.track(post(ctx, f, moved.graphJson));
}

async function post(ctx: EngineContext, f: Inflight, graphJson: string): Promise<void> {
  const { store } = ctx.deps;
  try {
    const staged = await ctx.stager.stage(graphJson, f.backend);
    const res = await f.backend.http.postPrompt({
      graphJson: staged,
      promptId: f.promptId,
      clientId: f.backend.socket.clientId,
      extraData: ctx.secrets.get(f.jobId),
    });
    f.posting = false;
    f.backend.reportSuccess();
    if (!res.ok) return await endAttempt(ctx, f, await validationFailure(ctx, f, graphJson, res.error, res.nodeErrors));
    if (Object.keys(res.nodeErrors).length > 0) {
      await store.events.append('job:warning', f.jobId, {
        message: 'some outputs failed validation and were dropped by ComfyUI',
        node_errors: res.nodeErrors,
      });
    }
    // No 'accepted' write: the attempt stays 'posting' until it runs, as recovery treats both alike.
    const job = await store.jobs.get(f.jobId);
    if (job?.cancelRequested && ctx.inflight.has(f.promptId)) await withdraw(ctx, f);
  } catch (err) {
    f.posting = false;
    const failure = classifyThrown(err);
    f.backend.reportFailure(failure.message);
    // A timeout or reset after the body was sent may still have queued our prompt: give it up as abandoned,
    // so it is deleted (or interrupted) there, rather than run twice.
    await endAttempt(ctx, f, failure, neverReached(err) ? 'failed' : 'abandoned');
    if (!neverReached(err)) ctx.track(reconcile(ctx, f.backend));
  }
}

/**
 * ComfyUI refused the graph. If it names a node class or model this backend lacks, our capabilities were
 * stale: refresh them, and retry elsewhere when another backend can run the graph; else fail with its words.
 */
async function validationFailure(
  ctx: EngineContext,
  f: Inflight,
  graphJson: string,
  error: ComfyErrorObject,
  nodeErrors: Record<string, NodeError>,
): Promise<Failure> {
  const failure = classifyValidation(error, nodeErrors);
  if (!isMissingCapability(error, nodeErrors)) return failure;
  await f.backend.refreshCapabilities().catch(() => {});
  const graph = JSON.parse(graphJson) as ComfyGraph;
  const others = [...ctx.backends.values()].filter(
    (b) => b !== f.backend && b.capabilities && missingFor(graph, b.capabilities).length === 0,
  );
  return others.length > 0 ? { ...failure, kind: 'transient' } : failure;
}
