import type { GatewayEvent } from '@comfygate/shared';
import type { Logger } from '../log.js';
import type { Store, WebhookRecord } from '../store/types.js';
import { backoffDelay } from './backoff.js';
import { WEBHOOK_DEFAULTS, type WebhookConfig } from './config.js';
import { typeMatches } from './payload.js';
import { type RunContext, type RunResult, runSubscription } from './runner.js';

/**
 * Events that can follow the end of a job (a retry's `job:queued`, a chain's stop warning, `job:deleted`): the
 * store revives the job's retired subscriptions in the transaction that appends them, which the in-memory list
 * does not know about.
 */
const mayRevive = (e: GatewayEvent): boolean =>
  e.jobId !== null &&
  (e.type === 'job:deleted' || e.type === 'job:warning' || (e.type === 'job:queued' && e.data.retry === true));

interface HookState {
  /** Scope and types (fixed for a subscription's life); the cursor is always read from the store. */
  hook: WebhookRecord;
  /** Something may be waiting for it. */
  dirty: boolean;
  running: boolean;
  removed: boolean;
  retryAt: number;
  failures: number;
  failingSince: number | null;
}

/**
 * Delivers the durable event log to subscriptions. Wakes on each committed event (store.onEvent) and at
 * start (the backlog after a restart), with a slow sweep as a safety net. At most `concurrency`
 * subscriptions run at once, each strictly in order; a failing one backs off without holding up the others.
 * Nothing here runs inside the engine's path: a listener call only flips flags.
 */
export class WebhookDispatcher {
  private readonly hooks = new Map<string, HookState>();
  private readonly runs = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private running = 0;
  private off: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private pumpSoon: NodeJS.Immediate | null = null;
  /** An event that may have revived retired subscriptions came: re-read the list before the next pump. */
  private rereadSoon = false;
  private started = false;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly deps: { store: Store; log: Logger },
    readonly config: WebhookConfig = WEBHOOK_DEFAULTS,
  ) {}

  async start(): Promise<void> {
    if (this.started || this.closing) return;
    this.started = true;
    this.off = this.deps.store.onEvent((e) => this.onEvent(e));
    this.sweepTimer = setInterval(() => void this.refresh(true), this.config.sweepMs).unref();
    await this.refresh(true);
  }

  /** Re-reads the subscription list (after a register or delete); `all` also rescans every one. */
  async refresh(all = false): Promise<void> {
    if (this.closing) return;
    try {
      const active = await this.deps.store.webhooks.active();
      const ids = new Set(active.map((h) => h.id));
      for (const s of this.hooks.values()) if (!ids.has(s.hook.id)) this.drop(s);
      for (const hook of active) {
        const s = this.hooks.get(hook.id);
        if (!s)
          this.hooks.set(hook.id, {
            hook,
            dirty: true,
            running: false,
            removed: false,
            retryAt: 0,
            failures: 0,
            failingSince: null,
          });
        else if (all) s.dirty = true;
      }
      this.pump();
    } catch (err) {
      this.deps.log.warn({ err }, 'webhooks: could not read the subscriptions');
    }
  }

  /** Waits up to `closeGraceMs` for posts in flight, then aborts them (unacknowledged, so sent again after a restart). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.off?.();
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      if (this.retryTimer) clearTimeout(this.retryTimer);
      if (this.pumpSoon) clearImmediate(this.pumpSoon);
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((r) => (timer = setTimeout(r, this.config.closeGraceMs)));
      await Promise.race([Promise.allSettled([...this.runs]), grace]);
      clearTimeout(timer);
      this.abort.abort();
      await Promise.allSettled([...this.runs]);
    })();
    return this.closing;
  }

  /** Called synchronously by the store after each commit: marks work and defers the rest, so a commit never waits on us. */
  private onEvent(e: GatewayEvent): void {
    const late = mayRevive(e);
    for (const s of this.hooks.values()) {
      if (s.hook.jobId !== null && s.hook.jobId !== e.jobId) continue;
      // A type it does not want changes nothing to send; the cursor passes over it on the next run. A late event
      // of its job marks it anyway, so a run that retires it meanwhile checks whether it was revived (settle).
      if (typeMatches(s.hook, e) || (late && s.hook.jobId !== null)) s.dirty = true;
    }
    if (late) this.rereadSoon = true;
    // One pump per burst of commits (a job transition can append several events at once).
    this.pumpSoon ??= setImmediate(() => {
      this.pumpSoon = null;
      if (!this.rereadSoon) return this.pump();
      this.rereadSoon = false;
      void this.refresh(); // pumps
    });
  }

  private drop(s: HookState): void {
    s.removed = true;
    if (!s.running) this.hooks.delete(s.hook.id);
  }

  private pump(): void {
    if (this.closing) return;
    const now = Date.now();
    for (const s of this.hooks.values()) {
      if (this.running >= this.config.concurrency) break;
      if (s.dirty && !s.running && s.retryAt <= now) this.launch(s);
    }
    this.armRetry(now);
  }

  private launch(s: HookState): void {
    s.running = true;
    s.dirty = false; // events committed while it runs set it again
    this.running++;
    const run = this.runOne(s).finally(() => {
      s.running = false;
      this.running--;
      this.runs.delete(run);
      if (s.removed) this.hooks.delete(s.hook.id);
      this.pump();
    });
    this.runs.add(run);
  }

  private async runOne(s: HookState): Promise<void> {
    const ctx: RunContext = {
      store: this.deps.store,
      config: this.config,
      abort: this.abort.signal,
      stopping: () => this.closing !== null || s.removed,
    };
    let result: RunResult;
    try {
      result = await runSubscription(ctx, s.hook.id);
    } catch (err) {
      this.deps.log.warn({ err, webhook: s.hook.id }, 'webhooks: delivery run failed');
      result = { outcome: 'failed', delivered: 0 };
    }
    await this.settle(s, result);
  }

  private async settle(s: HookState, { outcome, delivered }: RunResult): Promise<void> {
    if (delivered > 0) ((s.failures = 0), (s.failingSince = null), (s.retryAt = 0));
    if (outcome === 'gone') {
      // Retired as it caught up, but an event came meanwhile whose transaction may have revived it: keep it then.
      const h = s.dirty && !s.removed ? await this.deps.store.webhooks.get(s.hook.id).catch(() => null) : null;
      if (!h || h.retiredAt !== null || h.disabledAt !== null) this.drop(s);
      return;
    }
    if (outcome !== 'failed' || this.closing) return;
    const now = Date.now();
    s.failures++;
    s.failingSince ??= now;
    s.dirty = true;
    s.retryAt = now + backoffDelay(s.failures, this.config.backoff);
    if (this.config.disableAfterMs > 0 && now - s.failingSince >= this.config.disableAfterMs) {
      this.deps.log.warn(
        { webhook: s.hook.id, url: s.hook.url, failures: s.failures },
        'webhooks: disabled after failing too long',
      );
      await this.deps.store.webhooks.disable(s.hook.id);
      this.drop(s);
    }
  }

  /** One timer for the earliest subscription coming out of backoff. */
  private armRetry(now: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    let next = Infinity;
    for (const s of this.hooks.values()) if (s.dirty && !s.running && s.retryAt > now) next = Math.min(next, s.retryAt);
    if (next !== Infinity) this.retryTimer = setTimeout(() => this.pump(), next - now + 1).unref();
  }
}
