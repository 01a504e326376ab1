import crypto from 'node:crypto';
import sharp from 'sharp';
import type { AssetFiles } from '../assets/files.js';
import type { ComfyBackend } from '../comfy/backend.js';
import type { HistoryEntry, ImageRef } from '../comfy/types.js';
import type { AssetsRepo, OutputRecord } from '../store/types.js';

const isFileRef = (v: unknown): v is ImageRef =>
  typeof v === 'object' && v !== null && typeof (v as ImageRef).filename === 'string';

/** Every file an output node reported (images, gifs, audio, video…), in node then list order. */
export function fileRefs(entry: HistoryEntry): { nodeId: string; index: number; ref: ImageRef }[] {
  const refs: { nodeId: string; index: number; ref: ImageRef }[] = [];
  for (const [nodeId, ui] of Object.entries(entry.outputs ?? {})) {
    let index = 0;
    for (const list of Object.values(ui ?? {})) {
      for (const item of Array.isArray(list) ? list : []) if (isFileRef(item)) refs.push({ nodeId, index: index++, ref: item });
    }
  }
  return refs;
}

/** Pixel size from the image header (no decode); null for non-images or unreadable headers. */
async function dimensions(file: string, contentType: string): Promise<{ width: number | null; height: number | null }> {
  if (!contentType.startsWith('image/')) return { width: null, height: null };
  const meta = await sharp(file).metadata().catch(() => null);
  return { width: meta?.width ?? null, height: meta?.height ?? null };
}

/** Streams each output through /view into the content-addressed store (never buffered whole). */
export async function harvestOutputs(
  b: ComfyBackend,
  entry: HistoryEntry,
  ids: { jobId: string; attemptId: string },
  files: AssetFiles,
  assets: AssetsRepo,
): Promise<OutputRecord[]> {
  const outputs: OutputRecord[] = [];
  for (const { nodeId, index, ref } of fileRefs(entry)) {
    const { stream, contentType } = await b.http.view(ref);
    const stored = await files.write(stream);
    const now = Date.now();
    const { width, height } = await dimensions(files.pathFor(stored.sha256), contentType);
    await assets.upsert({ sha256: stored.sha256, bytes: stored.bytes, contentType, width, height, createdAt: now });
    outputs.push({
      id: crypto.randomUUID(),
      jobId: ids.jobId,
      attemptId: ids.attemptId,
      nodeId,
      index,
      filename: ref.filename,
      kind: ref.type === 'temp' ? 'temp' : 'output',
      sha256: stored.sha256,
      bytes: stored.bytes,
      contentType,
      width,
      height,
      createdAt: now,
    });
  }
  return outputs;
}
