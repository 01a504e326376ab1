// input/output/temp directories and the path rules ComfyUI applies to them: annotated names
// ("x.png [output]"), GET /view's checks in order (§2.8), and uploads with hash dedupe and renaming (§2.9).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { insertTextChunks, readPngText } from './png.js';
import { isDict, parseJson } from './pyjson.js';

export type DirType = 'input' | 'output' | 'temp';

export interface Dirs {
  root: string;
  input: string;
  output: string;
  temp: string;
}

export function dirsFor(root: string): Dirs {
  return { root, input: path.join(root, 'input'), output: path.join(root, 'output'), temp: path.join(root, 'temp') };
}

export function directoryByType(dirs: Dirs, type: string): string | undefined {
  return type === 'input' || type === 'output' || type === 'temp' ? dirs[type] : undefined;
}

/** commonpath((abspath(p), base)) == base */
export function isInside(base: string, p: string): boolean {
  const rel = path.relative(base, path.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** folder_paths.annotated_filepath, including its slicing (it drops one char before the tag). */
export function annotated(dirs: Dirs, name: string): { name: string; dir: string | undefined } {
  if (name.endsWith('[output]')) return { name: name.slice(0, -9), dir: dirs.output };
  if (name.endsWith('[input]')) return { name: name.slice(0, -8), dir: dirs.input };
  if (name.endsWith('[temp]')) return { name: name.slice(0, -7), dir: dirs.temp };
  return { name, dir: undefined };
}

/**
 * get_annotated_filepath, defaulting to input/. Unlike ComfyUI we refuse paths that leave the base
 * directory (ComfyUI would happily join an absolute or ../ path; a test fake has no reason to).
 */
export function annotatedPath(dirs: Dirs, value: string): string | undefined {
  const a = annotated(dirs, value);
  const base = a.dir ?? dirs.input;
  const full = path.join(base, a.name);
  return isInside(base, full) ? full : undefined;
}

export function annotatedExists(dirs: Dirs, value: string): boolean {
  const p = annotatedPath(dirs, value);
  return p !== undefined && existsSync(p);
}

const IMAGE_EXTS = new Set([
  '.png',
  '.jpg',
  '.jpeg',
  '.jpe',
  '.webp',
  '.gif',
  '.bmp',
  '.tif',
  '.tiff',
  '.ico',
  '.svg',
  '.avif',
  '.heic',
  '.heif',
  '.jxl',
  '.pbm',
  '.pgm',
  '.ppm',
  '.pnm',
  '.ras',
  '.xbm',
  '.xpm',
  '.xwd',
  '.ief',
  '.rgb',
]);

/** Sorted top-level files of input/ (LoadImage filters to image types by extension, like mimetypes). */
export function listInputFiles(dirs: Dirs, imagesOnly: boolean): string[] {
  let names: string[];
  try {
    names = readdirSync(dirs.input).filter((n) => statSync(path.join(dirs.input, n)).isFile());
  } catch {
    return [];
  }
  if (imagesOnly) names = names.filter((n) => IMAGE_EXTS.has(path.extname(n).toLowerCase()));
  return names.sort();
}

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.svg': 'image/svg+xml',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.avif': 'image/avif',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/x-wav',
  '.flac': 'audio/flac',
  '.ogg': 'audio/ogg',
  '.glb': 'model/gltf-binary',
  '.latent': '',
};

/** mimetypes.guess_type, with html/js/css forced to a download like ComfyUI's /view. */
export function contentTypeFor(filename: string): string {
  const ext = path.extname(filename).toLowerCase();
  if (['.html', '.htm', '.xhtml', '.js', '.mjs', '.css'].includes(ext)) return 'application/octet-stream';
  return CONTENT_TYPES[ext] || 'application/octet-stream';
}

export type ViewResolution = { status: 400 | 403 | 404 } | { status: 200; file: string; filename: string };

/** The checks of GET /view, in ComfyUI's order. */
export function resolveView(dirs: Dirs, query: URLSearchParams): ViewResolution {
  const raw = query.get('filename');
  if (raw === null) return { status: 404 };
  const a = annotated(dirs, raw);
  if (!a.name) return { status: 400 };
  if (a.name.startsWith('/') || a.name.includes('..')) return { status: 400 };
  let dir = a.dir ?? directoryByType(dirs, query.get('type') ?? 'output');
  if (dir === undefined) return { status: 400 };
  const subfolder = query.get('subfolder');
  if (subfolder !== null) {
    const full = path.join(dir, subfolder);
    if (path.isAbsolute(subfolder) || !isInside(dir, full)) return { status: 403 };
    dir = full;
  }
  const filename = path.basename(a.name);
  const file = path.join(dir, filename);
  try {
    if (!statSync(file).isFile()) return { status: 404 };
  } catch {
    return { status: 404 };
  }
  return { status: 200, file, filename };
}

/** preview=<fmt>[;q] or channel=rgb|a re-encodings of /view; undefined means "send the raw file". */
export async function transformView(
  file: string,
  query: URLSearchParams,
): Promise<{ body: Buffer; type: string } | undefined> {
  const preview = query.get('preview');
  if (preview !== null) {
    const rawChannel = query.get('channel') ?? '';
    const parts = preview.split(';');
    let fmt = parts[0] ?? '';
    if (!['webp', 'jpeg'].includes(fmt) || rawChannel.includes('a')) fmt = 'webp';
    const last = parts[parts.length - 1] ?? '';
    const quality = /^\d+$/.test(last) ? Math.min(100, Math.max(1, Number(last))) : 90;
    let img = sharp(file);
    if (fmt === 'jpeg' || rawChannel === 'rgb') img = img.removeAlpha();
    const body = fmt === 'jpeg' ? await img.jpeg({ quality }).toBuffer() : await img.webp({ quality }).toBuffer();
    return { body, type: `image/${fmt}` };
  }
  const channel = query.get('channel') ?? 'rgba';
  if (channel === 'rgb') return { body: await sharp(file).removeAlpha().png().toBuffer(), type: 'image/png' };
  if (channel === 'a') {
    const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const out = Buffer.alloc(info.width * info.height * 4);
    for (let i = 0; i < info.width * info.height; i++) out[i * 4 + 3] = data[i * 4 + 3] as number;
    const body = await sharp(out, { raw: { width: info.width, height: info.height, channels: 4 } })
      .png()
      .toBuffer();
    return { body, type: 'image/png' };
  }
  return undefined;
}

export interface UploadResult {
  status: number;
  json?: { name: string; subfolder: string; type: string };
}

type MaskSaver = (filepath: string, content: Buffer) => Promise<void>;

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** server.image_upload: pick the directory, rename on collision unless identical or overwrite. */
export async function uploadImage(dirs: Dirs, form: FormData, saver?: MaskSaver): Promise<UploadResult> {
  const image = form.get('image');
  const overwrite = form.get('overwrite');
  const typeField = form.get('type');
  const type = typeField === null ? 'input' : String(typeField);
  const uploadDir = directoryByType(dirs, type);
  if (uploadDir === undefined) return { status: 500 }; // ComfyUI hits an UnboundLocalError here
  if (image === null) return { status: 400 };
  if (typeof image === 'string') return { status: 500 }; // image.file on a plain field raises
  let filename = image.name;
  if (!filename) return { status: 400 };
  const subfolder = String(form.get('subfolder') ?? '');
  const folder = path.resolve(uploadDir, path.posix.normalize(subfolder || '.'));
  let filepath = path.resolve(folder, filename);
  if (!isInside(uploadDir, filepath)) return { status: 400 };
  await mkdir(folder, { recursive: true });
  const content = Buffer.from(await image.arrayBuffer());
  let duplicate = false;
  if (!(overwrite === 'true' || overwrite === '1')) {
    const ext = path.extname(filename);
    const stem = filename.slice(0, filename.length - ext.length);
    const hash = sha256(content);
    for (let i = 1; existsSync(filepath); i++) {
      if (sha256(await readFile(filepath)) === hash) {
        duplicate = true;
        break;
      }
      filename = `${stem} (${i})${ext}`;
      filepath = path.join(folder, filename);
    }
  }
  if (!duplicate) {
    if (saver)
      await saver(filepath, content).catch(() => undefined); // errors inside the save step are dropped
    else await writeFile(filepath, content);
  }
  return { status: 200, json: { name: filename, subfolder, type } };
}

/** /upload/mask's save step: the original image with the uploaded image's alpha, text chunks kept. */
export function maskSaver(dirs: Dirs, originalRef: ReturnType<FormData['get']>): MaskSaver {
  return async (filepath, content) => {
    const ref = parseJson(String(originalRef));
    if (!isDict(ref) || typeof ref.filename !== 'string') return;
    const a = annotated(dirs, ref.filename);
    if (!a.name || a.name.startsWith('/') || a.name.includes('..')) return;
    let dir = a.dir ?? directoryByType(dirs, typeof ref.type === 'string' ? ref.type : 'output');
    if (dir === undefined) return;
    if (typeof ref.subfolder === 'string' && ref.subfolder !== '') {
      const full = path.resolve(dir, ref.subfolder);
      if (!isInside(dir, full)) return;
      dir = full;
    }
    const original = path.join(dir, a.name);
    if (!(await stat(original)).isFile()) return;
    const origBuf = await readFile(original);
    const meta = await sharp(origBuf).metadata();
    const alpha = await sharp(content)
      .ensureAlpha()
      .extractChannel(3)
      .resize(meta.width, meta.height, { fit: 'fill' })
      .raw()
      .toBuffer();
    const rgb = await sharp(origBuf).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const png = await sharp(rgb.data, { raw: { width: rgb.info.width, height: rgb.info.height, channels: 3 } })
      .joinChannel(alpha, { raw: { width: rgb.info.width, height: rgb.info.height, channels: 1 } })
      .png({ compressionLevel: 4 })
      .toBuffer();
    let text: Array<[string, string]>;
    try {
      text = Object.entries(readPngText(origBuf));
    } catch {
      text = []; // original was not a PNG: no text chunks to keep
    }
    await writeFile(filepath, insertTextChunks(png, text));
  };
}
