import type { Readable } from 'node:stream';
import type { Job } from '@comfygate/shared';
import { ZipFile } from 'yazl';
import type { AssetFiles } from '../assets/files.js';
import type { BatchRecord } from '../store/types.js';

const EXT: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/avif': 'avif', 'image/gif': 'gif' };
const ext = (contentType: string) => EXT[contentType] ?? 'bin';

/**
 * Every output and variant of the batch's jobs, named `<job#>-<jobid8>/<node>_<index>[.<variant>].<ext>`, with a
 * manifest.json first. Files are added by path: yazl opens each only when it writes it, so a thousand outputs
 * hold neither a thousand descriptors nor the archive in memory. Images are stored, not deflated (already compressed).
 */
export async function archiveStream(batch: BatchRecord, jobs: Job[], files: AssetFiles): Promise<Readable> {
  const zip = new ZipFile();
  const entries: { jobId: string; state: string; matrix: unknown; params: unknown; variation: unknown; files: { path: string; nodeId: string; variant: string | null; sha256: string; bytes: number }[] }[] = [];
  const adds: [string, string][] = [];
  jobs.forEach((job, i) => {
    const dir = `${String(i + 1).padStart(4, '0')}-${job.id.slice(0, 8)}`;
    const list: (typeof entries)[number]['files'] = [];
    for (const o of job.outputs) {
      const base = `${dir}/${o.nodeId}_${o.index}`;
      list.push({ path: `${base}.${ext(o.contentType)}`, nodeId: o.nodeId, variant: null, sha256: o.sha256, bytes: o.bytes });
      for (const v of o.variants) list.push({ path: `${base}.${v.variant}.${ext(v.contentType)}`, nodeId: o.nodeId, variant: v.variant, sha256: v.sha256, bytes: v.bytes });
    }
    for (const f of list) adds.push([files.pathFor(f.sha256), f.path]);
    // What each file was made from: the matrix cell, or the template values (seed included) and variation.
    const { matrix = null, params = null, variation = null } = job.metadata;
    entries.push({ jobId: job.id, state: job.state, matrix, params, variation, files: list });
  });
  const manifest = { batch: { id: batch.id, name: batch.name, createdAt: new Date(batch.createdAt).toISOString() }, jobs: entries };
  zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'manifest.json');
  for (const [real, name] of adds) zip.addFile(real, name, { compress: false });
  zip.end();
  return zip.outputStream as unknown as Readable;
}
