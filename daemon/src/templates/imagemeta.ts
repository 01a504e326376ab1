/**
 * The ComfyUI metadata of an image saved by ComfyUI: PNG text chunks (SaveImage) or WEBP EXIF (the animated
 * savers), each of `prompt` and `workflow` parsed on its own (comfyTexts).
 */
import sharp from 'sharp';
import { readExifTexts } from './exif.js';
import { PNG_SIGNATURE } from '../postprocess/png-text.js';
import { comfyTexts, COMFY_TEXT_KEYS, PngError, readPngText, type ComfyTexts } from './png.js';

const isWebp = (b: Buffer) =>
  b.length >= 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP';
export const isComfyImage = (b: Buffer): boolean => b.subarray(0, 8).equals(PNG_SIGNATURE) || isWebp(b);

/** Throws PngError when the bytes are neither a readable PNG nor a WEBP. */
export async function readComfyImage(bytes: Buffer): Promise<ComfyTexts & { format: 'png' | 'webp' }> {
  if (!isWebp(bytes)) return { ...comfyTexts(readPngText(bytes, { inflate: COMFY_TEXT_KEYS })), format: 'png' };
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch((err: Error) => {
      throw new PngError(`not a readable WEBP: ${err.message}`);
    });
  return { ...comfyTexts(meta.exif ? readExifTexts(meta.exif) : {}), format: 'webp' };
}
