import type { ProgressEvent } from '@comfygate/shared';
import { ComfyBackend } from '../comfy/backend.js';
import type { Capabilities } from '../comfy/capabilities.js';
import type { BackendConfig } from '../config/schema.js';
import type { JobRecord } from '../store/types.js';
import { GatewayError } from '../errors.js';
import { cancel } from './cancel.js';
import { type EngineContext, type EngineDeps, type Inflight, heldBy, loadOf } from './context.js';
import { place } from './dispatch.js';
import { InputStager } from './inputs.js';
import { ProgressBoard } from './progress.js';
import { pollQuiet, recover } from './recovery.js';
import { fairOrder, ServedClock } from './routing.js';
import { BackendSignals } from './signals.js';

export type { EngineDeps, PostprocessHook } from './context.js';

const HEADS_PER_CLIENT = 16;

/**
 * The scheduler: the only writer of job state after `queued`. It claims queued jobs fairly, routes them
 * by capability and load, keeps up to `inflight` prompts in each backend's queue, confirms completion
 * through /history, retries transient failures elsewhere, and re-attaches to its prompts after a restart.
 *
 * This class is the orchestrator: it owns the backends, the scheduling pass and the lifecycle. The work is
 * in its parts, over one shared EngineContext: dispatch.ts, completion.ts, end-attempt.ts, cancel.ts,
 * recovery.ts and signals.ts (what backends report).
 */
