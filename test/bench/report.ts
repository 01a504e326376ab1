// Plain-text tables for the terminal and the JSON file the figures are kept in.
import fs from 'node:fs';
import path from 'node:path';
import type { MemoryResult } from './memory.js';
import type { OverheadRow } from './overhead.js';
import type { UtilComparison, UtilRow } from './utilisation.js';

type Cell = string | number | null;

const fmt = (v: Cell, digits = 1): string =>
  v === null ? '—' : typeof v === 'number' ? v.toFixed(Number.isInteger(v) ? 0 : digits) : v;

/** Numbers right-aligned (3 decimals below 10, 1 above), text left-aligned. */
export function table(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) =>
    r.map((c) => (typeof c === 'number' && !Number.isInteger(c) && Math.abs(c) < 10 ? c.toFixed(3) : fmt(c))),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[], raw: Cell[] | null) =>
    cells.map((c, i) => (raw && typeof raw[i] === 'number' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [
    line(headers, null),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...text.map((r, i) => line(r, rows[i]!)),
  ].join('\n');
}

export function utilisationTable(rows: UtilRow[]): string {
  return table(
    [
      'client',
      'T ms',
      'N',
      'backends',
      'ideal ms',
      'makespan ms',
      'efficiency',
      'busy frac',
      'job ms (fake)',
      'gap ms/job',
      'start lag ms',
      'tail ms',
      'max depth',
    ],
    rows.map((r) => [
      r.client,
      r.T,
      r.N,
      r.backends,
      Math.round(r.idealMs),
      r.makespanMs,
      r.efficiency,
      r.busyFraction,
      r.meanJobMs,
      r.meanGapMs,
      r.startLagMs,
      r.tailMs,
      r.maxQueueDepth,
    ]),
  );
}

export function comparisonTable(rows: UtilComparison[]): string {
  return table(
    ['T ms', 'N', 'comfygate eff (1 backend)', 'naive eff', 'comfygate / naive'],
    rows.map((c) => [c.T, c.N, c.comfygate, c.naive, c.ratio]),
  );
}

export function overheadTable(rows: OverheadRow[]): string {
  return table(
    [
      'path',
      'N',
      'total ms',
      'jobs/s',
      'added ms/job (same window)',
      'added ms/job (vs POST all)',
      'fake idle ms/job',
      'client CPU ms/job',
    ],
    rows.map((r) => [
      r.path,
      r.N,
      Math.round(r.ms),
      r.jobsPerSec,
      r.addedMsPerJob,
      r.addedVsPostAllMsPerJob,
      r.fakeIdleMsPerJob,
      r.cpuMsPerJob,
    ]),
  );
}

export function memoryTable(m: MemoryResult): string {
  return table(
    ['queued', 'rss MB', 'Δrss MB/1k jobs', 'heap MB', 'Δheap MB/1k jobs', 'db+wal MB', 'submit jobs/s (segment)'],
    m.samples.map((s) => [s.queued, s.rssMB, s.rssMBPer1k, s.heapUsedMB, s.heapMBPer1k, s.dbMB, s.submitPerSec]),
  );
}

export function writeJson(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}
