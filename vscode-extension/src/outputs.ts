import fs from 'node:fs';
import path from 'node:path';
import type { GatewayClient, Job } from '@comfygate/shared';
import { outputPath, writeFileAtomic } from '@comfygate/shared/manifest';
import type { GalleryItem } from './gallery/messages.js';

/** The variant every command asks for: the image as PNG (or the format a variant names) with provenance inside. */
export const FILE_VARIANT = 'file';
export const pngPostprocess = {
  variants: { [FILE_VARIANT]: { ops: [{ op: 'format' as const, format: 'png' as const }] } },
};

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40) || 'image';

/**
 * `rel` as a folder inside `root`, or null: `..`, absolute paths and a symlinked folder that leads out are refused
 * (the same check as manifest outputs), so a link committed to a repository cannot send images elsewhere.
 */
export function folderInside(root: string, rel: string): string | null {
  try {
    return path.dirname(outputPath(root, path.join(rel, 'probe.png')));
  } catch {
    return null;
  }
}

/** A name not taken yet in `dir`: `<prompt-slug>-<n>.png`, so files from repeated runs never overwrite each other. */
function freeName(dir: string, base: string, ext: string): string {
  for (let n = 1; ; n++) {
    const file = path.join(dir, `${base}-${n}.${ext}`);
    if (!fs.existsSync(file)) return file;
  }
}

/** Downloads each succeeded job's image (its `file` variant, else the original) into `dir`; returns gallery items. */
export async function saveJobs(
  client: GatewayClient,
  jobs: Job[],
  dir: string,
  prompt: string | null,
): Promise<GalleryItem[]> {
  const items: GalleryItem[] = [];
  for (const job of jobs.filter((j) => j.state === 'succeeded')) {
    for (const out of job.outputs.filter((o) => o.kind === 'output')) {
      const variant = out.variants.find((v) => v.variant === FILE_VARIANT);
      const res = await client.output(variant?.id ?? out.id);
      const type = (variant?.contentType ?? res.headers.get('content-type') ?? '').split(';')[0]!;
      const ext =
        ({ 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/avif': 'avif' } as Record<string, string>)[type] ?? 'png';
      const file = freeName(dir, slug(prompt ?? job.id), ext);
      writeFileAtomic(file, new Uint8Array(await res.arrayBuffer()));
      const params = (job.metadata.params ?? {}) as Record<string, unknown>;
      items.push({
        file,
        name: path.basename(file),
        prompt,
        jobId: job.id,
        at: Date.now(),
        seed: params.seed === undefined ? null : String(params.seed),
        template: typeof job.metadata.template === 'string' ? job.metadata.template : null,
      });
    }
  }
  return items;
}
