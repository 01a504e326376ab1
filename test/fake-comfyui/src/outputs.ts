// Image outputs: deterministic colours (so tests can tell which job made which file), real PNGs with
// tEXt metadata, and SaveImage's counter rule (§7.2, folder_paths.get_save_image_path).
import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { PyException } from './coerce.js';
import { type DemoLabel, renderDemo } from './demo-image.js';
import { insertTextChunks } from './png.js';

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** The fake's IMAGE / LATENT payload: pixel size, batch size and what decides the colour. */
export interface ImageDesc {
  width: number;
  height: number;
  batch: number;
  colorKey: string;
  /** What a sampler drew from: written on the picture in demo mode. */
  label?: DemoLabel;
}

/** `solid`: one deterministic colour per image (tests); `demo`: a gradient with the prompt written on it. */
export type ImageStyle = 'solid' | 'demo';

export interface FileRef {
  filename: string;
  subfolder: string;
  type: string;
}

/** Colour key of a sampled image: `${seed}|${positive prompt text}`. */
export function samplerColorKey(seed: number | bigint | string, text: string): string {
  return `${String(seed)}|${text}`;
}

export function colorForKey(key: string, batchIndex = 0): Rgb {
  const h = createHash('sha256')
    .update(batchIndex === 0 ? key : `${key}|${batchIndex}`)
    .digest();
  return { r: h[0] as number, g: h[1] as number, b: h[2] as number };
}

/** The solid colour of image `batchIndex` a KSampler with this seed and positive text produces. */
export function expectedColor(seed: number | bigint | string, text: string, batchIndex = 0): Rgb {
  return colorForKey(samplerColorKey(seed, text), batchIndex);
}

function solid(width: number, height: number, rgb: Rgb): ReturnType<typeof sharp> {
  return sharp({ create: { width, height, channels: 3, background: rgb } });
}

/** PNG of one batch image; no timestamps anywhere, so equal inputs give equal bytes. */
export async function renderPng(
  desc: ImageDesc,
  index: number,
  compressionLevel: number,
  text: Array<[string, string]>,
  style: ImageStyle = 'solid',
): Promise<Buffer> {
  const color = colorForKey(desc.colorKey, index);
  const image =
    style === 'demo' && desc.label
      ? renderDemo(desc.width, desc.height, color, colorForKey(`${desc.colorKey}|to`, index), desc.label)
      : solid(desc.width, desc.height, color);
  const png = await image.png({ compressionLevel }).toBuffer();
  return insertTextChunks(png, text);
}

/** Latent preview frame: a small JPEG (quality 95) of the colour being produced. */
export async function renderPreviewJpeg(desc: ImageDesc): Promise<Buffer> {
  const scale = Math.min(1, 512 / Math.max(desc.width, desc.height)) / 8;
  const w = Math.max(8, Math.round(desc.width * scale));
  const h = Math.max(8, Math.round(desc.height * scale));
  return solid(w, h, colorForKey(desc.colorKey)).jpeg({ quality: 95 }).toBuffer();
}

function computeVars(prefix: string, width: number, height: number): string {
  const now = new Date();
  const two = (n: number): string => String(n).padStart(2, '0');
  return prefix
    .replaceAll('%width%', String(width))
    .replaceAll('%height%', String(height))
    .replaceAll('%year%', String(now.getFullYear()))
    .replaceAll('%month%', two(now.getMonth() + 1))
    .replaceAll('%day%', two(now.getDate()))
    .replaceAll('%hour%', two(now.getHours()))
    .replaceAll('%minute%', two(now.getMinutes()))
    .replaceAll('%second%', two(now.getSeconds()));
}

function normpath(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** int() of the digits after the prefix, or 0 like the except branch of map_filename. */
function counterOf(name: string, prefixLen: number): [number, string] {
  const digits = name.slice(prefixLen + 1).split('_')[0] ?? '';
  const n = /^\s*[+-]?\d+\s*$/.test(digits) ? Number.parseInt(digits, 10) : 0;
  return [n, name.slice(0, prefixLen + 1)];
}

export interface SavePath {
  fullFolder: string;
  filename: string;
  counter: number;
  subfolder: string;
}

/** folder_paths.get_save_image_path: subfolder from the prefix, counter = highest existing + 1. */
export async function saveImagePath(
  prefixIn: string,
  baseDir: string,
  width: number,
  height: number,
): Promise<SavePath> {
  const prefix = prefixIn.includes('%') ? computeVars(prefixIn, width, height) : prefixIn;
  const norm = normpath(prefix);
  const subfolder = path.posix.dirname(norm) === '.' ? '' : path.posix.dirname(norm);
  const filename = path.posix.basename(norm);
  const fullFolder = path.resolve(baseDir, subfolder);
  const rel = path.relative(baseDir, fullFolder);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new PyException(
      'Exception',
      `**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: ${fullFolder}\n         output_dir: ${baseDir}`,
    );
  }
  const prefixLen = path.posix.basename(prefix).length;
  let counter = 1;
  try {
    let best = 0;
    for (const name of await readdir(fullFolder)) {
      const [n, p] = counterOf(name, prefixLen);
      if (p.slice(0, -1) === filename && p.endsWith('_') && n + 1 > best) best = n + 1;
    }
    counter = Math.max(1, best);
  } catch {
    await mkdir(fullFolder, { recursive: true });
  }
  return { fullFolder, filename, counter, subfolder };
}

export interface SaveRequest {
  desc: ImageDesc;
  baseDir: string;
  prefix: string;
  type: 'output' | 'temp';
  compressionLevel: number;
  text: Array<[string, string]>;
  style?: ImageStyle;
}

/** SaveImage.save_images: one PNG per batch image, counter incremented per image. */
export async function saveImages(req: SaveRequest): Promise<FileRef[]> {
  const { desc } = req;
  const target = await saveImagePath(req.prefix, req.baseDir, desc.width, desc.height);
  const refs: FileRef[] = [];
  let counter = target.counter;
  for (let i = 0; i < desc.batch; i++) {
    const name = `${target.filename.replaceAll('%batch_num%', String(i))}_${String(counter).padStart(5, '0')}_.png`;
    await writeFile(
      path.join(target.fullFolder, name),
      await renderPng(desc, i, req.compressionLevel, req.text, req.style),
    );
    refs.push({ filename: name, subfolder: target.subfolder, type: req.type });
    counter++;
  }
  return refs;
}

/** PreviewImage's prefix_append: "_temp_" + 5 letters from ComfyUI's (typo'd) alphabet. */
export function tempPrefixAppend(): string {
  const alphabet = 'abcdefghijklmnopqrstupvxyz';
  let s = '_temp_';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}
