// `pnpm bench`: every comfygate benchmark in one run, figures and ratios printed side by side and written
// to bench/results/latest.json. Flags: --full (T = 1 s with N = 200), --quick (small N, a smoke run),
// --only=utilisation,overhead,memory,api,postprocess,startup (a subset), --in-process (fakes in this process, not a child).
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './common.js';
import { setFakeMode } from './fakes.js';
import { memory, type MemoryResult } from './memory.js';
import { overhead, type OverheadRow } from './overhead.js';
import { comparisonTable, memoryTable, overheadTable, utilisationTable, writeJson } from './report.js';
import { utilisation, utilPlans, type UtilPlan } from './utilisation.js';
import { apiLatencyLines, runApiLatency } from './api-latency.js';
import { postprocessLines, postprocessThroughput, zipStreaming } from './postprocess.js';
import { startup, startupLines } from './startup.js';

const argv = process.argv.slice(2);
const full = argv.includes('--full');
const quick = argv.includes('--quick');
const inProcess = argv.includes('--in-process');
const only = argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const wants = (name: string) => !only || only.includes(name);

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json');
const log = (line: string) => console.error(line);

interface Results {
  startedAt: string;
  flags: { full: boolean; quick: boolean; fakes: 'child' | 'in-process' };
  machine: ReturnType<typeof machine> & { loadavg: number[] };
  utilisation?: Awaited<ReturnType<typeof utilisation>> | { error: string };
  overhead?: OverheadRow[] | { error: string };
  memory?: MemoryResult | { error: string };
  api?: Awaited<ReturnType<typeof runApiLatency>> | { error: string };
  postprocess?:
    | { throughput: Awaited<ReturnType<typeof postprocessThroughput>>; zip: Awaited<ReturnType<typeof zipStreaming>> }
    | { error: string };
  startup?: Awaited<ReturnType<typeof startup>> | { error: string };
  durationMs?: number;
  /** The machine is shared: load at the end tells whether other work ran alongside. */
  loadavgEnd?: number[];
}

