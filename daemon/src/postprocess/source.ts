import fsp from 'node:fs/promises';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { PostprocessError } from './errors.js';
import type { Dims } from './ops/types.js';
import { copyTextChunks } from './png-text.js';

/** What the daemon accepts as a source; SVG is refused (a document that can be made arbitrarily costly to render). */
const SOURCE_FORMATS = new Set(['png', 'jpeg', 'webp', 'heif', 'avif', 'gif', 'tiff']);

export interface Source {
  input: Buffer | string;
  format: string;
  /** Size after EXIF orientation, which every variant applies first. */
  dims: Dims;
  maxPixels: number;
}

/**
 * Reads the header only. With `limitInputPixels` set, sharp refuses an oversized image here, before a single pixel
 * is decoded, so a 100-megapixel bomb costs a few kilobytes.
 */
export async function inspectSource(input: Buffer | string, maxPixels: number): Promise<Source> {
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: maxPixels }).metadata();
  } catch (err) {
    throw sourceError(err, maxPixels);
  }
  if (!SOURCE_FORMATS.has(meta.format)) {
    throw new PostprocessError({
      code: 'unsupported_media_type',
      message: `cannot post-process '${meta.format}' images`,
    });
  }
  const { width, height } = meta.autoOrient ?? meta;
  return { input, format: meta.format, dims: { width, height }, maxPixels };
}

/**
 * The decoder's complaint about a source's pixel data, or null when it decodes cleanly. Read in sequence into an
 * 8×8 image, so memory stays flat whatever its size. Used to tell a damaged image from a bad spec when a variant
 * fails: libvips may report damage while reading or only later while encoding, depending on timing.
 */
export async function decodeFailure(src: Source): Promise<string | null> {
  try {
    await sharp(src.input, { limitInputPixels: src.maxPixels, sequentialRead: true })
      .resize(8, 8, { fit: 'fill' })
      .raw()
      .toBuffer();
    return null;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unreadable';
  }
}

/** A fresh pipeline per variant: sharp instances are single-use, and the input limit is set on every one. */
export function openSource(src: Source): Sharp {
  return sharp(src.input, { limitInputPixels: src.maxPixels, autoOrient: true });
}

/** A file source is read once per job, however many variants keep its metadata. */
const fileBytes = new WeakMap<Source, Promise<Buffer>>();

/** A PNG source's own text chunks (ComfyUI's `prompt` and `workflow`), for variants that keep metadata. */
export async function sourceTextChunks(src: Source, except: ReadonlySet<string>): Promise<Buffer[]> {
  if (src.format !== 'png') return [];
  if (typeof src.input !== 'string') return copyTextChunks(src.input, except);
  let bytes = fileBytes.get(src);
  if (!bytes) fileBytes.set(src, (bytes = fsp.readFile(src.input)));
  return copyTextChunks(await bytes, except);
}

export function sourceError(err: unknown, maxPixels: number): PostprocessError {
  if (err instanceof PostprocessError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    return new PostprocessError({
      code: 'payload_too_large',
      message: `image exceeds the ${maxPixels}-pixel limit`,
      details: { maxPixels },
      cause: err,
    });
  }
  if (/Input file is missing|ENOENT|EACCES/.test(message)) {
    return new PostprocessError({
      code: 'missing_asset',
      message: `source image not readable: ${message}`,
      cause: err,
    });
  }
  return new PostprocessError({
    code: 'unsupported_media_type',
    message: `not an image sharp can read: ${message}`,
    cause: err,
  });
}
