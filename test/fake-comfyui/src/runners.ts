// What each node class "computes" in the fake: sizes and colour keys flow through the graph, loaders check
// that their model still exists, the sampler takes steps*stepMs and reports progress, savers write PNGs.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { PyException } from './coerce.js';
import { annotatedPath } from './files.js';
import {
  renderPng,
  renderPreviewJpeg,
  samplerColorKey,
  saveImages,
  tempPrefixAppend,
  type FileRef,
  type ImageDesc,
} from './outputs.js';
import { PyFloat, dumpJson, isDict, pyStr, toNumber, type PyDict, type PyValue } from './pyjson.js';
import { MEDIA_RUNNERS } from './media.js';
import type { ServerState } from './state.js';

export interface PreviewFrame {
  format: 'JPEG' | 'PNG';
  bytes: Buffer;
}

/** What a runner may do besides computing: wait (abortably) and report progress (interruptibly). */
export interface RunContext {
  nodeId: string;
  state: ServerState;
  prompt: PyDict;
  extraData: PyDict;
  sleep(ms: number): Promise<void>;
  progress(value: number, max: number, preview?: PreviewFrame, samplerStep?: boolean): Promise<void>;
}

export interface NodeResult {
  outputs: unknown[];
  ui?: PyDict;
}

type Inputs = Record<string, unknown>;
type Runner = (rt: RunContext, inputs: Inputs) => Promise<NodeResult>;

interface ModelRef {
  kind: 'MODEL' | 'CLIP' | 'VAE' | 'UPSCALE_MODEL';
  name: string;
  scale?: number;
}
interface Cond {
  kind: 'CONDITIONING';
  text: string;
}
type Pixels = ImageDesc & { kind: 'IMAGE' | 'LATENT' };

const num = (v: unknown, fallback = 0): number => toNumber(v) ?? fallback;
const floor8 = (v: number): number => Math.max(8, Math.floor(v / 8) * 8);

function pixels(v: unknown): Pixels {
  if (typeof v === 'object' && v !== null && 'width' in v) return v as Pixels;
  return { kind: 'IMAGE', width: 512, height: 512, batch: 1, colorKey: 'missing' };
}

function requireModel(rt: RunContext, folder: string, name: unknown): string {
  const file = pyStr(name);
  if (!rt.state.models.has(folder, file)) {
    throw new PyException('FileNotFoundError', `Model in folder '${folder}' with filename '${file}' not found.`);
  }
  return file;
}

/** PNG tEXt entries: `prompt` plus one per extra_pnginfo key, JSON like json.dumps. */
function metadata(rt: RunContext): Array<[string, string]> {
  const entries: Array<[string, string]> = [['prompt', dumpJson(rt.prompt)]];
  const info = rt.extraData.extra_pnginfo;
  if (isDict(info)) for (const [k, v] of Object.entries(info)) entries.push([k, dumpJson(v as PyValue)]);
  return entries;
}

async function ksampler(rt: RunContext, inp: Inputs): Promise<NodeResult> {
  const latent = pixels(inp.latent_image);
  const steps = Math.max(1, num(inp.steps, 1));
  const seed = typeof inp.seed === 'bigint' ? inp.seed : num(inp.seed);
  const text = (inp.positive as Cond | undefined)?.text ?? '';
  const out: Pixels = {
    ...latent,
    kind: 'LATENT',
    colorKey: samplerColorKey(seed, text),
    label: { prompt: text, seed: String(seed) },
  };
  const preview =
    rt.state.previewMethod === 'auto' ? { format: 'JPEG' as const, bytes: await renderPreviewJpeg(out) } : undefined;
  for (let i = 1; i <= steps; i++) {
    await rt.sleep(rt.state.stepMs);
    await rt.progress(i, steps, preview, true);
  }
  return { outputs: [out] };
}

