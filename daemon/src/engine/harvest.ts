import crypto from 'node:crypto';
import sharp from 'sharp';
import type { AssetFiles } from '../assets/files.js';
import type { ComfyBackend } from '../comfy/backend.js';
import type { HistoryEntry, ImageRef } from '../comfy/types.js';
import { PNG_SIGNATURE } from '../postprocess/png-text.js';
import type { AssetRecord, OutputRecord } from '../store/types.js';

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
async function dimensions(file: string, contentType: string, head: Buffer | null): Promise<{ width: number | null; height: number | null }> {
  if (!contentType.startsWith('image/')) return { width: null, height: null };
  const png = head && pngSize(head);
  if (png) return png;
  const meta = await sharp(file).metadata().catch(() => null);
  return { width: meta?.width ?? null, height: meta?.height ?? null };
}

/** A PNG's size from its IHDR, always the first chunk: what ComfyUI saves, read without a trip to sharp. */
function pngSize(head: Buffer): { width: number; height: number } | null {
  if (head.length < 24 || !head.subarray(0, 8).equals(PNG_SIGNATURE) || head.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
}

/** Passes a body through, keeping its first chunk (the file header) on the side. */
function withHead(body: AsyncIterable<Uint8Array>): { body: AsyncIterable<Uint8Array>; head: () => Buffer | null } {
  let head: Buffer | null = null;
  async function* tap() {
    for await (const chunk of body) {
      head ??= Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      yield chunk;
    }
  }
  return { body: tap(), head: () => head };
}

/**
 * Streams each output through /view into the content-addressed store (never buffered whole). The rows are
 * returned, not written: the job's transition commits them together.
 */
export async function harvestOutputs(
  b: ComfyBackend,
  entry: HistoryEntry,
  ids: { jobId: string; attemptId: string },
  files: AssetFiles,
): Promise<{ outputs: OutputRecord[]; assets: AssetRecord[] }> {
  const outputs: OutputRecord[] = [];
  const assets: AssetRecord[] = [];
  for (const { nodeId, index, ref } of fileRefs(entry)) {
    const { stream, contentType } = await b.http.view(ref);
    const tapped = withHead(stream);
    const stored = await files.write(tapped.body);
    const now = Date.now();
    const { width, height } = await dimensions(files.pathFor(stored.sha256), contentType, tapped.head());
    assets.push({ sha256: stored.sha256, bytes: stored.bytes, contentType, width, height, createdAt: now });
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
  return { outputs, assets };
}
