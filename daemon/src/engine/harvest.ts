import crypto from 'node:crypto';
import path from 'node:path';
import sharp from 'sharp';
import type { AssetFiles } from '../assets/files.js';
import type { ComfyBackend } from '../comfy/backend.js';
import type { HistoryEntry, ImageRef } from '../comfy/types.js';
import { PNG_SIGNATURE } from '../postprocess/png-text.js';
import type { AssetRecord, OutputRecord, TextOutput } from '../store/types.js';

const isFileRef = (v: unknown): v is ImageRef =>
  typeof v === 'object' && v !== null && typeof (v as ImageRef).filename === 'string';

export interface FileOutputRef {
  nodeId: string;
  index: number;
  ref: ImageRef;
  /**
   * The node said `"animated": [true]` (animated WEBP/PNG, and video savers, which list videos under `images`),
   * or listed the file under `gifs` (VideoHelperSuite).
   */
  animated: boolean;
  /** A content type the node named itself (VideoHelperSuite's `format`), used when /view gives none. */
  format: string | null;
}

/** Every file an output node reported (images, gifs, audio, video…), in node then list order. */
export function fileRefs(entry: HistoryEntry): FileOutputRef[] {
  const refs: FileOutputRef[] = [];
  for (const [nodeId, ui] of Object.entries(entry.outputs ?? {})) {
    const flagged = Array.isArray(ui?.animated) && ui.animated.some((a) => a === true);
    let index = 0;
    for (const [key, list] of Object.entries(ui ?? {})) {
      // VideoHelperSuite's `gifs` are animations whatever their format (image/gif, image/webp), with no flag.
      const animated = flagged || key === 'gifs';
      for (const item of Array.isArray(list) ? list : []) {
        if (!isFileRef(item)) continue;
        const named = (item as unknown as { format?: unknown }).format;
        const format = typeof named === 'string' ? named : null;
        refs.push({ nodeId, index: index++, ref: item, animated, format: format?.includes('/') ? format : null });
      }
    }
  }
  return refs;
}

/** A text output longer than this is cut (a node may print a whole tensor); the job row is no place for megabytes. */
export const MAX_TEXT_CHARS = 64 * 1024;
const MAX_TEXTS = 256;
/**
 * All of a job's texts together: the row is read whole by every job list, event and batch zip, and 256 texts
 * of 64 K each (StringConcatenate grows them from a short graph) would be 16 M characters per job.
 */
export const MAX_TEXT_TOTAL_CHARS = 256 * 1024;

/** Text outputs (`"text": ["42"]`, PreviewAny and the like), in node then list order; past the budget, cut. */
export function textOutputs(entry: HistoryEntry): TextOutput[] {
  const texts: TextOutput[] = [];
  let left = MAX_TEXT_TOTAL_CHARS;
  for (const [nodeId, ui] of Object.entries(entry.outputs ?? {})) {
    const list = ui?.text;
    if (!Array.isArray(list)) continue;
    list.forEach((t, index) => {
      if (typeof t !== 'string' || texts.length >= MAX_TEXTS || left <= 0) return;
      const keep = Math.min(MAX_TEXT_CHARS, left);
      left -= Math.min(t.length, keep);
      texts.push({ nodeId, index, text: t.length > keep ? `${t.slice(0, keep)}…` : t });
    });
  }
  return texts;
}

/** What ComfyUI's /view answers is `mimetypes.guess_type`; an unknown type falls back to what the node or name says. */
function contentTypeOf(viewed: string, r: FileOutputRef): string {
  if (viewed && viewed !== 'application/octet-stream') return viewed;
  return (
    r.format ?? EXTENSION_TYPES[path.extname(r.ref.filename).toLowerCase()] ?? (viewed || 'application/octet-stream')
  );
}

const EXTENSION_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mov': 'video/quicktime',
  '.mkv': 'video/x-matroska',
  '.flac': 'audio/flac',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/opus',
  '.txt': 'text/plain',
  '.json': 'application/json',
  '.glb': 'model/gltf-binary',
};

/** Pixel size from the image header (no decode); null for non-images or unreadable headers. */
async function dimensions(
  file: string,
  contentType: string,
  head: Buffer | null,
): Promise<{ width: number | null; height: number | null }> {
  if (!contentType.startsWith('image/')) return { width: null, height: null };
  const png = head && pngSize(head);
  if (png) return png;
  const meta = await sharp(file)
    .metadata()
    .catch(() => null);
  return { width: meta?.width ?? null, height: meta?.height ?? null };
}

/** A PNG's size from its IHDR, always the first chunk: what ComfyUI saves, read without a trip to sharp. */
function pngSize(head: Buffer): { width: number; height: number } | null {
  if (head.length < 24 || !head.subarray(0, 8).equals(PNG_SIGNATURE) || head.toString('latin1', 12, 16) !== 'IHDR')
    return null;
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
  for (const r of fileRefs(entry)) {
    const { nodeId, index, ref } = r;
    const viewed = await b.http.view(ref);
    const { stream } = viewed;
    const contentType = contentTypeOf(viewed.contentType, r);
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
      animated: r.animated,
      createdAt: now,
    });
  }
  return { outputs, assets };
}