async function saveTo(rt: RunContext, images: unknown, temp: boolean, prefix: string): Promise<NodeResult> {
  const refs: FileRef[] = await saveImages({
    desc: pixels(images),
    baseDir: temp ? rt.state.dirs.temp : rt.state.dirs.output,
    prefix: temp ? `ComfyUI${tempPrefixAppend()}` : prefix,
    type: temp ? 'temp' : 'output',
    compressionLevel: temp ? 1 : 4,
    text: metadata(rt),
    style: rt.state.imageStyle,
  });
  return { outputs: [], ui: { images: refs as unknown as PyValue[] } };
}

async function saveWebsocket(rt: RunContext, inp: Inputs): Promise<NodeResult> {
  const desc = pixels(inp.images);
  for (let i = 0; i < desc.batch; i++) {
    const bytes = await renderPng(desc, i, 1, []);
    await rt.progress(i, desc.batch, { format: 'PNG', bytes });
  }
  return { outputs: [], ui: {} };
}

async function loadImage(rt: RunContext, inp: Inputs): Promise<{ image: Pixels; w: number; h: number }> {
  const name = pyStr(inp.image);
  const file = annotatedPath(rt.state.dirs, name);
  if (!file || !(await stat(file).catch(() => null))?.isFile()) {
    throw new PyException('FileNotFoundError', `[Errno 2] No such file or directory: '${file ?? name}'`);
  }
  const buf = await readFile(file);
  const meta = await sharp(buf)
    .metadata()
    .catch(() => null);
  if (!meta?.width || !meta.height) {
    throw new PyException('PIL.UnidentifiedImageError', `cannot identify image file '${file}'`);
  }
  const colorKey = `file:${createHash('sha256').update(buf).digest('hex')}`;
  return {
    image: { kind: 'IMAGE', width: meta.width, height: meta.height, batch: 1, colorKey },
    w: meta.width,
    h: meta.height,
  };
}

/** LatentUpscale's size rule: 0 keeps the aspect ratio, everything at least 64 px. */
function latentTarget(src: Pixels, width: number, height: number): [number, number] {
  if (width === 0 && height === 0) return [src.width, src.height];
  if (width === 0)
    return [Math.max(64, Math.round((src.width * Math.max(64, height)) / src.height)), Math.max(64, height)];
  if (height === 0)
    return [Math.max(64, width), Math.max(64, Math.round((src.height * Math.max(64, width)) / src.width))];
  return [Math.max(64, width), Math.max(64, height)];
}

/** ImageScale's size rule: 0 keeps the aspect ratio. */
function imageTarget(src: Pixels, width: number, height: number): [number, number] {
  if (width === 0 && height === 0) return [src.width, src.height];
  if (width === 0) return [Math.max(1, Math.round((src.width * height) / src.height)), height];
  if (height === 0) return [width, Math.max(1, Math.round((src.height * width) / src.width))];
  return [width, height];
}

