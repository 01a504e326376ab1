import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import type { WatchOptions } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { WatchRepo } from '../store/watch.js';
import { InputError, kindOf } from './inputs.js';
import { contentSha, observe, refusalSha, type SizeLimits } from './ledger.js';
import { type ActiveRule, relInside } from './rules.js';

const CONCURRENCY = 4;

/**
 * Between the watcher and the ledger: files reported by the watchers are hashed and recorded, at most
 * `maxFilesPerScan` per pass with a yield to the event loop between passes, so a 10,000-file dump costs
 * one path string each in memory and never blocks the API. Only paths wait here; content goes to SQLite.
 */
export class Intake {
  private readonly queue = new Map<string, string>(); // absolute path -> rule id
  private readonly timers = new Set<NodeJS.Timeout>();
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly deps: {
      repo: WatchRepo;
      rules: () => ReadonlyMap<string, ActiveRule>;
      opts: WatchOptions;
      log: Logger;
      limits: SizeLimits;
      /** New or changed content was recorded. */
      onWork: () => void;
      /** A running job's input changed under it: its result would be stale. */
      onStale: (jobId: string) => void;
    },
  ) {}

  push(ruleId: string, absPath: string): void {
    if (this.closed) return;
    this.queue.set(absPath, ruleId);
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.queue.clear();
    await this.running;
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0 && !this.closed) {
      const batch: [string, string][] = [];
      for (const entry of this.queue) if (batch.push(entry) >= this.deps.opts.maxFilesPerScan) break;
      for (const [p] of batch) this.queue.delete(p);
      const work = batch.values();
      const worker = async () => {
        for (const [p, ruleId] of work)
          await this.one(ruleId, p).catch((err) =>
            this.deps.log.warn({ err, path: p }, 'watch: could not record file'),
          );
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Files still being written come back once they have been still for `stableMs`. */
  private later(ruleId: string, absPath: string, ms: number): void {
    const t = setTimeout(() => (this.timers.delete(t), this.push(ruleId, absPath)), ms);
    this.timers.add(t);
  }

  private async one(ruleId: string, absPath: string): Promise<void> {
    const rule = this.deps.rules().get(ruleId);
    const rel = rule ? relInside(rule.root, absPath) : null;
    const kind = kindOf(absPath);
    if (!rule || rel === null || !kind || !rule.matches(rel) || rule.isOurs(absPath)) return;
    // chokidar at depth 0 still reports the files of the folder's direct sub-folders.
    if (!rule.spec.recursive && rel.includes('/')) return;
    const st = await fs.lstat(absPath).catch(() => null);
    if (st ? !(await this.inside(rule, absPath, st)) : !absPath.includes('\uFFFD')) return; // a lossy name is reported below
    // chokidar's awaitWriteFinish does not cover its initial scan: a file still growing at start waits here.
    const age = st ? Date.now() - st.mtimeMs : -1;
    if (age >= 0 && age < this.deps.opts.stableMs)
      return this.later(ruleId, absPath, this.deps.opts.stableMs - age + 20);
    const sha = await contentSha(rule.root, absPath, kind, this.deps.limits).catch((err: unknown) => {
      // Recorded like content, so the refusal is listed and reported by the feeder instead of only logged.
      if (err instanceof InputError) return refusalSha(err.message);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    });
    if (sha === null) return;
    const seen = await observe(this.deps.repo, rule.spec.id, rel, sha);
    if (seen.staleJobId) this.deps.onStale(seen.staleJobId);
    if (seen.changed) this.deps.onWork();
  }

  /**
   * A symlink is an input only if it resolves inside the rule's folder. Other files that are not regular
   * (a FIFO, a socket, a device) go on, to be refused without being opened, and reported.
   */
  private async inside(rule: ActiveRule, absPath: string, st: Stats): Promise<boolean> {
    if (!st.isSymbolicLink()) return !st.isDirectory();
    const real = await fs.realpath(absPath).catch(() => null);
    if (real && relInside(rule.root, real) !== null && !(await fs.stat(real)).isDirectory()) return true;
    this.deps.log.warn({ rule: rule.spec.id, path: absPath }, 'watch: ignoring a symlink that leads out of the folder');
    return false;
  }
}
