// Benchmark 2: dispatch overhead. A zero-time fake, so all that is measured is protocol and bookkeeping:
// N jobs through the engine against the same N prompts sent straight to a fresh fake by a pipelined client
// that does the same work (POST, finish signal, /history, /view download) with the same HTTP stack.
import { backendsFor, bounded, graphFor, submitRange, trackSucceeded, withDaemon } from './common.js';
import { type FakePool, withFakes } from './fakes.js';
import { runDirectPipelined } from './naive-client.js';

export interface OverheadRow {
  path: string;
  N: number;
  /** Prompts kept in the fake at once (Infinity: all posted up front). */
  window: number | null;
  /** Median over the repetitions. */
  ms: number;
  samples: Sample[];
  jobsPerSec: number;
  /** (engine ms − direct ms at the same window) / N; null for direct rows. */
  addedMsPerJob: number | null;
  /** (engine ms − POST-all direct ms) / N: against the fastest-to-write client; null for direct rows. */
  addedVsPostAllMsPerJob: number | null;
  /** Wall time the fake spent not executing, per job: how long it waited for the next prompt. */
  fakeIdleMsPerJob: number;
  /** CPU of this process per job: the direct client's, or the daemon's (engine, store, HTTP, WS). */
  cpuMsPerJob: number;
}

// stepMs 0 still yields between steps (setImmediate), so HTTP is served; one step, the smallest latent.
const ZERO = { stepMs: 0, nodeMs: 0 };
const zeroGraph = (i: number) => graphFor(i, 1, 16);
const BOUND_MS = 120_000;

/** One timed run: wall ms, the fake's busy ms, and this process's CPU ms (the client or the daemon). */
interface Sample {
  ms: number;
  fakeBusyMs: number;
  cpuMs: number;
}

async function timed(pool: FakePool, run: () => Promise<number>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const ms = await run();
  const cpu = process.cpuUsage(cpu0);
  const [stats] = await pool.stats();
  return { ms, fakeBusyMs: stats!.busyMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function direct(N: number, offset: number, window: number): Promise<Sample> {
  return withFakes(1, ZERO, (pool) =>
    timed(pool, async () => {
      const graphs = Array.from({ length: N }, (_, i) => zeroGraph(offset + i));
      const r = await bounded(runDirectPipelined(pool.urls[0]!, graphs, window), BOUND_MS, 'direct pipelined client');
      return r.tEnd - r.t0;
    }),
  );
}

/**
 * Dispatch overhead is scheduling, the SQLite transitions, completion and the output download; the always-on
 * thumbnail (sharp work the direct client does not do) is switched off here and measured by the utilisation runs.
 */
async function viaEngine(N: number, offset: number, inflight: number): Promise<Sample> {
  return withFakes(1, ZERO, (pool) =>
    withDaemon(
      backendsFor(pool.urls, inflight),
      (daemon) =>
        timed(pool, async () => {
          const all = trackSucceeded(daemon, N, BOUND_MS);
          const t0 = Date.now();
          await submitRange(daemon, offset, offset + N, zeroGraph);
          return (await all) - t0;
        }),
      { postprocess: async () => {} },
    ),
  );
}

interface Variant {
  path: string;
  window: number;
  run: (N: number) => Promise<Sample>;
}

// Every variant runs on its own fresh fake; seeds continue from the warm-up so no prompt repeats.
const VARIANTS: Variant[] = [
  { path: 'direct, POST all', window: Infinity, run: (N) => direct(N, 100, Infinity) },
  { path: 'direct, window 2', window: 2, run: (N) => direct(N, 100, 2) },
  { path: 'comfygate engine, inflight 2', window: 2, run: (N) => viaEngine(N, 100, 2) },
  { path: 'direct, window 16', window: 16, run: (N) => direct(N, 100, 16) },
  { path: 'comfygate engine, inflight 16', window: 16, run: (N) => viaEngine(N, 100, 16) },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Direct with everything posted up front; then, for the engine's default inflight 2 and the schema's maximum
 * 16, a direct client keeping the same number of prompts in the fake, then the engine. Repetitions are
 * interleaved and the median kept, so drift on a shared machine hits every variant alike; a short warm-up
 * of each path runs first so JIT compilation is not billed to whichever path goes first.
 */
export async function overhead(N: number, reps: number, log: (line: string) => void): Promise<OverheadRow[]> {
  log('  overhead: warm-up …');
  await direct(20, 0, Infinity);
  await viaEngine(20, 0, 2);
  const samples = VARIANTS.map(() => [] as Sample[]);
  for (let rep = 0; rep < reps; rep++) {
    log(`  overhead: repetition ${rep + 1}/${reps}, N=${N} per variant …`);
    for (const [i, v] of VARIANTS.entries()) samples[i]!.push(await v.run(N));
  }
  const ms = samples.map((xs) => median(xs.map((x) => x.ms)));
  const postAll = ms[0]!;
  return VARIANTS.map((v, i) => {
    const directMs = ms[VARIANTS.findIndex((d) => d.path.startsWith('direct') && d.window === v.window)]!;
    const isEngine = !v.path.startsWith('direct');
    const per = (f: (x: Sample) => number) => median(samples[i]!.map(f)) / N;
    return {
      path: v.path,
      N,
      window: v.window === Infinity ? null : v.window,
      ms: ms[i]!,
      samples: samples[i]!,
      jobsPerSec: (N * 1000) / ms[i]!,
      addedMsPerJob: isEngine ? (ms[i]! - directMs) / N : null,
      addedVsPostAllMsPerJob: isEngine ? (ms[i]! - postAll) / N : null,
      fakeIdleMsPerJob: per((x) => x.ms - x.fakeBusyMs),
      cpuMsPerJob: per((x) => x.cpuMs),
    };
  });
}