/** A failing benchmark is reported in place of its figures; the others still run. */
async function attempt<T>(name: string, fn: () => Promise<T>): Promise<T | { error: string }> {
  const t0 = Date.now();
  log(`▶ ${name}`);
  try {
    const r = await fn();
    log(`  ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return r;
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`  ${name} FAILED: ${message}`);
    process.exitCode = 1;
    return { error: message };
  }
}

const isError = (r: unknown): r is { error: string } => typeof r === 'object' && r !== null && 'error' in r;

function plans(): UtilPlan[] {
  return quick
    ? [
        { T: 100, N: 20 },
        { T: 1000, N: 4 },
      ]
    : utilPlans(full);
}

function print(r: Results): void {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `comfygate benchmarks — ${m.cores} cores (${m.cpu}), node ${m.node}, ${m.platform}, ${m.totalMemMB} MB RAM, load ${m.loadavg.map((x) => x.toFixed(2)).join(' ')}`,
  );
  out.push(
    `fakes: ${r.flags.fakes === 'child' ? 'in a child process (one per run)' : 'in this process'}; flags: ${argv.join(' ') || 'none'}`,
  );
  if (r.utilisation) {
    out.push(
      '',
      '1. GPU utilisation (efficiency = ideal N·T/backends ÷ makespan; busy frac = Σ fake busy ÷ (backends × makespan))',
    );
    if (isError(r.utilisation)) out.push(`   FAILED: ${r.utilisation.error.split('\n')[0]}`);
    else out.push(utilisationTable(r.utilisation.rows), '', comparisonTable(r.utilisation.comparisons));
  }
  if (r.overhead) {
    out.push(
      '',
      '2. Dispatch overhead (zero-time fake; median of the repetitions; added ms/job = (engine − direct) / N)',
    );
    out.push(isError(r.overhead) ? `   FAILED: ${r.overhead.error.split('\n')[0]}` : overheadTable(r.overhead));
  }
  if (r.memory) {
    out.push('', '3. Memory with the only backend down (RSS and heap after GC at each queue size)');
    if (isError(r.memory)) out.push(`   FAILED: ${r.memory.error.split('\n')[0]}`);
    else
      out.push(
        memoryTable(r.memory),
        `submit: ${r.memory.jobs} jobs in ${Math.round(r.memory.submitMs)} ms = ${r.memory.submitPerSec.toFixed(0)} jobs/s; gc ${r.memory.gc ? 'forced before each sample' : 'unavailable'}`,
      );
  }
  if (r.api) {
    out.push('', '4. API latency under load, against a bare express route (the floor), and SSE fan-out');
    out.push(
      isError(r.api)
        ? `   FAILED: ${r.api.error.split('\n')[0]}`
        : apiLatencyLines(r.api)
            .map((l) => `   ${l}`)
            .join('\n'),
    );
  }
  if (r.postprocess) {
    out.push('', '5. Post-processing through comfygate against the same sharp work by hand; batch zip streaming');
    out.push(
      isError(r.postprocess)
        ? `   FAILED: ${r.postprocess.error.split('\n')[0]}`
        : postprocessLines(r.postprocess.throughput, r.postprocess.zip)
            .map((l) => `   ${l}`)
            .join('\n'),
    );
  }
  if (r.startup) {
    out.push(
      '',
      '6. Start-up of the built CLI and daemon (median; added = comfygate − node -e 0, measured alternately)',
    );
    out.push(
      isError(r.startup)
        ? `   FAILED: ${r.startup.error.split('\n')[0]}`
        : startupLines(r.startup)
            .map((l) => `   ${l}`)
            .join('\n'),
    );
  }
  const load = (r.loadavgEnd ?? []).map((x) => x.toFixed(2)).join(' ');
  out.push(
    '',
    `total ${((r.durationMs ?? 0) / 1000).toFixed(1)} s; load at end ${load}; figures in ${path.relative(process.cwd(), OUT)}`,
  );
  console.log(out.join('\n'));
}

async function main(): Promise<void> {
  const t0 = Date.now();
  setFakeMode(inProcess ? 'in-process' : 'child');
  const results: Results = {
    startedAt: new Date(t0).toISOString(),
    flags: { full, quick, fakes: inProcess ? 'in-process' : 'child' },
    machine: { ...machine(), loadavg: os.loadavg() },
  };
  log(`comfygate benchmarks on ${results.machine.cores} cores, node ${results.machine.node}`);
  // Memory first: its absolute RSS figures are cleanest before the other runs have grown the heap.
  if (wants('memory')) results.memory = await attempt('memory', () => memory(quick ? 2_000 : 10_000, log));
  if (wants('overhead'))
    results.overhead = await attempt('overhead', () => overhead(quick ? 100 : 500, quick ? 1 : 3, log));
  if (wants('utilisation')) results.utilisation = await attempt('utilisation', () => utilisation(plans(), log));
  if (wants('api')) results.api = await attempt('api', () => runApiLatency());
  if (wants('postprocess')) {
    results.postprocess = await attempt('postprocess', async () => ({
      throughput: await postprocessThroughput(quick ? 10 : 60),
      zip: await zipStreaming(quick ? 100 : 1000),
    }));
  }
  if (wants('startup')) results.startup = await attempt('startup', () => startup(quick ? 3 : 7, log));
  results.durationMs = Date.now() - t0;
  results.loadavgEnd = os.loadavg();
  writeJson(OUT, results);
  print(results);
  // Everything is closed by now; if some handle still holds the loop, name it and leave anyway.
  setTimeout(() => {
    log(`warning: handles still open after the run: ${process.getActiveResourcesInfo().join(', ')}`);
    process.exit(process.exitCode ?? 0);
  }, 5_000).unref();
}

await main();
