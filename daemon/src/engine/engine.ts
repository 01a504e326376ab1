import crypto from 'node:crypto';
import type { ComfyGraph, ErrorDetail, GatewayEvent, JobState, ProgressEvent } from '@comfygate/shared';
import type { Logger } from 'pino';
import type { AssetFiles } from '../assets/files.js';
import { type BackendListener, ComfyBackend, type Health } from '../comfy/backend.js';
import type { Capabilities } from '../comfy/capabilities.js';
import { type Failure, classifyExecutionError, classifyThrown, classifyValidation, isMissingCapability } from '../comfy/classify.js';
import { missingFor } from '../comfy/capabilities.js';
import type { ComfyErrorObject, ExecutionErrorData, HistoryEntry, NodeError } from '../comfy/types.js';
import type { BackendConfig, EngineConfig } from '../config/schema.js';
import type { JobRecord, Store } from '../store/types.js';
import { GatewayError } from '../errors.js';
import { harvestOutputs } from './harvest.js';
import { InputStager } from './inputs.js';
import { ProgressBoard } from './progress.js';
import { decideRetry } from './retry.js';
import { neverReached } from '../comfy/classify.js';
import { fairOrder, route } from './routing.js';

/** A prompt we put (or may have put) in a backend's queue. Keyed by prompt_id, which is also the attempt id. */
interface Inflight {
  promptId: string;
  jobId: string;
  client: string;
  backend: ComfyBackend;
  /** POST /prompt is still on the wire: reconciling must not call it lost. */
  posting: boolean;
  finishing: boolean;
  lastSignalAt: number;
  executionError: ExecutionErrorData | null;
}

export type PostprocessHook = (job: JobRecord) => Promise<void>;

export interface EngineDeps {
  store: Store;
  files: AssetFiles;
  config: EngineConfig;
  backends: readonly BackendConfig[];
  log: Logger;
  postprocess?: PostprocessHook;
}

const ACTIVE: readonly JobState[] = ['dispatched', 'running'];
const HEADS_PER_CLIENT = 16;

/**
 * The scheduler: the only writer of job state after `queued`. It claims queued jobs fairly, routes them
 * by capability and load, keeps up to `inflight` prompts in each backend's queue, confirms completion
 * through /history, retries transient failures elsewhere, and re-attaches to its prompts after a restart.
 */