export class Engine {
  readonly backends = new Map<string, ComfyBackend>();
  readonly progress: ProgressBoard;
  private readonly inflight = new Map<string, Inflight>();
  private readonly progressListeners = new Set<(e: ProgressEvent) => void>();
  private readonly work = new Set<Promise<unknown>>();
  private readonly served = new ServedClock();
  private readonly secrets = new Map<string, Record<string, unknown>>();
  private readonly ctx: EngineContext;
  private readonly signals: BackendSignals;
  private scheduling = false;
  private again = false;
  private waiting = false;
  /** Set by placeNext: it found queued jobs (false when it placed none because there were none). */
  private unplaced = false;
  private wakeTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly deps: EngineDeps) {
    this.progress = new ProgressBoard(deps.config.progressThrottleMs, (e) =>
      this.progressListeners.forEach((l) => l(e)),
    );
    this.ctx = {
      deps,
      backends: this.backends,
      inflight: this.inflight,
      reconciling: new Set(),
      progress: this.progress,
      stager: new InputStager(deps.store.assets, deps.files),
      served: this.served,
      secrets: this.secrets,
      closed: () => this.closed,
      track: (p) => this.track(p),
      kick: () => this.kick(),
      jobsWaiting: () => this.waiting,
      settle: (jobId) => this.settle(jobId),
    };
    this.signals = new BackendSignals(this.ctx);
  }

  /** Per-job extra_data for ComfyUI (partner-node API keys): memory only, never written to the store or logs. */
  setExtraData(jobId: string, extra: Record<string, unknown>): void {
    this.secrets.set(jobId, extra);
  }

  forgetExtraData(jobId: string): void {
    this.secrets.delete(jobId);
  }

  async start(): Promise<void> {
    const known = new Map(
      (await this.deps.store.backends.all()).map((r) => [r.name, r.capabilities as Capabilities | null]),
    );
    const runtime = (await this.deps.store.backends.runtime()).filter(
      (r) => !this.deps.backends.some((b) => b.name === r.name),
    );
    for (const cfg of [...this.deps.backends, ...runtime])
      this.backends.set(cfg.name, this.makeBackend(cfg, known.get(cfg.name) ?? null));
    await recover(this.ctx);
    for (const b of this.backends.values()) b.start();
    this.pollTimer = setInterval(() => pollQuiet(this.ctx), this.deps.config.pollMs);
    this.kick();
  }

  /** Adds a backend at runtime (persisted, so it is back after a restart). */
  async addBackend(cfg: BackendConfig): Promise<ComfyBackend> {
    if (this.backends.has(cfg.name))
      throw new GatewayError({ code: 'conflict', message: `backend '${cfg.name}' already exists` });
    await this.deps.store.backends.addRuntime(cfg);
    const b = this.makeBackend(cfg, null);
    this.backends.set(cfg.name, b);
    b.start();
    return b;
  }

  /** Removes an idle backend; one still holding prompts must be drained first. */
  async removeBackend(name: string): Promise<void> {
    const b = this.backend(name);
    const load = heldBy(this.ctx, b);
    if (load > 0)
      throw new GatewayError({
        code: 'conflict',
        message: `backend '${name}' still holds ${load} prompt(s); drain it first`,
        details: { inflight: load },
      });
    this.backends.delete(name);
    await this.deps.store.backends.removeRuntime(name);
    await b.close();
  }

  setDraining(name: string, draining: boolean): ComfyBackend {
    const b = this.backend(name);
    b.draining = draining;
    if (!draining) this.kick();
    return b;
  }

  backend(name: string): ComfyBackend {
    const b = this.backends.get(name);
    if (!b)
      throw new GatewayError({
        code: 'not_found',
        message: `no backend '${name}'`,
        details: { known: [...this.backends.keys()] },
      });
    return b;
  }

  loadOf(b: ComfyBackend): number {
    return loadOf(this.ctx, b);
  }

  onProgressEvent(listener: (e: ProgressEvent) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  cancel(job: JobRecord): Promise<void> {
    return cancel(this.ctx, job);
  }

  /** Ask for a scheduling pass; passes never overlap, and a request during one runs another after it. */
  kick(): void {
    if (this.closed) return;
    if (this.scheduling) {
      this.again = true;
      return;
    }
    this.scheduling = true;
    this.track(
      this.schedule()
        .catch((err) => this.deps.log.error({ err }, 'scheduling pass failed'))
        .finally(() => {
          this.scheduling = false;
          if (this.again) ((this.again = false), this.kick());
        }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.signals.close();
    this.progress.close();
    await Promise.allSettled([...this.backends.values()].map((b) => b.close()));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise((r) => (timer = setTimeout(r, 2_000)));
    await Promise.race([Promise.allSettled([...this.work]), bound]);
    clearTimeout(timer);
  }

  private makeBackend(cfg: BackendConfig, known: Capabilities | null): ComfyBackend {
    const { breakerThreshold: threshold, probeMs, probeMaxMs, probeWaitingMs } = this.deps.config;
    return new ComfyBackend(cfg, this.signals, { threshold, probeMs, probeMaxMs, probeWaitingMs }, known);
  }

  /** Places queued jobs, fairest first, while some backend has a free slot and some job can use it. */
  private async schedule(): Promise<void> {
    let waiting = false;
    while (!this.closed) {
      const free = [...this.backends.values()].some(
        (b) => b.health === 'up' && !b.draining && this.loadOf(b) < b.config.inflight,
      );
      if (!free) {
        // Only a down backend cares whether jobs wait (see hurry): a busy pool skips the query.
        const down = [...this.backends.values()].some((b) => b.health !== 'up');
        waiting = down && (await this.deps.store.jobs.queueHeads(Date.now(), 1)).length > 0;
        break;
      }
      if (!(await this.placeNext())) {
        waiting = this.unplaced;
        break;
      }
    }
    this.waiting = waiting;
    if (waiting) for (const b of this.backends.values()) b.hurry();
    await this.armWake();
  }

  /**
   * Places the fairest queued job that can go somewhere now; false if none can. The fairest of all is some
   * client's first in line, so that one row per client is read first. Only when it has to wait are several
   * per client read: one job waiting for a busy or down backend must not block that client's others.
   */
  private async placeNext(): Promise<boolean> {
    const now = Date.now();
    const active = this.activeByClient();
    const fairest = (heads: JobRecord[]) =>
      fairOrder(
        heads,
        (c) => active.get(c) ?? 0,
        (c) => this.served.lastServedAt(c),
      );
    const [first] = fairest(await this.deps.store.jobs.queueHeads(now, 1));
    this.unplaced = first !== undefined;
    if (!first) return false;
    if (await place(this.ctx, first)) return true;
    for (const job of fairest(await this.deps.store.jobs.queueHeads(now, HEADS_PER_CLIENT))) {
      if (job.id !== first.id && (await place(this.ctx, job))) return true;
    }
    return false;
  }

  /** Prompts each client has at a backend: finished ones still downloading no longer count, as for loadOf. */
  private activeByClient(): Map<string, number> {
    const m = new Map<string, number>();
    for (const f of this.inflight.values()) if (!f.harvesting) m.set(f.client, (m.get(f.client) ?? 0) + 1);
    return m;
  }

  /** Wakes the scheduler when the earliest retry delay ends (a retried job is queued with a notBefore). */
  private async armWake(): Promise<void> {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    const at = await this.deps.store.jobs.nextWakeAt(Date.now());
    if (at !== null && !this.closed) this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, at - Date.now()) + 5);
  }

  private settle(jobId: string): void {
    this.progress.clear(jobId);
    this.secrets.delete(jobId);
    this.kick();
  }

  private track<T>(p: Promise<T>): void {
    const wrapped = p
      .catch((err) => this.deps.log.error({ err }, 'engine task failed'))
      .finally(() => this.work.delete(wrapped));
    this.work.add(wrapped);
  }
}
