import crypto from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { WatchRepo } from '../store/watch.js';
import { type InputKind, sidecarOf } from './inputs.js';

/**
 * The watch ledger: (rule, path) -> content sha256 -> job. What makes watched folders idempotent across
 * restarts lives in the store (an upsert that only fires on a different sha256); this adds the hashing.
 */

async function hashFile(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** An image's content includes its `.prompt.txt` sidecar: editing the prompt re-runs the image. */
export async function contentSha(file: string, kind: InputKind): Promise<string> {
  const own = await hashFile(file);
  if (kind !== 'image') return own;
  const side = await hashFile(sidecarOf(file)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  return side ? crypto.createHash('sha256').update(`${own}\n${side}`).digest('hex') : own;
}

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
