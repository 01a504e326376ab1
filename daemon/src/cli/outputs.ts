import fs from 'node:fs';
import path from 'node:path';
import type { GatewayClient, Job } from '@comfygate/shared';

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

/** Node ids are usually digits but may be any string; keep file names portable. */
const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/** Downloads every output of a finished job into `dir` as `<jobid-prefix>_<node>_<index>.<ext>`; returns the paths. */
export async function saveOutputs(client: GatewayClient, job: Job, dir: string): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (const o of job.outputs) {
    const res = await client.output(o.id);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const name = `${job.id.slice(0, 8)}_${safe(o.nodeId)}_${o.index}.${extensionFor(res.headers.get('content-type') ?? o.contentType, o.filename)}`;
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    paths.push(file);
  }
  return paths;
}
