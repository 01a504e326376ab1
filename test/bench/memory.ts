// Benchmark 3: memory per queued job. The only backend is down, so every submitted job stays queued in
// SQLite; the daemon's RSS should not grow with the queue beyond SQLite's bounded page cache.
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { deadUrl, graphFor, submitRange, withDaemon } from './common.js';

export interface MemorySample {
  queued: number;
  rssMB: number;
  heapUsedMB: number;
  /** comfygate.db + its WAL on disk: what SQLite's page cache (16 MB cap in better-sqlite3's build) can hold. */
  dbMB: number;
  /** RSS growth per 1,000 jobs since the previous sample (null for the first). */
  rssMBPer1k: number | null;
  heapMBPer1k: number | null;
  /** Submit rate over the segment ending at this sample: falls if a submit's cost grows with the queue. */
  submitPerSec: number | null;
}

export interface MemoryResult {
  jobs: number;
  gc: boolean;
  submitMs: number;
  submitPerSec: number;
  samples: MemorySample[];
}

/** A full GC before each sample, so garbage waiting for collection is not read as growth. */
function findGc(): (() => void) | null {
  if (typeof globalThis.gc === 'function') return globalThis.gc as () => void;
  try {
    // Turning the flag on at runtime and fetching gc from a fresh context avoids re-spawning under --expose-gc.
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

const MB = 2 ** 20;

function dbMB(home: string): number {
  const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
  const db = path.join(home, 'comfygate.db');
  return (size(db) + size(`${db}-wal`)) / MB;
}

export async function memory(jobs: number, log: (line: string) => void): Promise<MemoryResult> {
  const gc = findGc();
  const url = await deadUrl();
  return withDaemon(
    [{ name: 'down', url, inflight: 2 }],
    async (daemon) => {
      const samples: MemorySample[] = [];
      const sample = (queued: number, segmentMs: number | null) => {
        gc?.();
        const m = process.memoryUsage();
        const prev = samples.at(-1);
        const per1k = (now: number, before: number | undefined) =>
          prev && before !== undefined ? ((now - before) / (queued - prev.queued)) * 1000 : null;
        const rssMB = m.rss / MB;
        const heapUsedMB = m.heapUsed / MB;
        samples.push({
          queued,
          rssMB,
          heapUsedMB,
          dbMB: dbMB(daemon.config.home),
          rssMBPer1k: per1k(rssMB, prev?.rssMB),
          heapMBPer1k: per1k(heapUsedMB, prev?.heapUsedMB),
          submitPerSec: prev && segmentMs ? ((queued - prev.queued) * 1000) / segmentMs : null,
        });
      };
      const step = jobs / 4;
      let submitMs = 0;
      sample(0, null);
      for (let done = 0; done < jobs;) {
        log(`  memory: ${done}/${jobs} queued …`);
        // Only the submit loop is timed: sampling (a full GC) is not part of submit throughput.
        const t0 = performance.now();
        await submitRange(daemon, done, done + step, graphFor);
        done += step;
        const segmentMs = performance.now() - t0;
        submitMs += segmentMs;
        sample(done, segmentMs);
      }
      const stats = await daemon.stats();
      if (stats.jobs.queued !== jobs) throw new Error(`expected ${jobs} queued jobs, found ${stats.jobs.queued}`);
      return { jobs, gc: gc !== null, submitMs, submitPerSec: (jobs * 1000) / submitMs, samples };
    },
    { waitUp: false },
  );
}
