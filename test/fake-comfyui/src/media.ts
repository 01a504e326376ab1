// Runners of the model-free image nodes and of the output nodes that are not still images: animated WEBP and
// WEBM (ComfyUI reports them under `images` with `animated: [true]`), VideoHelperSuite's `gifs`, and
// PreviewAny's `text`. Files are small but real enough for their content type and magic bytes.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { colorForKey, saveImagePath, type ImageDesc } from './outputs.js';
import { pyStr, toNumber, type PyDict, type PyValue } from './pyjson.js';
import type { NodeResult, RunContext } from './runners.js';

type Pixels = ImageDesc & { kind: 'IMAGE' | 'LATENT' };
type Inputs = Record<string, unknown>;

const num = (v: unknown, fallback = 0): number => toNumber(v) ?? fallback;

function pixels(v: unknown): Pixels {
  if (typeof v === 'object' && v !== null && 'width' in v) return v as Pixels;
  return { kind: 'IMAGE', width: 512, height: 512, batch: 1, colorKey: 'missing' };
}

/** A WEBM's EBML header and DocType, then padding: enough for `file` and content sniffers. */
const WEBM_HEAD = Buffer.from([
  0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6d,
]);
/** GIF89a, 1x1, one colour, then the trailer: a valid (tiny) GIF. */
const GIF_1PX = Buffer.from('R0lGODlhAQABAIAAAAAAAP///ywAAAAAAQABAAACAUwAOw==', 'base64');
/** An ftyp box of an isom MP4. */
const MP4_HEAD = Buffer.concat([
  Buffer.from([0, 0, 0, 0x18]),
  Buffer.from('ftypisom'),
  Buffer.from([0, 0, 2, 0]),
  Buffer.from('isommp41'),
]);

async function fileBytes(ext: string, desc: ImageDesc): Promise<Buffer> {
  if (ext === 'webm') return Buffer.concat([WEBM_HEAD, Buffer.alloc(64)]);
  if (ext === 'mp4') return Buffer.concat([MP4_HEAD, Buffer.alloc(64)]);
  if (ext === 'gif') return GIF_1PX;
  const rgb = colorForKey(desc.colorKey);
  return sharp({ create: { width: desc.width, height: desc.height, channels: 3, background: rgb } })
    .webp({ lossless: true })
    .toBuffer();
}

/** One file named by the SaveImage counter rule, in output/. */
async function saveOne(rt: RunContext, prefix: string, ext: string, desc: ImageDesc): Promise<PyDict> {
  const target = await saveImagePath(prefix, rt.state.dirs.output, desc.width, desc.height);
  const name = `${target.filename}_${String(target.counter).padStart(5, '0')}_.${ext}`;
  await writeFile(path.join(target.fullFolder, name), await fileBytes(ext, desc));
  return { filename: name, subfolder: target.subfolder, type: 'output' };
}

const withKey = (p: Pixels, suffix: string): Pixels => ({ ...p, kind: 'IMAGE', colorKey: `${p.colorKey}|${suffix}` });

/** PreviewAny's str() of what it is given. */
function previewText(v: unknown): string {
  if (typeof v === 'object' && v !== null && 'kind' in v) return 'tensor(...)';
  return pyStr(v as PyValue);
}

const VHS_EXT: Record<string, string> = { 'image/gif': 'gif', 'image/webp': 'webp', 'video/h264-mp4': 'mp4' };

export const MEDIA_RUNNERS: Record<string, (rt: RunContext, inp: Inputs) => Promise<NodeResult>> = {
  EmptyImage: async (_rt, inp) => ({
    outputs: [
      {
        kind: 'IMAGE',
        width: Math.max(1, num(inp.width, 512)),
        height: Math.max(1, num(inp.height, 512)),
        batch: Math.max(1, num(inp.batch_size, 1)),
        colorKey: `color:${num(inp.color)}`,
      } satisfies Pixels,
    ],
  }),
  ImageBlur: async (_rt, inp) => ({ outputs: [withKey(pixels(inp.image), `blur:${num(inp.blur_radius, 1)}`)] }),
  ImageInvert: async (_rt, inp) => ({ outputs: [withKey(pixels(inp.image), 'invert')] }),
  PrimitiveInt: async (_rt, inp) => ({ outputs: [inp.value] }),
  PreviewAny: async (_rt, inp) => ({ outputs: [], ui: { text: [previewText(inp.source)] } }),
  SaveAnimatedWEBP: async (rt, inp) => {
    const ref = await saveOne(rt, pyStr(inp.filename_prefix ?? 'ComfyUI'), 'webp', pixels(inp.images));
    return { outputs: [], ui: { images: [ref], animated: [true] } };
  },
  SaveWEBM: async (rt, inp) => {
    const ref = await saveOne(rt, pyStr(inp.filename_prefix ?? 'ComfyUI'), 'webm', pixels(inp.images));
    return { outputs: [], ui: { images: [ref], animated: [true] } };
  },
  VHS_VideoCombine: async (rt, inp) => {
    const format = pyStr(inp.format ?? 'image/gif');
    const ref = await saveOne(
      rt,
      pyStr(inp.filename_prefix ?? 'AnimateDiff'),
      VHS_EXT[format] ?? 'gif',
      pixels(inp.images),
    );
    return {
      outputs: [[true, [ref.filename as string]]],
      ui: { gifs: [{ ...ref, format, frame_rate: num(inp.frame_rate, 8) }] },
    };
  },
};
