// Benchmark 1: GPU utilisation. Fakes with a fixed job time T; makespan against the ideal N·T/backends,
// and the naive one-at-a-time client on the same T and N for comparison.
import {
  STEPS,
  backendsFor,
  bounded,
  graphFor,
  submitRange,
  summarizeFakes,
  trackSucceeded,
  withDaemon,
  type FakeSummary,
} from './common.js';
import { type FakePool, withFakes } from './fakes.js';
import { runNaive } from './naive-client.js';

export interface UtilRow extends FakeSummary {
  client: 'comfygate' | 'naive';
  T: number;
  N: number;
  backends: number;
  makespanMs: number;
  idealMs: number;
  /** ideal / makespan */
  efficiency: number;
  /** Σ busyMs / (backends × makespan): the share of wall time the fake GPUs were executing. */
  busyFraction: number;
}

export interface UtilComparison {
  T: number;
  N: number;
  comfygate: number;
  naive: number;
  /** comfygate efficiency / naive efficiency, both on one backend. */
  ratio: number;
}

// Job time = STEPS × stepMs; nodeMs 0 so only the sampler takes time; 64x64 keeps PNG encoding negligible.
const fakeOpts = (T: number) => ({ stepMs: T / STEPS, nodeMs: 0 });
// Generous bound: the ideal plus slack for a loaded shared machine; a miss is reported, not hung on.
const boundFor = (T: number, N: number) => 3 * N * T + 60_000;

async function row(
  client: UtilRow['client'],
  T: number,
  N: number,
  pool: FakePool,
  t0: number,
  tEnd: number,
): Promise<UtilRow> {
  const fake = summarizeFakes(await pool.stats(), t0, tEnd);
  const backends = pool.urls.length;
  const makespanMs = tEnd - t0;
  const idealMs = (N * T) / backends;
  return {
    client,
    T,
    N,
    backends,
    makespanMs,
    idealMs,
    efficiency: idealMs / makespanMs,
    busyFraction: fake.busyMs / (backends * makespanMs),
    ...fake,
  };
}

export async function gatewayRun(T: number, N: number, backends: number): Promise<UtilRow> {
  return withFakes(backends, fakeOpts(T), (pool) =>
    withDaemon(backendsFor(pool.urls, 2), async (daemon) => {
      const all = trackSucceeded(daemon, N, boundFor(T, N));
      const t0 = Date.now();
      await submitRange(daemon, 0, N, graphFor);
      const tEnd = await all;
      return row('comfygate', T, N, pool, t0, tEnd);
    }),
  );
}

export async function naiveRun(T: number, N: number): Promise<UtilRow> {
  return withFakes(1, fakeOpts(T), async (pool) => {
    const graphs = Array.from({ length: N }, (_, i) => graphFor(i));
    const r = await bounded(runNaive(pool.urls[0]!, graphs), boundFor(T, N), `naive client T=${T}`);
    return row('naive', T, N, pool, r.t0, r.tEnd);
  });
}

export interface UtilPlan {
  T: number;
  N: number;
}

/** T = 100 ms with N = 200; T = 1 s with N = 20 (200 with --full), each over 1, 2 and 4 backends plus naive. */
export function utilPlans(full: boolean): UtilPlan[] {
  return [
    { T: 100, N: 200 },
    { T: 1000, N: full ? 200 : 20 },
  ];
}

export async function utilisation(
  plans: UtilPlan[],
  log: (line: string) => void,
): Promise<{ rows: UtilRow[]; comparisons: UtilComparison[] }> {
  const rows: UtilRow[] = [];
  const comparisons: UtilComparison[] = [];
  for (const { T, N } of plans) {
    for (const backends of [1, 2, 4]) {
      log(`  utilisation: comfygate T=${T} ms N=${N} backends=${backends} …`);
      rows.push(await gatewayRun(T, N, backends));
    }
    log(`  utilisation: naive client T=${T} ms N=${N} …`);
    const naive = await naiveRun(T, N);
    rows.push(naive);
    const one = rows.find((r) => r.client === 'comfygate' && r.T === T && r.backends === 1)!;
    comparisons.push({
      T,
      N,
      comfygate: one.efficiency,
      naive: naive.efficiency,
      ratio: one.efficiency / naive.efficiency,
    });
  }
  return { rows, comparisons };
}
