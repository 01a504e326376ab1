import crypto from 'node:crypto';
import { constants } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Job, PostprocessSpec } from '@comfygate/shared';
import type { AssetFiles } from '../assets/files.js';
import type { WatchFileRecord, WatchOutputs } from '../store/watch.js';
import { stemOf } from './inputs.js';
import { pinDir, type PinnedDir } from './pindir.js';
import { type ActiveRule, relInside, renderName } from './rules.js';
import { writeTextOutput } from './text-output.js';

const EXT: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/avif': 'avif',
  'image/gif': 'gif',
};

interface Planned {
  target: string;
  sha256: string;
}

const ignoreMissing = (err: NodeJS.ErrnoException) => {
  if (err.code !== 'ENOENT') throw err;
};

/** The folder for an input's outputs: beside it, or the same sub-path under outputDir; never outside that root. */
export async function outputDirFor(rule: ActiveRule, relPath: string): Promise<string> {
  const base = rule.outRoot ?? rule.root;
  const sub = path.posix.dirname(relPath);
  const dir = sub === '.' ? base : path.join(base, ...sub.split('/'));
  await fsp.mkdir(dir, { recursive: true });
  const real = await fsp.realpath(dir);
  if (real !== base && relInside(base, real) === null)
    throw new Error(`output folder ${dir} resolves outside ${base} (a symlink?)`);
  return real;
}

/** Each output's variants (the thumbnail only when the spec names it), or the original output as `out`. */
function plan(rule: ActiveRule, relPath: string, job: Job, spec: PostprocessSpec | null, dir: string): Planned[] {
  const named = new Set(Object.keys(spec?.variants ?? {}));
  const name = stemOf(relPath);
  return job.outputs
    .filter((o) => o.kind === 'output')
    .flatMap((o, index) => {
      const picked = o.variants.filter((v) => v.variant !== 'thumb' || named.has('thumb'));
      const files = picked.length ? picked : [{ variant: 'out', sha256: o.sha256, contentType: o.contentType }];
      return files.map((f) => {
        const ext = EXT[f.contentType] ?? (path.extname(o.filename).slice(1) || 'bin');
        return {
          target: path.join(dir, renderName(rule.spec.naming, { name, variant: f.variant, ext, index })),
          sha256: f.sha256,
        };
      });
    });
}

/**
 * Temp file (a dotfile, so watchers skip it) then rename, both in the pinned folder: nobody ever sees half an
 * output, and neither lands anywhere else whatever the folder's path leads to meanwhile.
 */
async function place(src: string, target: string, rule: ActiveRule, dir: PinnedDir, content?: string): Promise<void> {
  const tmp = dir.at(`.${path.basename(target)}.${crypto.randomBytes(4).toString('hex')}.cgtmp`);
  rule.ours.add(target); // before the rename, so the watcher's event for it is already ignored
  try {
    if (content !== undefined) await fsp.writeFile(tmp, content, { flag: 'wx' });
    else await fsp.copyFile(src, tmp, constants.COPYFILE_EXCL);
    await fsp.rename(tmp, dir.at(path.basename(target)));
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** `cat.out.png` of content 1a2b… becomes `cat~1a2b3c4d.out.png`: still sorted beside it, never taken as input. */
function asideName(p: string, stem: string, sha256: string): string {
  const base = path.basename(p);
  const tag = `~${sha256.slice(0, 8)}`;
  return path.join(
    path.dirname(p),
    base.startsWith(stem) ? `${stem}${tag}${base.slice(stem.length)}` : `${tag.slice(1)}~${base}`,
  );
}

export interface WriteInput {
  rule: ActiveRule;
  row: WatchFileRecord;
  job: Job;
  spec: PostprocessSpec | null;
  files: AssetFiles;
}

/**
 * Copies a succeeded job's files into place, replaces (or, with keepOld, sets aside) those of earlier content,
 * and removes the input's error report, if an earlier run left one.
 */
export async function writeOutputs({ rule, row, job, spec, files }: WriteInput): Promise<WatchOutputs> {
  const dir = await outputDirFor(rule, row.path);
  const planned = plan(rule, row.path, job, spec, dir);
  const prev = row.outputs;
  const base = rule.outRoot ?? rule.root;
  const ownedByUs = (p: string) => relInside(base, p) !== null; // recorded paths only, and only under the output root
  const pinned = await pinDir(dir, base);
  // Earlier outputs are in this folder unless the rule's layout changed; those are reached by their path.
  const reach = (p: string) => (path.dirname(p) === dir ? pinned.at(path.basename(p)) : p);
  try {
    const kept = [...(prev?.kept ?? [])];
    if (prev && prev.sha256 !== row.sha256 && rule.spec.keepOld) {
      for (const p of prev.paths.filter(ownedByUs)) {
        const aside = asideName(p, stemOf(row.path), prev.sha256);
        rule.ours.add(aside);
        await fsp.rename(reach(p), reach(aside)).then(() => kept.push(aside), ignoreMissing);
      }
    }
    for (const f of planned) await place(files.pathFor(f.sha256), f.target, rule, pinned);
    const texts = await writeTextOutput(job, dir, row.path, (target, content) =>
      place('', target, rule, pinned, content),
    );
    const now = new Set([...planned.map((f) => f.target), ...texts]);
    if (prev && !rule.spec.keepOld) {
      for (const p of prev.paths.filter((x) => !now.has(x) && ownedByUs(x))) await fsp.rm(reach(p), { force: true });
    }
    await fsp.rm(pinned.at(errorName(row.path)), { force: true });
    return { sha256: row.sha256, paths: [...now], kept };
  } finally {
    await pinned.close();
  }
}

const errorName = (relPath: string) => `${stemOf(relPath)}.error.txt`;

export async function writeError(
  rule: ActiveRule,
  row: WatchFileRecord,
  message: string,
  jobId: string | null,
): Promise<void> {
  const text = `${message}\n\ninput: ${row.path}\nsha256: ${row.sha256}\n${jobId ? `job: ${jobId}\n` : ''}`;
  const dir = await outputDirFor(rule, row.path);
  const pinned = await pinDir(dir, rule.outRoot ?? rule.root);
  try {
    await place('', path.join(dir, errorName(row.path)), rule, pinned, text);
  } finally {
    await pinned.close();
  }
}
