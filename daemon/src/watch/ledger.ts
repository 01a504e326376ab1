import crypto from 'node:crypto';
import type { WatchRepo } from '../store/watch.js';
import { type InputKind, sidecarOf } from './inputs.js';
import { hashWatched } from './safefile.js';

/**
 * The watch ledger: (rule, path) -> content sha256 -> job. What makes watched folders idempotent across
 * restarts lives in the store (an upsert that only fires on a different sha256); this adds the hashing.
 */

export interface SizeLimits {
  maxTextBytes: number;
  maxImageBytes: number;
}

/**
 * An image's content includes its `.prompt.txt` sidecar: editing the prompt re-runs the image. Read through
 * `safefile` (inside `root`, regular, bounded): a refusal throws InputError.
 */
export async function contentSha(root: string, file: string, kind: InputKind, l: SizeLimits): Promise<string> {
  const own = await hashWatched(root, file, kind === 'image' ? l.maxImageBytes : l.maxTextBytes);
  if (own === null) throw Object.assign(new Error(`${file} is gone`), { code: 'ENOENT' });
  if (kind !== 'image') return own;
  const side = await hashWatched(root, sidecarOf(file), l.maxTextBytes);
  return side ? crypto.createHash('sha256').update(`${own}\n${side}`).digest('hex') : own;
}

/** Stands for a file refused before it could be hashed: the refusal is recorded (and reported) like content. */
export const refusalSha = (message: string): string =>
  crypto.createHash('sha256').update(`refused\n${message}`).digest('hex');

export interface Observed {
  /** New work was recorded (a new file, or new content). */
  changed: boolean;
  /** The job of the content this replaced, still unfinished: its result would be stale. */
  staleJobId: string | null;
}

/** Records content seen at a path; every change gets a fresh submit key so it becomes exactly one job. */
export async function observe(repo: WatchRepo, ruleId: string, relPath: string, sha256: string): Promise<Observed> {
  const r = await repo.observe(ruleId, relPath, sha256, crypto.randomUUID());
  return { changed: r.changed, staleJobId: r.replacedJobId };
}
