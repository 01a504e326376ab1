import type { ComfyGraph, JobState } from '@comfygate/shared';
import type { Logger } from 'pino';
import type { AssetFiles } from '../assets/files.js';
import type { ComfyBackend } from '../comfy/backend.js';
import type { ExecutionErrorData } from '../comfy/types.js';
import type { BackendConfig, EngineConfig } from '../config/schema.js';
import type { JobRecord, Store } from '../store/types.js';
import { GraphProgress } from './graph-progress.js';
import type { InputStager } from './inputs.js';
import type { ProgressBoard } from './progress.js';
import type { ServedClock } from './routing.js';

export type PostprocessHook = (job: JobRecord) => Promise<void>;

export interface EngineDeps {
  store: Store;
  files: AssetFiles;
  config: EngineConfig;
  backends: readonly BackendConfig[];
  log: Logger;
  postprocess?: PostprocessHook;
}

/** A prompt we put (or may have put) in a backend's queue. Keyed by prompt_id, which is also the attempt id. */
export interface Inflight {
  promptId: string;
  jobId: string;
  client: string;
  backend: ComfyBackend;
  /** POST /prompt is still on the wire: reconciling must not call it lost. */
  posting: boolean;
  finishing: boolean;
  /** ComfyUI finished it (its history says success): out of the backend's queue, outputs still downloading. */
  harvesting: boolean;
  lastSignalAt: number;
  executionError: ExecutionErrorData | null;
  /** Which of the graph's nodes are done, from the backend's messages. */
  progress: GraphProgress;
}

/** The states in which a backend holds (or may hold) the job's prompt. */
export const ACTIVE: readonly JobState[] = ['dispatched', 'running'];

/**
 * What the engine's parts (dispatch, completion, cancel, recovery, backend signals) share. The Engine builds
 * one and keeps it private; the parts are functions over it, so the Engine's own surface stays small and
 * every job state transition still starts inside the engine.
 */
export interface EngineContext {
  readonly deps: EngineDeps;
  readonly backends: ReadonlyMap<string, ComfyBackend>;
  /** prompt_id -> prompt in flight: the engine's whole view of what each backend holds. */
  readonly inflight: Map<string, Inflight>;
  /** Backends being reconciled now: one pass per backend at a time. */
  readonly reconciling: Set<string>;
  readonly progress: ProgressBoard;
  readonly stager: InputStager;
  readonly served: ServedClock;
  /** Per-job extra_data for ComfyUI (partner-node API keys): memory only, never written to the store or logs. */
  readonly secrets: ReadonlyMap<string, Record<string, unknown>>;
  /** True once close() began: nothing new starts, and open attempts are left for recovery at the next start. */
  closed(): boolean;
  /** Runs a task in the background: its failure is logged, and close() waits for it (bounded). */
  track(p: Promise<unknown>): void;
  /** Asks for a scheduling pass. */
  kick(): void;
  /** The last scheduling pass left queued jobs it could not place (no backend up, or none free). */
  jobsWaiting(): boolean;
  /** A job reached a terminal state: drop what was kept in memory for it, and look for more work. */
  settle(jobId: string): void;
}

export function newInflight(
  promptId: string,
  job: Pick<JobRecord, 'id' | 'client'>,
  backend: ComfyBackend,
  at: { posting: boolean; lastSignalAt: number },
  graph: ComfyGraph,
): Inflight {
  const outputs = backend.capabilities?.outputs;
  const progress = new GraphProgress(graph, outputs ? new Set(outputs) : null);
  return {
    promptId,
    jobId: job.id,
    client: job.client,
    backend,
    posting: at.posting,
    finishing: false,
    harvesting: false,
    lastSignalAt: at.lastSignalAt,
    executionError: null,
    progress,
  };
}

/**
 * How many of our prompts wait or run in a backend's queue: what pipelining and routing weigh against its
 * `inflight` limit. A finished prompt whose outputs are still downloading no longer counts: the GPU is free.
 */
export function loadOf(ctx: EngineContext, b: ComfyBackend): number {
  let n = 0;
  for (const f of ctx.inflight.values()) if (f.backend === b && !f.harvesting) n++;
  return n;
}

/** How many of our prompts still need this backend: in its queue, or outputs still to download from it. */
export function heldBy(ctx: EngineContext, b: ComfyBackend): number {
  let n = 0;
  for (const f of ctx.inflight.values()) if (f.backend === b) n++;
  return n;
}
