import fsp from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { GatewayError } from '../errors.js';

/** Image formats accepted as inputs, by what sharp reads in the bytes. SVG, PDF and the like are documents, not images. */
export const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  heif: 'image/heif',
  tiff: 'image/tiff',
};

export interface SniffedImage {
  contentType: string;
  width: number;
  height: number;
}

const unsupported = (message: string, details?: Record<string, unknown>) =>
  new GatewayError({ code: 'unsupported_media_type', message, details });

/**
 * Markup (SVG, HTML, XML) in a file's first bytes, past a BOM, blanks, comments, `<?xml …?>` and a doctype:
 * `<!-- x --><svg …>` is still an SVG, and a script carrier when served back.
 */
export async function looksLikeMarkup(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  const head = Buffer.alloc(4096);
  const { bytesRead } = await fh.read(head, 0, head.length, 0).finally(() => fh.close());
  let text = head
    .subarray(0, bytesRead)
    .toString('latin1')
    .replace(/^(\uFEFF|\xEF\xBB\xBF)/, '');
  for (let prev = ''; prev !== text;) {
    prev = text;
    text = text
      .replace(/^\s+/, '')
      .replace(/^<!--[\s\S]*?(-->|$)/, '')
      .replace(/^<\?[\s\S]*?(\?>|$)/, '')
      .replace(/^<!doctype[^>]*(>|$)/i, '');
  }
  return (
    /^<[a-z]/i.test(text) ||
    /<(svg|html|script|iframe|object|embed)[\s>/]/i.test(head.subarray(0, bytesRead).toString('latin1'))
  );
}

/**
 * What an upload really is, from its bytes (never the declared type or name): null when sharp sees no image at all.
 * An image is decoded once in full (in sequence into 8×8 pixels, so memory stays flat): a truncated or damaged file is
 * refused here rather than failing later inside a job. Over `maxPixels` is refused from the header, before decoding.
 */
export async function sniffImage(file: string, maxPixels: number): Promise<SniffedImage | null> {
  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch {
    return null;
  }
  const contentType = meta.format ? IMAGE_TYPES[meta.format] : undefined;
  if (!contentType || !meta.width || !meta.height) {
    throw unsupported(
      `'${meta.format ?? 'unknown'}' is not an image format comfygate accepts (png, jpeg, webp, gif, avif, heif, tiff)`,
    );
  }
  const pixels = meta.width * meta.height * (meta.pages ?? 1);
  if (pixels > maxPixels) {
    throw new GatewayError({
      code: 'payload_too_large',
      message: `image has ${pixels} pixels (${meta.width}x${meta.height}); the limit is ${maxPixels}`,
      details: { width: meta.width, height: meta.height, maxPixels },
    });
  }
  try {
    await sharp(file, { limitInputPixels: maxPixels, sequentialRead: true })
      .resize(8, 8, { fit: 'fill' })
      .raw()
      .toBuffer();
  } catch (err) {
    throw unsupported(`the ${meta.format} image is damaged or truncated: ${(err as Error).message.split('\n')[0]}`);
  }
  return { contentType, width: meta.width, height: meta.height };
}
