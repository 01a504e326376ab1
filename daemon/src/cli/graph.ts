import crypto from 'node:crypto';
import fs from 'node:fs';
import { type ComfyGraph, isUiWorkflow, UI_WORKFLOW_HINT } from '@comfygate/shared';
import { CliError } from './context.js';
import { fromInvocation } from './cwd.js';

export const DEFAULT_CKPT = 'v1-5-pruned-emaonly.safetensors';

export interface GraphParams {
  prompt?: string;
  negative?: string;
  seed?: number;
  steps?: number;
  width?: number;
  height?: number;
  ckpt?: string;
}

/** ComfyUI seeds are unsigned 64-bit; 2^48 keeps them exact in JSON numbers and is plenty of variety. */
export const randomSeed = (): number => crypto.randomInt(0, 2 ** 48 - 1);

/** The reference txt2img graph (test/helpers/graphs.ts shape) with defaults a person would pick. */
export function txt2imgGraph(p: GraphParams & { prompt: string }): ComfyGraph {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: p.ckpt ?? DEFAULT_CKPT } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: p.width ?? 512, height: p.height ?? 512, batch_size: 1 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: p.prompt, clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: p.negative ?? 'blurry, low quality', clip: ['4', 1] } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: p.seed ?? randomSeed(),
        steps: p.steps ?? 20,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'comfygate', images: ['8', 0] } },
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads an API-format graph; a UI-format workflow (what "Save" writes) gets a message saying how to export. */
export function readGraphFile(file: string): ComfyGraph {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(fromInvocation(file), 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read graph ${file}: ${(err as Error).message}`);
  }
  if (isUiWorkflow(parsed)) throw new CliError(`${file}: ${UI_WORKFLOW_HINT}`);
  // A ComfyUI /prompt request body wraps the graph in { prompt: ... }; accept that too.
  const graph = isObject(parsed) && isObject(parsed.prompt) ? parsed.prompt : parsed;
  if (
    !isObject(graph) ||
    Object.keys(graph).length === 0 ||
    !Object.values(graph).every((n) => isObject(n) && typeof n.class_type === 'string')
  ) {
    throw new CliError(
      `${file} is not an API-format ComfyUI graph (an object of nodes with class_type and inputs); export with 'Save (API)' in ComfyUI`,
    );
  }
  return graph as ComfyGraph;
}

const SAMPLERS = new Set(['KSampler', 'KSamplerAdvanced']);

/**
 * Applies the flags a person gave explicitly to a loaded graph, so `--seed 5` works on any txt2img-like
 * export. Only inputs that already hold a literal value are replaced; links are never rewritten.
 * Returns the params that found no input, so the caller can say they were ignored.
 */
export function applyParams(graph: ComfyGraph, p: GraphParams): (keyof GraphParams)[] {
  const applied = new Set<keyof GraphParams>();
  const set = (id: string, input: string, param: keyof GraphParams) => {
    const node = graph[id]!;
    if (p[param] === undefined || !(input in node.inputs) || Array.isArray(node.inputs[input])) return;
    node.inputs[input] = p[param];
    applied.add(param);
  };
  for (const [id, node] of Object.entries(graph)) {
    if (SAMPLERS.has(node.class_type))
      (set(id, 'seed', 'seed'), set(id, 'noise_seed', 'seed'), set(id, 'steps', 'steps'));
    if (node.class_type === 'EmptyLatentImage') (set(id, 'width', 'width'), set(id, 'height', 'height'));
    if (node.class_type === 'CheckpointLoaderSimple') set(id, 'ckpt_name', 'ckpt');
  }
  for (const role of ['positive', 'negative'] as const) {
    const param = role === 'positive' ? 'prompt' : 'negative';
    if (p[param] === undefined) continue;
    const target = textNodeFor(graph, role);
    if (!target)
      throw new CliError(
        `the graph has no ${role} CLIPTextEncode wired to a KSampler, so the ${param} text cannot be applied`,
      );
    set(target, 'text', param);
  }
  return (Object.keys(p) as (keyof GraphParams)[]).filter((k) => p[k] !== undefined && !applied.has(k));
}

function textNodeFor(graph: ComfyGraph, role: 'positive' | 'negative'): string | null {
  for (const node of Object.values(graph)) {
    const link = SAMPLERS.has(node.class_type) ? node.inputs[role] : undefined;
    const id = Array.isArray(link) ? String(link[0]) : null;
    if (id && graph[id]?.class_type === 'CLIPTextEncode') return id;
  }
  return null;
}