const RUNNERS: Record<string, Runner> = {
  CheckpointLoaderSimple: async (rt, inp) => {
    const name = requireModel(rt, 'checkpoints', inp.ckpt_name);
    return { outputs: (['MODEL', 'CLIP', 'VAE'] as const).map((kind): ModelRef => ({ kind, name })) };
  },
  LoraLoader: async (rt, inp) => {
    if (num(inp.strength_model) !== 0 || num(inp.strength_clip) !== 0) requireModel(rt, 'loras', inp.lora_name);
    return { outputs: [inp.model, inp.clip] };
  },
  UpscaleModelLoader: async (rt, inp) => {
    const name = requireModel(rt, 'upscale_models', inp.model_name);
    const scale = Number(/(\d+)x/i.exec(name)?.[1] ?? 4) || 4;
    return { outputs: [{ kind: 'UPSCALE_MODEL', name, scale } satisfies ModelRef] };
  },
  CLIPTextEncode: async (_rt, inp) => ({ outputs: [{ kind: 'CONDITIONING', text: pyStr(inp.text) } satisfies Cond] }),
  EmptyLatentImage: async (_rt, inp) => {
    const latent: Pixels = {
      kind: 'LATENT',
      width: floor8(num(inp.width, 512)),
      height: floor8(num(inp.height, 512)),
      batch: Math.max(1, num(inp.batch_size, 1)),
      colorKey: 'empty',
    };
    return { outputs: [latent] };
  },
  KSampler: ksampler,
  VAEDecode: async (_rt, inp) => ({ outputs: [{ ...pixels(inp.samples), kind: 'IMAGE' }] }),
  VAEEncode: async (_rt, inp) => {
    const src = pixels(inp.pixels);
    return { outputs: [{ ...src, kind: 'LATENT', width: floor8(src.width), height: floor8(src.height) }] };
  },
  VAEEncodeForInpaint: async (_rt, inp) => {
    const src = pixels(inp.pixels);
    return { outputs: [{ ...src, kind: 'LATENT', width: floor8(src.width), height: floor8(src.height) }] };
  },
  SetLatentNoiseMask: async (_rt, inp) => ({ outputs: [pixels(inp.samples)] }),
  LatentUpscale: async (_rt, inp) => {
    const src = pixels(inp.samples);
    const [w, h] = latentTarget(src, num(inp.width), num(inp.height));
    return { outputs: [{ ...src, width: floor8(w), height: floor8(h) }] };
  },
  ImageScale: async (_rt, inp) => {
    const src = pixels(inp.image);
    const [w, h] = imageTarget(src, num(inp.width), num(inp.height));
    return { outputs: [{ ...src, width: w, height: h }] };
  },
  ImagePadForOutpaint: async (_rt, inp) => {
    const src = pixels(inp.image);
    const width = src.width + num(inp.left) + num(inp.right);
    const height = src.height + num(inp.top) + num(inp.bottom);
    return {
      outputs: [
        { ...src, kind: 'IMAGE', width, height },
        { kind: 'MASK', width, height },
      ],
    };
  },
  ImageUpscaleWithModel: async (_rt, inp) => {
    const src = pixels(inp.image);
    const scale = (inp.upscale_model as ModelRef | undefined)?.scale ?? 4;
    return { outputs: [{ ...src, width: src.width * scale, height: src.height * scale }] };
  },
  SaveImage: (rt, inp) => saveTo(rt, inp.images, false, pyStr(inp.filename_prefix ?? 'ComfyUI')),
  PreviewImage: (rt, inp) => saveTo(rt, inp.images, true, 'ComfyUI'),
  SaveImageWebsocket: saveWebsocket,
  LoadImage: async (rt, inp) => {
    const { image, w, h } = await loadImage(rt, inp);
    return { outputs: [image, { kind: 'MASK', width: w, height: h }] };
  },
  LoadImageMask: async (rt, inp) => {
    const { w, h } = await loadImage(rt, inp);
    return { outputs: [{ kind: 'MASK', width: w, height: h }] };
  },
};

/** extraNodes: IMAGE in, the same IMAGE out. */
const passthrough: Runner = async (_rt, inp) => ({ outputs: [{ ...pixels(inp.image), kind: 'IMAGE' }] });

export function runnerFor(classType: string): Runner {
  return RUNNERS[classType] ?? MEDIA_RUNNERS[classType] ?? passthrough;
}

/** format_value() of a resolved input for execution_error's current_inputs. */
export function formatInput(v: unknown): PyValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  if (v instanceof PyFloat) return v;
  if (typeof v === 'object' && 'kind' in v) {
    const kind = (v as { kind: string }).kind;
    const reprs: Record<string, string> = {
      MODEL: '<comfy.model_patcher.ModelPatcher object at 0x7f00c0ffee00>',
      CLIP: '<comfy.sd.CLIP object at 0x7f00c0ffee10>',
      VAE: '<comfy.sd.VAE object at 0x7f00c0ffee20>',
      UPSCALE_MODEL: '<spandrel.ImageModelDescriptor object at 0x7f00c0ffee30>',
      CONDITIONING: "[[tensor(...), {'pooled_output': tensor(...)}]]",
      LATENT: "{'samples': tensor(...)}",
    };
    return reprs[kind] ?? 'tensor(...)';
  }
  return pyStr(v);
}
