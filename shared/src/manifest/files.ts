import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { sha256Hex } from './hash.js';
import { AssetLock, AssetManifest, LOCK_FILE } from './schema.js';

/** A manifest that cannot be read or does not match the schema, in words for a person (path: message lines). */
export class ManifestError extends Error {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

export interface LoadedManifest {
  file: string;
  dir: string;
  manifest: AssetManifest;
}

export function parseManifest(text: string, file = 'comfygate.assets.json'): AssetManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const parsed = AssetManifest.safeParse(json);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new ManifestError(`${file}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, issues);
}

export function loadManifest(file: string): LoadedManifest {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ManifestError(`cannot read ${abs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { file: abs, dir: path.dirname(abs), manifest: parseManifest(text, abs) };
}

/**
 * An output path inside the manifest's folder, resolved. The schema already refuses `..` and absolute paths; this
 * also refuses a symlinked folder that leads out, so a manifest from a pull request cannot write elsewhere.
 */
export function outputPath(dir: string, rel: string): string {
  const abs = path.resolve(dir, rel);
  const inside = (p: string) => p === dir || p.startsWith(dir + path.sep);
  if (!inside(abs)) throw new ManifestError(`${rel} is outside ${dir}`);
  let probe = path.dirname(abs);
  while (!fs.existsSync(probe) && probe !== dir) probe = path.dirname(probe);
  const real = fs.realpathSync(probe);
  const realDir = fs.realpathSync(dir);
  if (real !== realDir && !real.startsWith(realDir + path.sep))
    throw new ManifestError(`${rel} leads outside ${dir} through a link`);
  return abs;
}

export const lockPath = (dir: string): string => path.join(dir, LOCK_FILE);

/** The lock beside the manifest; null when there is none yet. A damaged lock is an error, not a silent rebuild. */
export function readLock(dir: string): AssetLock | null {
  const file = lockPath(dir);
  if (!fs.existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ManifestError(`${file} is not a comfygate lock: not JSON (${(err as Error).message})`);
  }
  const parsed = AssetLock.safeParse(json);
  if (!parsed.success) throw new ManifestError(`${file} is not a comfygate lock: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Sorted keys and a trailing newline, written through a temp file and a rename: diffs stay small, no torn lock. */
export function writeLock(dir: string, lock: AssetLock): void {
  const sorted: AssetLock = {
    version: 1,
    assets: Object.fromEntries(
      Object.keys(lock.assets)
        .sort()
        .map((k) => [k, lock.assets[k]!]),
    ),
  };
  replaceFile(lockPath(dir), `${JSON.stringify(sorted, null, 2)}\n`);
}

export function fileSha256(file: string): string | null {
  try {
    return sha256Hex(fs.readFileSync(file));
  } catch {
    return null;
  }
}

/** Writes through a temp file and a rename, so an editor watching the folder never sees half an image. */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  replaceFile(file, bytes);
}

/**
 * Through a temp file created new (`wx`: never an existing file or a symlink a cloned repository planted at that
 * name, which a plain write would follow out of the workspace) and a rename, which replaces a link at `file`
 * itself rather than writing through it.
 */
function replaceFile(file: string, data: string | Uint8Array): void {
  for (let attempt = 0; ; attempt++) {
    const tmp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
    try {
      fs.writeFileSync(tmp, data, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 5) continue;
      throw err;
    }
    try {
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    return;
  }
}
