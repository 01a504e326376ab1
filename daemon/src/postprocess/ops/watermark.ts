import type { Gravity, Op } from '@comfygate/shared';
import sharp from 'sharp';
import { PostprocessError } from '../errors.js';
import type { Dims, OpDefs, OpEnv } from './types.js';

type Watermark = Extract<Op, { op: 'watermark' }>;

const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
/** Bigger text is not a watermark, and the SVG canvas grows with the square of it. */
const MAX_FONT_PX = 1024;

/**
 * Composite runs late in sharp's pipeline (after resize, extend, blur, modulate, sharpen). The overlay is placed with
 * our own margin, so the watermark needs the exact size of the image beneath it, and sharp's gamma would brighten
 * the overlay too, so a stage with gamma ends first.
 */
export const watermarkOps: OpDefs = {
  watermark: {
    rank: () => 90,
    needsExact: true,
    flushIf: (s) => s.names.has('gamma'),
    predict: (d) => d,
    apply: async (img, o, dims, env) => {
      const margin = marginFor(o, dims);
      const avail = { width: Math.max(1, dims.width - 2 * margin), height: Math.max(1, dims.height - 2 * margin) };
      const overlay =
        o.text !== undefined ? await textOverlay(o, dims, avail, env) : await imageOverlay(o, dims, avail, env);
      const { left, top } = place(o.gravity ?? 'southeast', dims, overlay.info, margin);
      return img.composite([{ input: overlay.data, left, top }]);
    },
  },
};

/** Defaults to 2% of the shorter edge; never so large that nothing is left to draw in. */
function marginFor(o: Watermark, d: Dims): number {
  const margin = o.margin ?? Math.round(Math.min(d.width, d.height) * 0.02);
  return Math.min(margin, Math.floor((Math.min(d.width, d.height) - 1) / 2));
}

export function place(gravity: Gravity, d: Dims, ov: Dims, margin: number): { left: number; top: number } {
  const g = gravity === 'center' ? 'centre' : gravity;
  const left = g.endsWith('west')
    ? margin
    : g.endsWith('east')
      ? d.width - ov.width - margin
      : Math.floor((d.width - ov.width) / 2);
  const top = g.startsWith('north')
    ? margin
    : g.startsWith('south')
      ? d.height - ov.height - margin
      : Math.floor((d.height - ov.height) / 2);
  return { left: Math.max(0, left), top: Math.max(0, top) };
}

const escapeXml = (s: string) =>
  // eslint-disable-next-line no-control-regex -- XML 1.0 forbids these characters: dropped, not escaped
  s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Text as SVG (librsvg through sharp). The canvas is sized from a generous per-glyph estimate, then trimmed to the
 * ink and shrunk if it would not fit, so no font metrics are needed here.
 */
async function textOverlay(o: Watermark, d: Dims, avail: Dims, env: OpEnv) {
  const text = o.text!;
  const chars = [...text].length;
  const wanted = Math.round((o.fontSize ?? 0.04) * d.width);
  let px = Math.max(
    6,
    Math.min(wanted, MAX_FONT_PX, Math.floor(avail.height / 1.4), Math.floor(avail.width / (0.6 * chars))),
  );
  // The canvas is rendered whole: keep it to a quarter of the pixel budget, whatever the text length.
  const area = (chars * 1.1 + 1) * 1.6 * px * px;
  if (area > env.maxPixels / 4) px = Math.max(6, Math.floor(px * Math.sqrt(env.maxPixels / 4 / area)));
  const width = Math.ceil(chars * px * 1.1 + px);
  const height = Math.ceil(px * 1.6);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<text x="${Math.round(px / 2)}" y="${Math.round(px * 1.2)}" font-family="${FONT}" font-size="${px}" ` +
    `fill="${o.color ?? '#ffffff'}" fill-opacity="${o.opacity ?? 0.6}">${escapeXml(text)}</text></svg>`;
  const trimmed = await sharp(Buffer.from(svg), { limitInputPixels: env.maxPixels })
    .trim({ threshold: 0 })
    .png()
    .toBuffer();
  return fitInside(trimmed, avail, env);
}

/** An image watermark, `scale` × image width (default 20%), its alpha multiplied by `opacity`. */
async function imageOverlay(o: Watermark, d: Dims, avail: Dims, env: OpEnv) {
  const source = o.image!;
  const bytes = 'base64' in source ? Buffer.from(source.base64, 'base64') : await env.resolveImage(source.sha256);
  const width = Math.max(1, Math.min(avail.width, Math.round(d.width * (o.scale ?? 0.2))));
  let img = sharp(bytes, { limitInputPixels: env.maxPixels })
    .resize({ width, height: avail.height, fit: 'inside' })
    .ensureAlpha();
  const opacity = o.opacity ?? 1;
  if (opacity < 1) {
    // dest-in with a tiled 1x1 of alpha `opacity` scales the overlay's own alpha, all inside libvips.
    const veil = {
      create: { width: 1, height: 1, channels: 4 as const, background: { r: 0, g: 0, b: 0, alpha: opacity } },
    };
    img = img.composite([{ input: veil, tile: true, blend: 'dest-in' }]);
  }
  try {
    return await img.png().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw watermarkImageError(err, env);
  }
}

async function fitInside(png: Buffer, avail: Dims, env: OpEnv) {
  const img = sharp(png, { limitInputPixels: env.maxPixels });
  const meta = await img.metadata();
  if (meta.width <= avail.width && meta.height <= avail.height)
    return { data: png, info: { width: meta.width, height: meta.height } };
  return img
    .resize({ width: avail.width, height: avail.height, fit: 'inside' })
    .png()
    .toBuffer({ resolveWithObject: true });
}

function watermarkImageError(err: unknown, env: OpEnv): PostprocessError {
  const message = (err as Error).message;
  if (/pixel limit/i.test(message)) {
    return new PostprocessError({
      code: 'payload_too_large',
      message: `watermark image exceeds the ${env.maxPixels}-pixel limit`,
      cause: err,
    });
  }
  return new PostprocessError({
    code: 'validation_failed',
    message: `watermark image could not be read: ${message}`,
    cause: err,
  });
}
