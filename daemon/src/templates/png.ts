/**
 * Reads the metadata ComfyUI writes into its PNGs (docs/comfyui-protocol.md §5.1): a `prompt` text chunk with the
 * API graph and, when the editor queued it, a `workflow` chunk with the UI workflow. Other `extra_pnginfo` keys
 * become chunks of their own. PIL writes tEXt; iTXt and zTXt are read too, since other tools re-save images.
 * Compressed text is inflated only for the keywords asked for (`prompt` and `workflow`), only once per keyword,
 * and within one budget for the whole file, so a small PNG of many compressed chunks cannot expand in memory.
 */
import zlib from 'node:zlib';
import { isSafeNumber, parse } from 'lossless-json';
import type { ComfyGraph } from '@comfygate/shared';
import { isUiWorkflow, type UiWorkflow } from './workflow.js';
import { crc32, PNG_SIGNATURE } from '../postprocess/png-text.js';

export class PngError extends Error {}

export interface PngChunk {
  type: string;
  data: Buffer;
}

export interface ComfyPngMetadata {
  prompt?: ComfyGraph;
  workflow?: UiWorkflow;
  /** Every text chunk, keyword → text, except compressed ones of other keywords than `prompt` and `workflow`. */
  text: Record<string, string>;
}

/**
 * How many bytes the compressed text of one PNG may inflate to, all chunks together: three times the JSON body
 * the daemon accepts by default (security.maxJsonBytes, 10 MiB), which bounds a graph or workflow sent as JSON.
 */
export const MAX_INFLATED_TEXT_BYTES = 32 * 1024 * 1024;

/** The keywords whose compressed text is inflated; compressed chunks of other keywords are skipped unread. */
export const COMFY_TEXT_KEYS: readonly string[] = ['prompt', 'workflow'];

export interface PngTextOptions {
  /** Keywords whose zTXt / compressed iTXt text is inflated (default `prompt`, `workflow`). */
  inflate?: readonly string[];
  /** Total inflated bytes allowed over the whole file (default MAX_INFLATED_TEXT_BYTES); beyond it a PngError. */
  maxInflatedBytes?: number;
}

/** All chunks up to IEND, each checked against its CRC. */
export function readPngChunks(png: Buffer): PngChunk[] {
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new PngError('not a PNG file (bad signature)');
  const chunks: PngChunk[] = [];
  let off = 8;
  while (off < png.length) {
    if (off + 12 > png.length) throw new PngError(`truncated chunk header at byte ${off}`);
    const length = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const end = off + 12 + length;
    if (end > png.length) throw new PngError(`chunk ${type} at byte ${off} runs past the end of the file`);
    const data = png.subarray(off + 8, off + 8 + length);
    if (crc32(png.subarray(off + 4, off + 8), data) !== png.readUInt32BE(off + 8 + length)) {
      throw new PngError(`chunk ${type} at byte ${off} fails its CRC check`);
    }
    chunks.push({ type, data });
    if (type === 'IEND') break;
    off = end;
  }
  return chunks;
}

const MiB = (n: number): string => `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`;

/** Inflates compressed text chunks against one shared budget of output bytes. */
class Inflater {
  private used = 0;

  constructor(private readonly limit: number) {}

