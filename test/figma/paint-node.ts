import sharp, { type OverlayOptions } from 'sharp';
import type { DrawOp, Painter } from './fake-figma.js';

/** The fake's painter in Node: sharp composites the draw list onto a transparent canvas. */
export const sharpPainter: Painter = async (width, height, ops) => {
  const layers: OverlayOptions[] = [];
  for (const op of ops) {
    const x = Math.max(0, Math.round(op.x));
    const y = Math.max(0, Math.round(op.y));
    const w = Math.min(width, Math.round(op.x + op.w)) - x;
    const h = Math.min(height, Math.round(op.y + op.h)) - y;
    if (w <= 0 || h <= 0) continue;
    const input = op.image
      ? await sharp(op.image).resize(w, h, { fit: 'cover' }).png().toBuffer()
      : await sharp({ create: { width: w, height: h, channels: 4, background: rgba(op) } })
          .png()
          .toBuffer();
    layers.push({ input, left: x, top: y });
  }
  const png = await sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite(layers)
    .png()
    .toBuffer();
  return new Uint8Array(png);
};

const rgba = (op: DrawOp) => ({ r: op.rgba![0], g: op.rgba![1], b: op.rgba![2], alpha: op.rgba![3] / 255 });
