import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';

/** The data folder when neither --home nor COMFYGATE_HOME names one. Its own module: the CLI reads it without the schema. */
export const DEFAULT_HOME = path.join(os.homedir(), '.comfygate');

/** Owner only: the home holds webhook secrets, prompts, tokens' hashes and the admin token itself. */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/**
 * Creates `$COMFYGATE_HOME` private (0700), or tightens an existing one that others could read: every directory
 * in it 0700, every file 0600, with one log line saying so. Symlinks are left alone (chmod would follow them).
 */
export function secureHome(home: string, log: Pick<Logger, 'warn'>): void {
  fs.mkdirSync(home, { recursive: true, mode: PRIVATE_DIR });
  const loose = (fs.statSync(home).mode & 0o077) !== 0;
  let fixed = 0;
  const tighten = (p: string, st: fs.Stats) => {
    const want = st.isDirectory() ? PRIVATE_DIR : PRIVATE_FILE;
    if ((st.mode & 0o777) !== want) {
      fs.chmodSync(p, want);
      fixed++;
    }
  };
  // A loose home is walked whole; a private one only at its top, where the database, its WAL and the token live.
  const walk = (dir: string, deep: boolean) => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st || st.isSymbolicLink() || !(st.isFile() || st.isDirectory())) continue;
      tighten(p, st);
      if (deep && st.isDirectory()) walk(p, deep);
    }
  };
  tighten(home, fs.statSync(home));
  walk(home, loose);
  if (fixed > 0)
    log.warn(
      { home, entries: fixed },
      `tightened permissions of ${home}: ${fixed} entries were open to other users (now 0700/0600)`,
    );
}