  inflate(data: Buffer, what: string): Buffer {
    const left = this.limit - this.used;
    const tooMuch = () =>
      new PngError(`compressed text in the PNG inflates to more than ${MiB(this.limit)} (${what} passes the limit)`);
    let out: Buffer;
    try {
      // maxOutputLength stops zlib as soon as the output would pass what is left: nothing larger is allocated.
      out = zlib.inflateSync(data, { maxOutputLength: Math.max(left, 1) });
    } catch (err) {
      throw (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
        ? tooMuch()
        : new PngError(`cannot inflate ${what}: ${(err as Error).message}`);
    }
    if (out.length > left) throw tooMuch();
    this.used += out.length;
    return out;
  }
}

/**
 * [keyword, text] of a tEXt, zTXt or iTXt chunk; undefined for other chunk types, and for compressed text whose
 * keyword `wanted` rejects (left compressed and unread).
 */
function textChunk(
  chunk: PngChunk,
  wanted: (key: string) => boolean,
  inflater: Inflater,
): [string, string] | undefined {
  const { type, data } = chunk;
  if (type !== 'tEXt' && type !== 'zTXt' && type !== 'iTXt') return undefined;
  const nul = data.indexOf(0);
  if (nul < 0) throw new PngError(`${type} chunk without a keyword terminator`);
  const key = data.toString('latin1', 0, nul);
  if (type === 'tEXt') return [key, data.toString('latin1', nul + 1)];
  if (type === 'zTXt')
    return wanted(key)
      ? [key, inflater.inflate(data.subarray(nul + 2), `zTXt '${key}'`).toString('latin1')]
      : undefined;
  // iTXt: keyword NUL, compression flag, method, language tag NUL, translated keyword NUL, UTF-8 text.
  const compressed = data[nul + 1] === 1;
  if (compressed && !wanted(key)) return undefined;
  const langEnd = data.indexOf(0, nul + 3);
  const transEnd = langEnd < 0 ? -1 : data.indexOf(0, langEnd + 1);
  if (transEnd < 0) throw new PngError(`iTXt '${key}' is malformed`);
  const body = data.subarray(transEnd + 1);
  return [key, (compressed ? inflater.inflate(body, `iTXt '${key}'`) : body).toString('utf8')];
}

/**
 * Keyword → text of the PNG's text chunks (the first chunk of a keyword wins). Uncompressed text is always read;
 * compressed text only for `opts.inflate` keywords not already read, within `opts.maxInflatedBytes` in total.
 */
export function readPngText(png: Buffer, opts: PngTextOptions = {}): Record<string, string> {
  const keys = new Set(opts.inflate ?? COMFY_TEXT_KEYS);
  const inflater = new Inflater(opts.maxInflatedBytes ?? MAX_INFLATED_TEXT_BYTES);
  const out: Record<string, string> = {};
  const wanted = (key: string) => keys.has(key) && !Object.hasOwn(out, key);
  for (const chunk of readPngChunks(png)) {
    const entry = textChunk(chunk, wanted, inflater);
    if (entry && !Object.hasOwn(out, entry[0])) out[entry[0]] = entry[1];
  }
  return out;
}

/** JSON with integers above 2^53 kept exact as bigint (seeds go up to 2^64-1). */
/**
 * Deeper than any graph or workflow ComfyUI writes (a few levels; subgraphs are listed, not nested). A text nested
 * thousands deep parses, then overflows the stack wherever it is walked or written back (a 500), so it is refused
 * by a scan first. JSON bodies are bounded by the HTTP layer; these texts come out of an image.
 */
export const MAX_TEXT_DEPTH = 128;

function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // an escaped character, a quote included
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function parseJson(text: string, key: string): unknown {
  if (nestedDeeperThan(text, MAX_TEXT_DEPTH))
    throw new PngError(`the '${key}' chunk is nested deeper than ${MAX_TEXT_DEPTH} levels`);
  try {
    return parse(text, undefined, (v) => (isSafeNumber(v) ? Number(v) : /^-?\d+$/.test(v) ? BigInt(v) : Number(v)));
  } catch (err) {
    throw new PngError(`the '${key}' chunk is not valid JSON: ${(err as Error).message}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isApiGraph(value: unknown): value is ComfyGraph {
  return (
    isObject(value) &&
    Object.values(value).every((n) => isObject(n) && typeof n.class_type === 'string' && isObject(n.inputs))
  );
}

/** What each of the `prompt` and `workflow` texts holds: the parsed value, or why it cannot be used. */
export interface ComfyTexts {
  prompt?: ComfyGraph;
  workflow?: UiWorkflow;
  problems: { prompt?: string; workflow?: string };
}

/**
 * Parses ComfyUI's `prompt` and `workflow` texts (from PNG chunks or WEBP EXIF) each on its own, so a damaged
 * one does not hide a good one. An empty `prompt` (`{}`) is a problem: there is nothing to run in it.
 */
export function comfyTexts(text: Record<string, string>): ComfyTexts {
  const out: ComfyTexts = { problems: {} };
  const parsed = (key: 'prompt' | 'workflow') => {
    try {
      return parseJson(text[key]!, key);
    } catch (err) {
      if (!(err instanceof PngError)) throw err;
      out.problems[key] = err.message;
      return undefined;
    }
  };
  if (text.prompt !== undefined) {
    const prompt = parsed('prompt');
    if (prompt !== undefined && !isApiGraph(prompt))
      out.problems.prompt = "the 'prompt' chunk is not an API-format graph";
    else if (prompt !== undefined && Object.keys(prompt).length === 0)
      out.problems.prompt = "the 'prompt' chunk is an empty graph ({})";
    else if (prompt !== undefined) out.prompt = prompt as ComfyGraph;
  }
  if (text.workflow !== undefined) {
    const workflow = parsed('workflow');
    if (workflow !== undefined && !isUiWorkflow(workflow))
      out.problems.workflow = "the 'workflow' chunk is not a UI workflow (no nodes array)";
    else if (workflow !== undefined) out.workflow = workflow as UiWorkflow;
  }
  return out;
}

/** The `prompt` (API graph) and `workflow` (UI workflow) a ComfyUI PNG carries, when present. */
export function readComfyPng(png: Buffer, opts: Pick<PngTextOptions, 'maxInflatedBytes'> = {}): ComfyPngMetadata {
  const text = readPngText(png, { ...opts, inflate: COMFY_TEXT_KEYS });
  const out: ComfyPngMetadata = { text };
  if (text.prompt !== undefined) {
    const prompt = parseJson(text.prompt, 'prompt');
    if (!isApiGraph(prompt)) throw new PngError("the 'prompt' chunk is not an API-format graph");
    out.prompt = prompt;
  }
  if (text.workflow !== undefined) {
    const workflow = parseJson(text.workflow, 'workflow');
    if (!isUiWorkflow(workflow)) throw new PngError("the 'workflow' chunk is not a UI workflow (no nodes array)");
    out.workflow = workflow;
  }
  return out;
}
