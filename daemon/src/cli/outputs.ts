import fs from 'node:fs';
import path from 'node:path';
import type { GatewayClient, Job } from '@comfygate/shared';
import { invocationDir } from './cwd.js';

const EXT_BY_TYPE: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
  'image/tiff': 'tiff',
  'image/svg+xml': 'svg',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'audio/mpeg': 'mp3',
  'audio/wav': 'wav',
  'audio/flac': 'flac',
  'model/gltf-binary': 'glb',
  'application/json': 'json',
  'text/plain': 'txt',
};

/** The served content type decides the extension (never the backend's file name); the name is only a fallback. */
export function extensionFor(contentType: string | null, filename: string): string {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const known = EXT_BY_TYPE[type];
  if (known) return known;
  const fromName = path.extname(filename).slice(1).toLowerCase();
  return /^[a-z0-9]{1,8}$/.test(fromName) ? fromName : 'bin';
}

/** Template names and seeds may hold anything; keep file names portable. */
const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);

/** Where outputs go without --out: never loose in the current folder. */
export const DEFAULT_OUT = 'comfygate-out';
/** `--out` (relative to where the command was typed), else ./comfygate-out there. */
export const outDir = (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string =>
  path.resolve(invocationDir(env), flag ?? DEFAULT_OUT);

/**
 * `<template>-<short job id>`, plus `-v<variation>-s<seed>` for a job of a batch of variations, so files of one
 * run sort together and say what made them. `fallback` names jobs made from a graph rather than a template.
 */
export function baseName(job: Job, fallback: string): string {
  const template = typeof job.metadata.template === 'string' ? job.metadata.template : fallback;
  let name = `${safe(template)}-${job.id.slice(0, 8)}`;
  const variation = job.metadata.variation as { index?: unknown } | undefined;
  if (typeof variation?.index === 'number') {
    const seed = (job.metadata.params as { seed?: unknown } | undefined)?.seed;
    name += `-v${variation.index}${typeof seed === 'number' || typeof seed === 'string' ? `-s${safe(String(seed))}` : ''}`;
  }
  return name;
}

/**
 * Downloads a finished job's outputs into `dir` as `<base>-<n>.<ext>` (n from 1), and each post-processing variant
 * the job asked for as `<base>-<n>.<variant>.<ext>` (not the `thumb` every output gets); returns the paths.
 */
export async function saveOutputs(client: GatewayClient, job: Job, dir: string, fallback = 'job'): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const base = baseName(job, fallback);
  const paths: string[] = [];
  const save = async (id: string, stem: string, contentType: string, filename: string) => {
    const res = await client.output(id);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const file = path.join(dir, `${stem}.${extensionFor(res.headers.get('content-type') ?? contentType, filename)}`);
    fs.writeFileSync(file, bytes);
    paths.push(file);
  };
  for (const [i, o] of job.outputs.entries()) {
    await save(o.id, `${base}-${i + 1}`, o.contentType, o.filename);
    for (const v of o.variants) {
      if (v.variant === 'thumb') continue;
      await save(v.id, `${base}-${i + 1}.${safe(v.variant)}`, v.contentType, '');
    }
  }
  return paths;
}
