import path from 'node:path';
import sharp from 'sharp';
import type { z } from 'zod';
import { type PostprocessSpec, WatchPromptFile } from '@comfygate/shared';
import type { AssetFiles } from '../assets/files.js';
import { GatewayError } from '../errors.js';
import type { Store } from '../store/types.js';
import { describeIssue as describeValidationIssue } from '../validation.js';
import { InputError } from './input-error.js';
import { chunksOf, openWatched, readWatched, release } from './safefile.js';

/** text: `*.txt` (the prompt); json: `*.prompt.json`; image: png/jpeg/webp (with an optional `.prompt.txt` sidecar). */
export type InputKind = 'text' | 'json' | 'image';

export { InputError };

export interface ParsedInput {
  params: Record<string, unknown>;
  postprocess?: PostprocessSpec;
  /** The image's asset sha256 (stored like an upload). */
  image?: string;
}

export interface InputLimits {
  files: AssetFiles;
  store: Store;
  maxTextBytes: number;
  maxImageBytes: number;
  maxPixels: number;
}

const IMAGE_EXTS = ['png', 'jpg', 'jpeg', 'webp'];

export function kindOf(file: string): InputKind | null {
  const base = path.basename(file).toLowerCase();
  if (base.endsWith('.prompt.json')) return 'json';
  if (base.endsWith('.error.txt') || base.endsWith('.prompt.txt')) return null; // our reports; image sidecars
  if (base.endsWith('.txt')) return 'text';
  return IMAGE_EXTS.some((e) => base.endsWith(`.${e}`)) ? 'image' : null;
}

/** The input's name without its kind's suffix: `cat.prompt.json`, `cat.txt` and `cat.png` are all `cat`. */
export function stemOf(file: string): string {
  return path
    .basename(file)
    .replace(/\.prompt\.json$/i, '')
    .replace(/\.(txt|png|jpe?g|webp)$/i, '');
}

export const isSidecar = (file: string): boolean => /\.prompt\.txt$/i.test(file);
export const sidecarOf = (image: string): string => path.join(path.dirname(image), `${stemOf(image)}.prompt.txt`);
/** Images a sidecar may belong to (a changed sidecar re-runs its image). */
export const imagesOfSidecar = (sidecar: string): string[] => {
  const stem = path.basename(sidecar).replace(/\.prompt\.txt$/i, '');
  return IMAGE_EXTS.flatMap((e) => [e, e.toUpperCase()]).map((e) => path.join(path.dirname(sidecar), `${stem}.${e}`));
};

async function readText(root: string, file: string, max: number): Promise<string> {
  return (await readWatched(root, file, max)).toString('utf8').replace(/^\uFEFF/, '');
}

/** "(line 3, column 9)" for V8's "at position N", which is all JSON.parse says on Node 20. */
function where(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m) return '';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  return ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}

function describeIssue(i: z.core.$ZodIssue, raw: unknown): string {
  const hint =
    i.code === 'unrecognized_keys' ? ' (template parameters go under "params", e.g. {"params": {"steps": 30}})' : '';
  return `${describeValidationIssue(i, raw, '(file)')}${hint}`;
}

export function parsePromptJson(text: string): ParsedInput {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    throw new InputError(`not valid JSON: ${message}${where(text, message)}`);
  }
  const r = WatchPromptFile.safeParse(raw);
  if (!r.success) throw new InputError(r.error.issues.map((i) => describeIssue(i, raw)).join('; '));
  const { prompt, negative, params, postprocess, variants } = r.data;
  const out: ParsedInput = {
    params: { ...params, ...(prompt !== undefined ? { prompt } : {}), ...(negative !== undefined ? { negative } : {}) },
  };
  if (postprocess || variants) out.postprocess = postprocess ?? { variants: variants! };
  return out;
}

/** Same checks as an upload: sniffed by content, pixel count bounded. */
async function sniffImage(
  file: string,
  maxPixels: number,
): Promise<{ contentType: string; width: number; height: number }> {
  const meta = await sharp(file, { limitInputPixels: false })
    .metadata()
    .catch(() => null);
  const types: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
  const contentType = meta?.format ? types[meta.format] : undefined;
  if (!meta || !contentType || !meta.width || !meta.height)
    throw new InputError(`unsupported input: not a PNG, JPEG or WebP image (${meta?.format ?? 'unreadable'})`);
  const pixels = meta.width * meta.height * (meta.pages ?? 1);
  if (pixels > maxPixels)
    throw new InputError(`the image has ${pixels} pixels (${meta.width}x${meta.height}); the limit is ${maxPixels}`);
  return { contentType, width: meta.width, height: meta.height };
}

async function storeImage(root: string, file: string, l: InputLimits): Promise<string> {
  let info: Awaited<ReturnType<typeof sniffImage>> | undefined;
  const f = await openWatched(root, file, l.maxImageBytes);
  try {
    const inspect = async (tmp: string) => void (info = await sniffImage(tmp, l.maxPixels));
    const stored = await l.files.write(chunksOf(f, l.maxImageBytes), { maxBytes: l.maxImageBytes, inspect });
    await l.store.assets.upsert({ sha256: stored.sha256, bytes: stored.bytes, ...info!, createdAt: Date.now() });
    return stored.sha256;
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'payload_too_large') throw new InputError(err.message);
    // AssetFiles wraps what `inspect` or the source threw as storage_error: a file that is not an image, or one
    // refused while it was read, is the input's fault, not the disk's (and storage_error would retry it forever).
    const cause = err instanceof GatewayError ? err.cause : err;
    if (cause instanceof InputError) throw cause;
    throw err;
  } finally {
    release(f);
  }
}

/** Reads one input into template parameters. Throws InputError for anything wrong with the file. */
export async function readInput(root: string, file: string, kind: InputKind, l: InputLimits): Promise<ParsedInput> {
  if (kind === 'json') return parsePromptJson(await readText(root, file, l.maxTextBytes));
  if (kind === 'text') {
    const prompt = (await readText(root, file, l.maxTextBytes)).trim();
    if (!prompt) throw new InputError('the prompt file is empty');
    return { params: { prompt } };
  }
  const image = await storeImage(root, file, l);
  const side = await readText(root, sidecarOf(file), l.maxTextBytes).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  return { image, params: side?.trim() ? { prompt: side.trim() } : {} };
}
