import type { BackendListener, ComfyBackend, Health } from '../comfy/backend.js';
import type { ExecutionErrorData } from '../comfy/types.js';
import { finish, markRunning } from './completion.js';
import { type EngineContext, type Inflight, heldBy } from './context.js';
import { failOver, reconcile } from './recovery.js';

/**
 * What the backends report (health, and their WebSocket messages about our prompts), turned into engine
 * actions. Prompt ids are ours, so a message about a prompt not in flight here is someone else's: ignored.
 */
export class BackendSignals implements BackendListener {
  private readonly failoverTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly ctx: EngineContext) {}

  onHealth(b: ComfyBackend, health: Health, reason: string): void {
    const { ctx } = this;
    if (ctx.closed()) return;
    ctx.deps.log.info({ backend: b.name, health, reason }, `backend ${b.name} is ${health}`);
    ctx.track(
      ctx.deps.store.events.append(health === 'up' ? 'backend:up' : 'backend:down', null, { backend: b.name, reason }),
    );
    if (health === 'up') {
      clearTimeout(this.failoverTimers.get(b.name));
      ctx.stager.forget(b.name); // a restarted ComfyUI may have lost its input/ files
      this.failoverTimers.delete(b.name);
      if (b.capabilities) ctx.track(ctx.deps.store.backends.saveCapabilities(b.name, b.config.url, b.capabilities));
      ctx.track(reconcile(ctx, b));
      ctx.kick();
    } else if (!this.failoverTimers.has(b.name)) {
      this.failoverTimers.set(
        b.name,
        setTimeout(() => {
          this.failoverTimers.delete(b.name);
          failOver(ctx, b);
        }, ctx.deps.config.failoverAfterMs),
      );
    }
  }

  onSocketOpen(b: ComfyBackend): void {
    this.ctx.track(reconcile(this.ctx, b));
  }

  onStarted(_b: ComfyBackend, promptId: string): void {
    markRunning(this.ctx, promptId);
  }

  onProgress(_b: ComfyBackend, promptId: string, value: number, max: number, node: string | null): void {
    const f = this.ctx.inflight.get(promptId);
    if (!f) return;
    f.lastSignalAt = Date.now();
    f.progress.step(node, value, max);
    this.publish(f);
  }

  onCached(_b: ComfyBackend, promptId: string, nodes: unknown[]): void {
    const f = this.ctx.inflight.get(promptId);
    if (!f || nodes.length === 0) return;
    f.progress.cached(nodes);
    this.publish(f);
  }

  onExecuting(_b: ComfyBackend, promptId: string, node: string): void {
    const f = this.ctx.inflight.get(promptId);
    if (!f) return;
    f.lastSignalAt = Date.now();
    f.progress.executing(node);
    this.publish(f);
  }

  /** Throttled by the board; the snapshot is taken when it is sent. */
  private publish(f: Inflight): void {
    this.ctx.progress.update(f.jobId, f.progress.read);
  }

  onPreview(_b: ComfyBackend, promptId: string, image: Buffer, mime: string): void {
    const f = this.ctx.inflight.get(promptId);
    if (f) this.ctx.progress.setPreview(f.jobId, image, mime);
  }

  onExecutionError(_b: ComfyBackend, promptId: string, data: ExecutionErrorData): void {
    const f = this.ctx.inflight.get(promptId);
    if (f) f.executionError = data;
  }

  onFinished(_b: ComfyBackend, promptId: string): void {
    const f = this.ctx.inflight.get(promptId);
    if (f) this.ctx.track(finish(this.ctx, f));
  }

  waitedFor(b: ComfyBackend): boolean {
    return this.ctx.jobsWaiting() || heldBy(this.ctx, b) > 0;
  }

  close(): void {
    for (const t of this.failoverTimers.values()) clearTimeout(t);
  }
}
