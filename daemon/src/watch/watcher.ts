import fs from 'node:fs/promises';
import path from 'node:path';
import type { Stats } from 'node:fs';
import { type FSWatcher, watch } from 'chokidar';
import type { WatchOptions } from '../config/schema.js';
import type { Logger } from '../log.js';
import { imagesOfSidecar, isSidecar } from './inputs.js';
import { type ActiveRule, realDir, relInside } from './rules.js';

/** Names no input ever has: dotfiles (our own temp files too), editor and download leftovers, our error reports. */
const NEVER = /^\.|\.(tmp|temp|part|partial|crdownload|download|swp|cgtmp)$|~$|\.error\.txt$/i;

/**
 * One rule's folder, watched with chokidar. chokidar does not notice a watched folder being deleted and
 * recreated, so the folder's identity (device + inode) is polled and the watcher rebuilt when it changes;
 * the rebuilt watcher's initial scan re-reports every file and the ledger drops what it has already seen.
 */
export class FolderWatcher {
  private watcher: FSWatcher | null = null;
  private identity: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> = Promise.resolve();
  private closed = false;
  private settled: Promise<void> = Promise.resolve();
  status: 'watching' | 'missing' | 'stopped' = 'stopped';

  constructor(
    private readonly rule: ActiveRule,
    private readonly opts: WatchOptions,
    private readonly onFile: (absPath: string) => void,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(
      () => void (this.checking = this.checking.then(() => this.check())),
      this.opts.presenceMs,
    ).unref();
  }

  /** Resolves once the current watcher has scanned the folder (at once while it is missing). */
  ready(): Promise<void> {
    return this.settled;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.checking;
    await this.watcher?.close();
    this.watcher = null;
    this.status = 'stopped';
  }

  private async check(): Promise<void> {
    if (this.closed) return;
    const st = await fs.stat(this.rule.spec.dir).catch(() => null);
    const identity = st?.isDirectory() ? `${st.dev}:${st.ino}` : null;
    if (identity === this.identity) return;
    this.identity = identity;
    await this.watcher?.close();
    this.watcher = null;
    const root = identity ? await realDir(this.rule.spec.dir) : null;
    if (!root || this.closed) {
      this.status = 'missing';
      this.log.warn(
        { rule: this.rule.spec.id, dir: this.rule.spec.dir },
        'watched folder is missing; watching for it to appear',
      );
      return;
    }
    this.rule.root = root;
    const w = (this.watcher = this.open(root));
    this.settled = new Promise((resolve) => w.once('ready', () => void this.catchUp(w).finally(resolve)));
    this.status = 'watching';
  }

  private open(root: string): FSWatcher {
    const { stableMs, pollMs } = this.opts;
    const w = watch(root, {
      ignoreInitial: false, // files that arrived while the daemon was stopped are reported at start
      followSymlinks: false,
      depth: this.rule.spec.recursive ? 32 : 0,
      ignorePermissionErrors: true,
      awaitWriteFinish: stableMs > 0 ? { stabilityThreshold: stableMs, pollInterval: pollMs } : false,
      ignored: (p: string, stats?: Stats) => this.ignored(root, p, stats),
    });
    const report = (p: string) => {
      if (isSidecar(p)) for (const image of imagesOfSidecar(p)) this.onFile(image);
      else this.onFile(p);
    };
    w.on('add', report).on('change', report);
    // A name that is not UTF-8 reaches Node as a lossy string naming no file, so chokidar's stat fails and it
    // never reports an `add`; fs.watch's raw event still carries it, and the intake reports it as refused.
    w.on('raw', (_event, name, opts) => {
      const dir = (opts as { watchedPath?: string } | undefined)?.watchedPath;
      if (typeof name !== 'string' || !name.includes('\uFFFD') || !dir) return;
      const p = path.join(dir, name);
      if (!NEVER.test(name) && relInside(root, p) !== null) report(p);
    });
    w.on('error', (err) => this.log.warn({ err, rule: this.rule.spec.id }, 'folder watcher error'));
    return w;
  }

  /**
   * chokidar lists a folder before it attaches fs.watch to it: a file created in between is never reported.
   * Once ready, names it does not know are reported here (the ledger drops any it already has).
   */
  private async catchUp(w: FSWatcher): Promise<void> {
    for (const [dir, known] of Object.entries(w.getWatched())) {
      if (this.closed || (dir !== this.rule.root && relInside(this.rule.root, dir) === null)) continue; // chokidar also tracks the parent
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      const seen = new Set(known);
      for (const name of names)
        if (!seen.has(name) && !this.ignored(this.rule.root, path.join(dir, name))) this.onFile(path.join(dir, name));
    }
  }

  /** A first filter (the intake checks again): saves chokidar polling files that can never be inputs. */
  private ignored(root: string, p: string, stats?: Stats): boolean {
    if (p === root) return false;
    if (NEVER.test(path.basename(p))) return true;
    if (!stats || stats.isDirectory()) return false;
    if (isSidecar(p) || this.rule.ours.has(p)) return !isSidecar(p);
    const rel = relInside(root, p);
    return rel === null || !this.rule.matches(rel) || this.rule.isOurs(p);
  }
}
