import { CONTENT_TYPES, type Op, type OutputFormat } from '@comfygate/shared';
import type { Sharp } from 'sharp';

export type FormatOp = Extract<Op, { op: 'format' }>;

/** PNG unless asked otherwise: lossless, and what ComfyUI itself produces. */
export const DEFAULT_FORMAT: FormatOp = { op: 'format', format: 'png' };

export const EXTENSIONS: Record<OutputFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp', avif: 'avif' };

export const contentTypeOf = (format: OutputFormat): string => CONTENT_TYPES[format];

/** Only options the spec set are passed, so sharp's own defaults (documented in the README) apply otherwise. */
export function encode(img: Sharp, f: FormatOp): Sharp {
  const quality = f.quality !== undefined ? { quality: f.quality } : {};
  const effort = f.effort !== undefined ? { effort: f.effort } : {};
  const lossless = f.lossless !== undefined ? { lossless: f.lossless } : {};
  const progressive = f.progressive !== undefined ? { progressive: f.progressive } : {};
  switch (f.format) {
    case 'png':
      return img.png({ ...quality, ...effort, ...progressive });
    case 'jpeg':
      // JPEG has no alpha: flatten onto white rather than let transparent pixels show their (often black) colour.
      return img.flatten({ background: '#ffffff' }).jpeg({ ...quality, ...progressive });
    case 'webp':
      return img.webp({ ...quality, ...effort, ...lossless });
    case 'avif':
      return img.avif({ ...quality, ...effort, ...lossless });
  }
}
