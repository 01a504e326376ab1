// Shared plumbing for the benchmarks: engine defaults, a bench daemon, submission, completion tracking, fake stats.
import net from 'node:net';
import os from 'node:os';
import { type ConfigInput, type Daemon, INTERNAL } from '@comfygate/daemon';
import type { FakeStats } from '../fake-comfyui/src/types.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import type { DaemonOptions } from '@comfygate/daemon';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The engine's production defaults, spelled out: startTestDaemon merges FAST_ENGINE (breakerThreshold 1,
 * pollMs 100, …) under whatever we pass, and the benchmarks must measure what users run.
 */
export const BENCH_ENGINE = {
  maxAttempts: 3,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  failoverAfterMs: 5_000,
  pollMs: 1_000,
  breakerThreshold: 3,
  probeMs: 1_000,
  probeMaxMs: 15_000,
  progressThrottleMs: 200,
  historyConfirmMs: 10_000,
} satisfies ConfigInput['engine'];

/** KSampler steps per job: job time T is set through stepMs = T / STEPS. */
export const STEPS = 10;

/** A 64x64 txt2img whose seed differs per job, so the fake's output cache never short-cuts a run. */
export function graphFor(i: number, steps = STEPS, size = 64) {
  return txt2img({ seed: 1_000_000 + i, steps, width: size, height: size });
}

/**
 * A real in-process daemon on a temp home with the default engine. Unless `waitUp` is false it waits until
 * every backend is up, so a run measures scheduling rather than the first probe.
 */
export async function withDaemon<T>(
  backends: ConfigInput['backends'],
  fn: (d: Daemon) => Promise<T>,
  opts: { engine?: ConfigInput['engine']; waitUp?: boolean; postprocess?: DaemonOptions['postprocess'] } = {},
): Promise<T> {
  const td: TestDaemon = await startTestDaemon({
    backends,
    engine: { ...BENCH_ENGINE, ...opts.engine },
    postprocess: opts.postprocess,
  });
  try {
    if (opts.waitUp !== false) {
      await waitFor(() => td.daemon.backends().every((b) => b.health === 'up'), {
        timeoutMs: 10_000,
        what: 'backends up',
      });
      // health is set by the /object_info probe; the WebSocket opens alongside it: give it a moment.
      await sleep(100);
    }
    return await fn(td.daemon);
  } finally {
    await td.close();
  }
}

/**
 * Submits jobs from..to-1 one by one, yielding to the event loop between them as separate HTTP requests
 * would: the store is synchronous, so without the yield the engine could not POST or probe until the loop ended.
 */
export async function submitRange(
  daemon: Daemon,
  from: number,
  to: number,
  graph: (i: number) => object,
): Promise<void> {
  for (let i = from; i < to; i++) {
    await daemon.submit({ graph: graph(i) }, { viewer: INTERNAL });
    await new Promise((r) => setImmediate(r));
  }
}

export function backendsFor(urls: string[], inflight = 2): NonNullable<ConfigInput['backends']> {
  return urls.map((url, i) => ({ name: `b${i}`, url, inflight }));
}

/**
 * Resolves with Date.now() when `n` jobs have succeeded, counted from the durable event feed (no polling,
 * which would itself load the daemon). Subscribe before submitting: fast jobs finish during the submit loop.
 */
export function trackSucceeded(daemon: Daemon, n: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      off();
      if (err) reject(err);
      else resolve(Date.now());
    };
    const timer = setTimeout(
      () => finish(new Error(`only ${done}/${n} jobs succeeded within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const off = daemon.subscribe((e) => {
      if (e.type === 'job:failed')
        finish(new Error(`job ${e.jobId} failed: ${JSON.stringify('data' in e ? e.data : e)}`));
      else if (e.type === 'job:succeeded' && ++done === n) finish(null);
    }, INTERNAL);
  });
}

/** Rejects after ms so a stuck benchmark ends (and is reported) instead of hanging the run. */
export async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A loopback URL with nothing listening: bind port 0, note it, release it. */
export async function deadUrl(): Promise<string> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

/** What the fakes saw, summed: the evidence for where time went besides executing prompts. */
export interface FakeSummary {
  executed: number;
  busyMs: number;
  meanJobMs: number;
  /** Mean idle time between the end of one prompt and the start of the next, per backend. */
  meanGapMs: number;
  /** From the first submit to the first prompt starting (earliest backend). */
  startLagMs: number;
  /** From the last prompt ending (any backend) to the client seeing the last result. */
  tailMs: number;
  maxQueueDepth: number;
}

export function summarizeFakes(stats: FakeStats[], t0: number, tEnd: number): FakeSummary {
  const executed = stats.reduce((n, s) => n + s.executed.length, 0);
  const busyMs = stats.reduce((n, s) => n + s.busyMs, 0);
  let gapMs = 0;
  let gaps = 0;
  for (const s of stats) {
    if (s.firstStartAt === null || s.lastEndAt === null || s.executed.length < 2) continue;
    gapMs += s.lastEndAt - s.firstStartAt - s.busyMs;
    gaps += s.executed.length - 1;
  }
  const starts = stats.map((s) => s.firstStartAt).filter((x): x is number => x !== null);
  const ends = stats.map((s) => s.lastEndAt).filter((x): x is number => x !== null);
  return {
    executed,
    busyMs,
    meanJobMs: executed ? busyMs / executed : 0,
    meanGapMs: gaps ? gapMs / gaps : 0,
    startLagMs: starts.length ? Math.min(...starts) - t0 : 0,
    tailMs: ends.length ? tEnd - Math.max(...ends) : 0,
    maxQueueDepth: Math.max(0, ...stats.map((s) => s.maxQueueDepth)),
  };
}

export function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
  };
}
