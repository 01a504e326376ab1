import type { Readable } from 'node:stream';
import type { Job } from '@comfygate/shared';
import { ZipFile } from 'yazl';
import type { AssetFiles } from '../assets/files.js';
import { nodeNamePart } from '../assets/names.js';
import type { BatchRecord } from '../store/types.js';

const EXT: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/avif': 'avif',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'audio/flac': 'flac',
  'audio/mpeg': 'mp3',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/ogg': 'ogg',
};
/** By content type, else the name ComfyUI gave the file (a video or 3D format this table lacks), else bin. */
const ext = (contentType: string, filename = '') =>
  EXT[contentType] ?? /\.([A-Za-z0-9]{1,8})$/.exec(filename)?.[1]?.toLowerCase() ?? 'bin';

type ManifestFile = {
  path: string;
  nodeId: string;
  variant: string | null;
  sha256: string;
  bytes: number;
  contentType: string;
  animated: boolean;
};

/**
 * Every output and variant of the batch's jobs, named `<job#>-<jobid8>/<node>_<index>[.<variant>].<ext>`, with a
 * manifest.json first. Files are added by path: yazl opens each only when it writes it, so a thousand outputs
 * hold neither a thousand descriptors nor the archive in memory. Images are stored, not deflated (already compressed).
 */
export async function archiveStream(batch: BatchRecord, jobs: Job[], files: AssetFiles): Promise<Readable> {
  const zip = new ZipFile();
  type Entry = {
    jobId: string;
    state: string;
    matrix: unknown;
    params: unknown;
    variation: unknown;
    files: ManifestFile[];
    texts: Job['texts'];
  };
  const entries: Entry[] = [];
  const adds: [string, string][] = [];
  jobs.forEach((job, i) => {
    const dir = `${String(i + 1).padStart(4, '0')}-${job.id.slice(0, 8)}`;
    const list: (typeof entries)[number]['files'] = [];
    for (const o of job.outputs) {
      const base = `${dir}/${nodeNamePart(o.nodeId)}_${o.index}`;
      const file = {
        nodeId: o.nodeId,
        sha256: o.sha256,
        bytes: o.bytes,
        contentType: o.contentType,
        animated: o.animated,
      };
      list.push({ ...file, path: `${base}.${ext(o.contentType, o.filename)}`, variant: null });
      for (const v of o.variants) {
        const path = `${base}.${v.variant}.${ext(v.contentType)}`;
        list.push({
          ...file,
          path,
          variant: v.variant,
          sha256: v.sha256,
          bytes: v.bytes,
          contentType: v.contentType,
          animated: false,
        });
      }
    }
    for (const f of list) adds.push([files.pathFor(f.sha256), f.path]);
    // What each file was made from: the matrix cell, or the template values (seed included) and variation.
    const { matrix = null, params = null, variation = null } = job.metadata;
    // Text outputs (PreviewAny…) have no file: their words are in the manifest.
    entries.push({ jobId: job.id, state: job.state, matrix, params, variation, files: list, texts: job.texts });
  });
  const manifest = {
    batch: { id: batch.id, name: batch.name, createdAt: new Date(batch.createdAt).toISOString() },
    jobs: entries,
  };
  zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'manifest.json');
  for (const [real, name] of adds) zip.addFile(real, name, { compress: false });
  zip.end();
  return zip.outputStream as unknown as Readable;
}