export class Engine implements BackendListener {
  readonly backends = new Map<string, ComfyBackend>();
  readonly progress: ProgressBoard;
  private readonly inflight = new Map<string, Inflight>();
  private readonly progressListeners = new Set<(e: ProgressEvent) => void>();
  private readonly work = new Set<Promise<unknown>>();
  private readonly reconciling = new Set<string>();
  private readonly failoverTimers = new Map<string, NodeJS.Timeout>();
  /** When each client last had a job dispatched (round-robin fairness); bounded by the number of clients. */
  private readonly lastServed = new Map<string, number>();
  private serveCounter = 0;
  private readonly stager: InputStager;
  /** Per-job extra_data for ComfyUI (partner-node API keys): memory only, never written to the store or logs. */
  private readonly secrets = new Map<string, Record<string, unknown>>();
  private scheduling = false;
  private again = false;
  private wakeTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly deps: EngineDeps) {
    this.progress = new ProgressBoard(deps.config.progressThrottleMs, (e) => this.progressListeners.forEach((l) => l(e)));
    this.stager = new InputStager(deps.store.assets, deps.files);
  }

  setExtraData(jobId: string, extra: Record<string, unknown>): void {
    this.secrets.set(jobId, extra);
  }

  forgetExtraData(jobId: string): void {
    this.secrets.delete(jobId);
  }

  async start(): Promise<void> {
    const known = new Map((await this.deps.store.backends.all()).map((r) => [r.name, r.capabilities as Capabilities | null]));
    const runtime = (await this.deps.store.backends.runtime()).filter((r) => !this.deps.backends.some((b) => b.name === r.name));
    for (const cfg of [...this.deps.backends, ...runtime]) this.backends.set(cfg.name, this.makeBackend(cfg, known.get(cfg.name) ?? null));
    await this.recover();
    for (const b of this.backends.values()) b.start();
    this.pollTimer = setInterval(() => this.pollQuiet(), this.deps.config.pollMs);
    this.kick();
  }

  /** Adds a backend at runtime (persisted, so it is back after a restart). */
  async addBackend(cfg: BackendConfig): Promise<ComfyBackend> {
    if (this.backends.has(cfg.name)) throw new GatewayError({ code: 'conflict', message: `backend '${cfg.name}' already exists` });
    await this.deps.store.backends.addRuntime(cfg);
    const b = this.makeBackend(cfg, null);
    this.backends.set(cfg.name, b);
    b.start();
    return b;
  }

  /** Removes an idle backend; one still holding prompts must be drained first. */
  async removeBackend(name: string): Promise<void> {
    const b = this.backend(name);
    const load = this.loadOf(b);
    if (load > 0) throw new GatewayError({ code: 'conflict', message: `backend '${name}' still holds ${load} prompt(s); drain it first`, details: { inflight: load } });
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
    if (!b) throw new GatewayError({ code: 'not_found', message: `no backend '${name}'`, details: { known: [...this.backends.keys()] } });
    return b;
  }

  private makeBackend(cfg: BackendConfig, known: Capabilities | null): ComfyBackend {
    const { breakerThreshold: threshold, probeMs, probeMaxMs } = this.deps.config;
    return new ComfyBackend(cfg, this, { threshold, probeMs, probeMaxMs }, known);
  }

  onProgressEvent(listener: (e: ProgressEvent) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
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
          if (this.again) (this.again = false), this.kick();
        }),
    );
  }

  async cancel(job: JobRecord): Promise<void> {
    const { store } = this.deps;
    if (job.state === 'queued' || job.state === 'postprocessing') {
      const done = await store.jobs.transition({ jobId: job.id, from: [job.state], to: 'canceled', event: { type: 'job:canceled' }, patch: { finishedAt: Date.now(), cancelRequested: true } });
      if (done) return this.settle(job.id);
      const fresh = await store.jobs.get(job.id);
      if (fresh && fresh.state !== job.state) return this.cancel(fresh);
      return;
    }
    if (!ACTIVE.includes(job.state)) return;
    await store.jobs.requestCancel(job.id);
    const f = [...this.inflight.values()].find((x) => x.jobId === job.id);
    if (!f) return;
    if (f.posting) return; // the POST path sees the flag when ComfyUI answers
    await this.withdraw(f);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const t of this.failoverTimers.values()) clearTimeout(t);
    this.progress.close();
    await Promise.allSettled([...this.backends.values()].map((b) => b.close()));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise((r) => (timer = setTimeout(r, 2_000)));
    await Promise.race([Promise.allSettled([...this.work]), bound]);
    clearTimeout(timer);
  }

  loadOf(b: ComfyBackend): number {
    let n = 0;
    for (const f of this.inflight.values()) if (f.backend === b) n++;
    return n;
  }

  // ---- scheduling -------------------------------------------------------------------------------

  private async schedule(): Promise<void> {
    while (!this.closed) {
      const free = [...this.backends.values()].some((b) => b.health === 'up' && !b.draining && this.loadOf(b) < b.config.inflight);
      if (!free) break;
      // Several per client: one job waiting for a busy or down backend must not block that client's others.
      const heads = await this.deps.store.jobs.queueHeads(Date.now(), HEADS_PER_CLIENT);
      if (heads.length === 0) break;
      const active = this.activeByClient();
      let progressed = false;
      for (const job of fairOrder(heads, (c) => active.get(c) ?? 0, (c) => this.lastServed.get(c) ?? 0)) {
        if (await this.place(job)) {
          progressed = true;
          break;
        }
      }
      if (!progressed) break;
    }
    await this.armWake();
  }

  /** Dispatches or fails one queued job; false if it has to wait for a backend. */
  private async place(job: JobRecord): Promise<boolean> {
    const graph = JSON.parse(job.graphJson) as ComfyGraph;
    const candidates = job.backendPin ? [this.backends.get(job.backendPin)].filter((b) => b !== undefined) : [...this.backends.values()];
    const r = route(graph, candidates, (b) => this.loadOf(b), job.avoidBackend);
    if (r.kind === 'wait') return false;
    if (r.kind === 'impossible') {
      const error = { code: 'no_capable_backend' as const, message: `no backend can run this graph; missing: ${r.missing.join('; ')}`, details: { missing: r.missing } };
      await this.deps.store.jobs.transition({ jobId: job.id, from: ['queued'], to: 'failed', event: { type: 'job:failed', data: { error } }, patch: { error, finishedAt: Date.now() } });
      return true;
    }
    await this.dispatch(job, r.backend);
    return true;
  }

  private async dispatch(job: JobRecord, b: ComfyBackend): Promise<void> {
    const promptId = crypto.randomUUID();
    const number = job.attempts + 1;
    // The attempt (and so the prompt_id) is committed before ComfyUI hears of it: after a crash we can ask for it by id.
    const moved = await this.deps.store.jobs.transition({
      jobId: job.id,
      from: ['queued'],
      to: 'dispatched',
      event: { type: 'job:dispatched', data: { backend: b.name, attempt: number, promptId } },
      patch: { attempts: number, lastBackend: b.name, startedAt: job.startedAt ?? Date.now() },
      newAttempt: { id: promptId, jobId: job.id, backend: b.name, number, state: 'posting' },
    });
    if (!moved) return;
    if (this.lastServed.size > 10_000) this.lastServed.clear(); // clients are free-form strings: stay bounded
    this.lastServed.set(job.client, ++this.serveCounter);
    const f: Inflight = { promptId, jobId: job.id, client: job.client, backend: b, posting: true, finishing: false, lastSignalAt: Date.now(), executionError: null };
    this.inflight.set(promptId, f);
    this.track(this.post(f, moved.graphJson));
  }

  private async post(f: Inflight, graphJson: string): Promise<void> {
    try {
      const staged = await this.stager.stage(graphJson, f.backend);
      const res = await f.backend.http.postPrompt({ graphJson: staged, promptId: f.promptId, clientId: f.backend.socket.clientId, extraData: this.secrets.get(f.jobId) });
      f.posting = false;
      f.backend.reportSuccess();
      if (!res.ok) return await this.endAttempt(f, await this.validationFailure(f, graphJson, res.error, res.nodeErrors));
      if (Object.keys(res.nodeErrors).length > 0) {
        await this.deps.store.events.append('job:warning', f.jobId, { message: 'some outputs failed validation and were dropped by ComfyUI', node_errors: res.nodeErrors });
      }
      const attempt = await this.deps.store.attempts.get(f.promptId);
      if (attempt?.state === 'posting') await this.deps.store.attempts.setState(f.promptId, 'accepted');
      const job = await this.deps.store.jobs.get(f.jobId);
      if (job?.cancelRequested && this.inflight.has(f.promptId)) await this.withdraw(f);
    } catch (err) {
      f.posting = false;
      const failure = classifyThrown(err);
      f.backend.reportFailure(failure.message);
      // A timeout or reset after the body was sent may still have queued our prompt: give it up as abandoned,
      // so it is deleted (or interrupted) there, rather than run twice.
      await this.endAttempt(f, failure, neverReached(err) ? 'failed' : 'abandoned');
      if (!neverReached(err)) this.track(this.reconcile(f.backend));
    }
  }

  /**
   * ComfyUI refused the graph. If it names a node class or model this backend lacks, our capabilities were
   * stale: refresh them, and retry elsewhere when another backend can run the graph; else fail with its words.
   */
  private async validationFailure(f: Inflight, graphJson: string, error: ComfyErrorObject, nodeErrors: Record<string, NodeError>): Promise<Failure> {
    const failure = classifyValidation(error, nodeErrors);
    if (!isMissingCapability(error, nodeErrors)) return failure;
    await f.backend.refreshCapabilities().catch(() => {});
    const graph = JSON.parse(graphJson) as ComfyGraph;
    const others = [...this.backends.values()].filter((b) => b !== f.backend && b.capabilities && missingFor(graph, b.capabilities).length === 0);
    return others.length > 0 ? { ...failure, kind: 'transient' } : failure;
  }

  // ---- completion -------------------------------------------------------------------------------

  /** Confirms a finished prompt through /history (the only trustworthy record) and settles its job. */
  private async finish(f: Inflight): Promise<void> {
    if (f.finishing || !this.inflight.has(f.promptId)) return;
    f.finishing = true;
    try {
      const entry = await this.confirmHistory(f);
      if (!entry) return await this.endAttempt(f, { kind: 'transient', code: 'backend_unavailable', message: 'ComfyUI reported the prompt finished but wrote no history entry' });
      if (entry.status && entry.status.status_str !== 'success') return await this.endAttempt(f, await this.failureOf(f, entry));
      await this.succeed(f, entry);
    } catch (err) {
      await this.endAttempt(f, classifyThrown(err));
    }
  }

  private async confirmHistory(f: Inflight): Promise<HistoryEntry | null> {
    const deadline = Date.now() + this.deps.config.historyConfirmMs;
    for (let delay = 10; ; delay = Math.min(500, delay * 2)) {
      const entry = await f.backend.http.history(f.promptId);
      if (entry || Date.now() > deadline || this.closed) return entry;
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private async failureOf(f: Inflight, entry: HistoryEntry): Promise<Failure> {
    const messages = entry.status?.messages ?? [];
    const err = messages.find(([type]) => type === 'execution_error')?.[1] as ExecutionErrorData | undefined;
    if (err ?? f.executionError) return classifyExecutionError((err ?? f.executionError)!);
    const job = await this.deps.store.jobs.get(f.jobId);
    if (job?.cancelRequested) return { kind: 'permanent', code: 'canceled', message: 'canceled' };
    return { kind: 'transient', code: 'backend_unavailable', message: 'prompt was interrupted on the backend by someone else' };
  }

  private async succeed(f: Inflight, entry: HistoryEntry): Promise<void> {
    const { store, files } = this.deps;
    let outputs;
    try {
      outputs = await harvestOutputs(f.backend, entry, { jobId: f.jobId, attemptId: f.promptId }, files, store.assets);
    } catch (err) {
      const failure = classifyThrown(err);
      return this.endAttempt(f, failure.code === 'storage_error' ? failure : { ...failure, kind: 'transient' });
    }
    this.inflight.delete(f.promptId);
    this.kick();
    const job = await store.jobs.transition({
      jobId: f.jobId, from: ACTIVE, to: 'postprocessing',
      event: { type: 'job:postprocessing', data: { outputs: outputs.length } },
      attemptUpdate: { id: f.promptId, state: 'done' },
      outputs,
    });
    if (job) await this.completePostprocess(job);
  }

  private async completePostprocess(job: JobRecord): Promise<void> {
    try {
      await this.deps.postprocess?.(job);
    } catch (err) {
      const e = classifyThrown(err);
      const error: ErrorDetail = { code: e.code, message: `post-processing failed: ${e.message}` };
      await this.deps.store.jobs.transition({ jobId: job.id, from: ['postprocessing'], to: 'failed', event: { type: 'job:failed', data: { error } }, patch: { error, finishedAt: Date.now() } });
      return this.settle(job.id);
    }
    await this.deps.store.jobs.transition({ jobId: job.id, from: ['postprocessing'], to: 'succeeded', event: { type: 'job:succeeded' }, patch: { finishedAt: Date.now() } });
    this.settle(job.id);
  }

  /** Ends an attempt that did not succeed: canceled, retried (preferably elsewhere) or failed. */
  private async endAttempt(f: Inflight, failure: Failure, attemptState: 'failed' | 'abandoned' = 'failed'): Promise<void> {
    // While closing, leave the attempt open: recover() re-attaches it at the next start instead of re-running it.
    if (this.closed || !this.inflight.delete(f.promptId)) return;
    const { store, config } = this.deps;
    const job = await store.jobs.get(f.jobId);
    if (!job || !ACTIVE.includes(job.state)) return;
    const attemptError: ErrorDetail = { code: failure.code, message: failure.message, details: failure.details };
    const attemptUpdate = { id: f.promptId, state: attemptState, error: attemptError };
    if (job.cancelRequested || failure.code === 'canceled') {
      await store.jobs.transition({ jobId: job.id, from: ACTIVE, to: 'canceled', event: { type: 'job:canceled' }, patch: { finishedAt: Date.now() }, attemptUpdate });
    } else {
      const decision = decideRetry(failure, job.attempts, job.maxAttempts, config);
      if (decision.retry) {
        await store.jobs.transition({
          jobId: job.id, from: ACTIVE, to: 'queued',
          event: { type: 'job:retrying', data: { error: attemptError, delayMs: decision.delayMs, backend: f.backend.name } },
          patch: { notBefore: Date.now() + decision.delayMs, avoidBackend: f.backend.name },
          attemptUpdate,
        });
      } else {
        await store.jobs.transition({ jobId: job.id, from: ACTIVE, to: 'failed', event: { type: 'job:failed', data: { error: attemptError } }, patch: { error: attemptError, finishedAt: Date.now() }, attemptUpdate });
        return this.settle(job.id);
      }
      this.progress.clear(job.id);
      return this.kick();
    }
    this.settle(job.id);
  }

  // ---- cancel, reconcile, recovery ---------------------------------------------------------------

  /** Takes a prompt back from ComfyUI: delete it if pending, interrupt it if running (only ours, by id). */
  private async withdraw(f: Inflight): Promise<void> {
    try {
      await f.backend.http.deleteFromQueue([f.promptId]);
      const q = await f.backend.http.queue();
      // Older servers interrupt globally, so interrupt only when our prompt is the one running.
      if (q.running.includes(f.promptId)) return await f.backend.http.interrupt(f.promptId);
      if (!q.pending.includes(f.promptId) && !(await f.backend.http.history(f.promptId))) {
        await this.endAttempt(f, { kind: 'permanent', code: 'canceled', message: 'canceled' });
      }
    } catch {
      // Unreachable backend: give the prompt up now; it is deleted there when the backend returns.
      await this.endAttempt(f, { kind: 'permanent', code: 'canceled', message: 'canceled' }, 'abandoned');
    }
  }

  /**
   * Brings our view of one backend in line with its /queue and /history: finished prompts are harvested,
   * queued or running ones kept, vanished ones (a ComfyUI restart empties its queue) retried, and
   * abandoned ones deleted so nothing we gave up on runs twice.
   */
  private async reconcile(b: ComfyBackend): Promise<void> {
    if (this.reconciling.has(b.name) || this.closed) return;
    this.reconciling.add(b.name);
    try {
      await this.cleanUpAbandoned(b);
      const mine = [...this.inflight.values()].filter((f) => f.backend === b && !f.posting && !f.finishing);
      if (mine.length === 0) return;
      const q = await b.http.queue();
      for (const f of mine) {
        if (await b.http.history(f.promptId)) {
          this.track(this.finish(f));
        } else if (q.running.includes(f.promptId) || q.pending.includes(f.promptId)) {
          f.lastSignalAt = Date.now();
          if (q.running.includes(f.promptId)) this.onStarted(b, f.promptId);
        } else if (!f.finishing && this.inflight.has(f.promptId) && !(await b.http.history(f.promptId))) {
          await this.endAttempt(f, { kind: 'transient', code: 'backend_unavailable', message: `backend ${b.name} no longer has the prompt (restarted?)` });
        }
      }
    } catch (err) {
      b.reportFailure((err as Error).message);
    } finally {
      this.reconciling.delete(b.name);
    }
  }

  private async cleanUpAbandoned(b: ComfyBackend): Promise<void> {
    const abandoned = (await this.deps.store.attempts.open()).filter((a) => a.backend === b.name && a.state === 'abandoned');
    if (abandoned.length === 0) return;
    const ids = abandoned.map((a) => a.id);
    await b.http.deleteFromQueue(ids);
    const q = await b.http.queue();
    for (const id of ids) if (q.running.includes(id)) await b.http.interrupt(id);
    for (const id of ids) await this.deps.store.attempts.markCleanedUp(id);
  }

  /** After a restart: re-attach every attempt a backend may hold, and finish interrupted post-processing. */
  private async recover(): Promise<void> {
    const { store } = this.deps;
    for (const a of await store.attempts.open()) {
      if (a.state === 'abandoned') continue;
      const job = await store.jobs.get(a.jobId);
      const b = this.backends.get(a.backend);
      if (!job || !ACTIVE.includes(job.state)) {
        await store.attempts.setState(a.id, 'abandoned');
        continue;
      }
      if (!b) {
        await store.attempts.setState(a.id, 'failed', { code: 'backend_unavailable', message: `backend ${a.backend} is no longer configured` });
        await store.jobs.transition({ jobId: job.id, from: ACTIVE, to: 'queued', event: { type: 'job:retrying', data: { reason: 'backend removed' } } });
        continue;
      }
      this.inflight.set(a.id, { promptId: a.id, jobId: a.jobId, client: job.client, backend: b, posting: false, finishing: false, lastSignalAt: 0, executionError: null });
    }
    for (const job of await store.jobs.inStates(['postprocessing'])) this.track(this.completePostprocess(job));
  }

  private pollQuiet(): void {
    const quietBefore = Date.now() - this.deps.config.pollMs;
    for (const b of this.backends.values()) {
      if (b.health !== 'up') continue;
      const quiet = [...this.inflight.values()].some((f) => f.backend === b && !f.posting && (!b.socket.connected || f.lastSignalAt < quietBefore));
      if (quiet) this.track(this.reconcile(b));
    }
  }

  // ---- backend events ---------------------------------------------------------------------------

  onHealth(b: ComfyBackend, health: Health, reason: string): void {
    if (this.closed) return;
    this.deps.log.info({ backend: b.name, health, reason }, `backend ${b.name} is ${health}`);
    this.track(this.deps.store.events.append(health === 'up' ? 'backend:up' : 'backend:down', null, { backend: b.name, reason }));
    if (health === 'up') {
      clearTimeout(this.failoverTimers.get(b.name));
      this.stager.forget(b.name); // a restarted ComfyUI may have lost its input/ files
      this.failoverTimers.delete(b.name);
      if (b.capabilities) this.track(this.deps.store.backends.saveCapabilities(b.name, b.config.url, b.capabilities));
      this.track(this.reconcile(b));
      this.kick();
    } else if (!this.failoverTimers.has(b.name)) {
      this.failoverTimers.set(b.name, setTimeout(() => this.failOver(b), this.deps.config.failoverAfterMs));
    }
  }

  /** A backend down for failoverAfterMs: its prompts go elsewhere and are deleted there when it returns. */
  private failOver(b: ComfyBackend): void {
    this.failoverTimers.delete(b.name);
    if (b.health === 'up') return;
    for (const f of [...this.inflight.values()]) {
      if (f.backend === b && !f.posting && !f.finishing) {
        this.track(this.endAttempt(f, { kind: 'transient', code: 'backend_unavailable', message: `backend ${b.name} is down` }, 'abandoned'));
      }
    }
  }

  onSocketOpen(b: ComfyBackend): void {
    this.track(this.reconcile(b));
  }

  onStarted(_b: ComfyBackend, promptId: string): void {
    const f = this.inflight.get(promptId);
    if (!f) return;
    f.lastSignalAt = Date.now();
    this.track(
      this.deps.store.jobs.transition({ jobId: f.jobId, from: ['dispatched'], to: 'running', event: { type: 'job:running', data: { backend: f.backend.name } }, attemptUpdate: { id: promptId, state: 'running' } }),
    );
  }

  onProgress(_b: ComfyBackend, promptId: string, value: number, max: number, node: string | null): void {
    const f = this.inflight.get(promptId);
    if (!f) return;
    f.lastSignalAt = Date.now();
    this.progress.update(f.jobId, { value, max, node });
  }

  onPreview(_b: ComfyBackend, promptId: string, image: Buffer, mime: string): void {
    const f = this.inflight.get(promptId);
    if (f) this.progress.setPreview(f.jobId, image, mime);
  }

  onExecutionError(_b: ComfyBackend, promptId: string, data: ExecutionErrorData): void {
    const f = this.inflight.get(promptId);
    if (f) f.executionError = data;
  }

  onFinished(_b: ComfyBackend, promptId: string): void {
    const f = this.inflight.get(promptId);
    if (f) this.track(this.finish(f));
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /** A job reached a terminal state: drop what was kept in memory for it, and look for more work. */
  private settle(jobId: string): void {
    this.progress.clear(jobId);
    this.secrets.delete(jobId);
    this.kick();
  }

  private activeByClient(): Map<string, number> {
    const m = new Map<string, number>();
    for (const f of this.inflight.values()) m.set(f.client, (m.get(f.client) ?? 0) + 1);
    return m;
  }

  private async armWake(): Promise<void> {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    const at = await this.deps.store.jobs.nextWakeAt(Date.now());
    if (at !== null && !this.closed) this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, at - Date.now()) + 5);
  }

  private track<T>(p: Promise<T>): void {
    const wrapped = p.catch((err) => this.deps.log.error({ err }, 'engine task failed')).finally(() => this.work.delete(wrapped));
    this.work.add(wrapped);
  }
}
