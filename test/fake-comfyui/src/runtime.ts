// Worker plumbing: abortable/pausable sleeps (so down()/crash()/close() take effect at the next step and
// leave no timers behind), a wake-up signal, and the stats the control API reports.
import type { FakeStats } from './types.js';

/** Thrown inside the worker when the prompt it runs no longer exists (crash or close). */
export class Aborted extends Error {
  constructor() {
    super('aborted');
  }
}

export class Gate {
  private generation = 0;
  private paused = false;
  private readonly waiters = new Set<() => void>();
  private readonly timers = new Map<NodeJS.Timeout | NodeJS.Immediate, () => void>();

  get current(): number {
    return this.generation;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Throws Aborted if the run that captured `gen` has been cancelled. */
  check(gen: number): void {
    if (gen !== this.generation) throw new Aborted();
  }

  /** check(), then wait while paused. */
  async checkpoint(gen: number): Promise<void> {
    for (;;) {
      this.check(gen);
      if (!this.paused) return;
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }

  async sleep(ms: number, gen: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.timers.delete(handle);
        resolve();
      };
      // ms 0 still yields, so HTTP handlers run between steps.
      const handle: NodeJS.Timeout | NodeJS.Immediate = ms > 0 ? setTimeout(done, ms) : setImmediate(done);
      this.timers.set(handle, done);
    });
    await this.checkpoint(gen);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wakeWaiters();
  }

  /** Cancel the current run: pending sleeps resolve now and the next check throws. */
  abort(): void {
    this.generation++;
    for (const [handle, done] of [...this.timers]) {
      clearTimeout(handle as NodeJS.Timeout);
      clearImmediate(handle as NodeJS.Immediate);
      done();
    }
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    const list = [...this.waiters];
    this.waiters.clear();
    for (const w of list) w();
  }
}

/** A one-shot-at-a-time wake-up for the idle worker. */
export class Signal {
  private resolve: (() => void) | null = null;
  private promise: Promise<void> | null = null;

  wait(): Promise<void> {
    this.promise ??= new Promise<void>((r) => (this.resolve = r));
    return this.promise;
  }

  notify(): void {
    const r = this.resolve;
    this.resolve = null;
    this.promise = null;
    r?.();
  }
}

function freshStats(): FakeStats {
  return {
    received: [],
    executed: [],
    completed: [],
    maxQueueDepth: 0,
    busyMs: 0,
    firstStartAt: null,
    lastEndAt: null,
  };
}

export class StatsRecorder {
  private s = freshStats();

  snapshot(): FakeStats {
    return {
      ...this.s,
      received: [...this.s.received],
      executed: [...this.s.executed],
      completed: [...this.s.completed],
    };
  }

  reset(): void {
    this.s = freshStats();
  }

  received(promptId: string): void {
    this.s.received.push(promptId);
  }

  depth(n: number): void {
    this.s.maxQueueDepth = Math.max(this.s.maxQueueDepth, n);
  }

  started(promptId: string, at: number): void {
    this.s.executed.push(promptId);
    this.s.firstStartAt ??= at;
  }

  finished(promptId: string, startedAt: number, success: boolean): void {
    const end = Date.now();
    if (success) this.s.completed.push(promptId);
    this.s.busyMs += end - startedAt;
    this.s.lastEndAt = end;
  }
}

/** Tracked timers for request-side delays (slowView, timed down), all cancellable on close(). */
export class TimerSet {
  private readonly timers = new Map<NodeJS.Timeout, () => void>();

  delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, resolve);
    });
  }

  cancelAll(): void {
    for (const [t, resolve] of [...this.timers]) {
      clearTimeout(t);
      this.timers.delete(t);
      resolve();
    }
  }
}
