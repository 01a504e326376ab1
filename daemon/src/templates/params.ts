/**
 * Finds a template's obvious parameters in an API graph (docs/architecture.md §3): prompt and negative through each
 * sampler's conditioning, seed/steps/cfg/guidance/sampler_name/scheduler/denoise where the sampler takes them
 * from, width/height/batch_size on the latent it starts from, checkpoint or diffusion model, LoRAs and loaded
 * images. Types, bounds and options come from /object_info. Rules that keep names unambiguous:
 * - Samplers are numbered in pipeline order: one fed (through any path) by another sampler comes after it;
 *   ties go by node id. The first sampler's names are plain (`seed`), the n-th gets `_n` (`seed_2`, `denoise_2`).
 * - The custom-sampling family keeps its settings on the nodes feeding the sampler: SamplerCustomAdvanced's
 *   noise (RandomNoise: `seed`), guider (BasicGuider, CFGGuider: prompts, `cfg`), sampler (KSamplerSelect:
 *   `sampler_name`) and sigmas (BasicScheduler: `steps`, `scheduler`, `denoise`); SamplerCustom's sampler and sigmas.
 * - `guidance` is the first node with a guidance input on the way from the positive conditioning to its text
 *   (FluxGuidance, else CLIPTextEncodeFlux): the value that reaches the model.
 * - An input is bound at most once: a prompt node shared by both passes of a hires fix is `prompt` only.
 * - A value linked from a Primitive* node is bound on that node's `value` input (shared seeds stay one).
 * - Only literal values are bound; anything still linked, or not declared by the class, is left alone.
 * - Checkpoints, diffusion models and images are numbered by node id (`checkpoint`, `checkpoint_2`; `model`,
 *   `model_2`; `image`, `image2`), LoRAs by their place in the chain from the loader (`lora1`,
 *   `lora1_strength_model`, `lora1_strength_clip`).
 */
import type { ComfyGraph, TemplateParam } from '@comfygate/shared';
import { comboOptions, findInput, specOptions, specType, type InputSpec, type ObjectInfo } from './objectInfo.js';
import { ancestors, byId, isLink, promptInputs, traceLatentSource, traceText } from './trace.js';

/**
 * Sampler classes, with the inputs whose source nodes hold more of its settings (the custom-sampling family).
 * Settings are looked up by input name on the sampler, then on those nodes in this order.
 */
const SAMPLERS: Record<string, { parts: string[] }> = {
  KSampler: { parts: [] },
  KSamplerAdvanced: { parts: [] },
  SamplerCustom: { parts: ['sampler', 'sigmas'] },
  SamplerCustomAdvanced: { parts: ['noise', 'guider', 'sampler', 'sigmas'] },
};
/** Conditioning inputs → parameter: on KSampler and CFGGuider `positive`/`negative`, on BasicGuider `conditioning`. */
const CONDITIONING: Array<[string, 'prompt' | 'negative']> = [
  ['positive', 'prompt'],
  ['conditioning', 'prompt'],
  ['negative', 'negative'],
];
/** Settings bound per sampler after the prompts and the seed, in this order (`guidance` comes from the prompt path). */
const FIELDS = ['steps', 'cfg', 'guidance', 'sampler_name', 'scheduler', 'denoise'];
/** Parameter names that differ from the input's, so imported templates use the built-ins' names (`sampler`). */
const PARAM_NAME: Record<string, string> = { sampler_name: 'sampler' };

/** Backend nodes that only hold one value; binding through them keeps a shared value one parameter. */
const PRIMITIVES = new Set([
  'PrimitiveInt',
  'PrimitiveFloat',
  'PrimitiveString',
  'PrimitiveStringMultiline',
  'PrimitiveBoolean',
]);
/** Inputs that take an uploaded file name rather than one of the server's current list. */
const IMAGE_INPUTS: Record<string, string> = { LoadImage: 'image', LoadImageMask: 'mask' };
const LORAS = new Set(['LoraLoader', 'LoraLoaderModelOnly']);

/**
 * /object_info read with JSON.parse turns ComfyUI's 2^64-1 (seed max) and ±(2^63-1) (sys.maxsize) into
 * ±2^64 and ±2^63; those doubles are mapped back to the values the server checks against.
 */
export function toBound(v: unknown): number | bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  if (Number.isSafeInteger(v) || !Number.isInteger(v)) return v;
  const big = BigInt(v);
  const abs = big < 0n ? -big : big;
  const sign = big < 0n ? -1n : 1n;
  return abs === 2n ** 64n || abs === 2n ** 63n ? sign * (abs - 1n) : big;
}

class Binder {
  readonly params: TemplateParam[] = [];
  private readonly bound = new Set<string>();

  constructor(
    private readonly graph: ComfyGraph,
    private readonly info: ObjectInfo,
  ) {}

  bind(name: string, nodeId: string, input: string): void {
    let [id, key] = [nodeId, input];
    const value = this.graph[id]?.inputs[key];
    if (isLink(value) && PRIMITIVES.has(this.graph[value[0]]?.class_type ?? '')) [id, key] = [value[0], 'value'];
    const node = this.graph[id];
    const current = node?.inputs[key];
    if (!node || current === undefined || isLink(current) || this.bound.has(`${id}.${key}`)) return;
    if (this.params.some((p) => p.name === name)) return;
    const spec = findInput(this.info[node.class_type] ?? {}, key);
    if (!spec) return;
    this.bound.add(`${id}.${key}`);
    this.params.push(
      describe(name, id, key, spec, current, IMAGE_INPUTS[node.class_type] !== undefined && key === 'image'),
    );
  }
}

function describe(
  name: string,
  node: string,
  input: string,
  spec: InputSpec,
  current: unknown,
  image: boolean,
): TemplateParam {
  const base = { name, node, input, default: current };
  if (image) return { ...base, type: 'image' };
  const type = specType(spec);
  if (type === 'COMBO') return { ...base, type: 'enum', options: comboOptions(spec) ?? [] };
  if (type === 'INT' || type === 'FLOAT') {
    const min = toBound(specOptions(spec).min);
    const max = toBound(specOptions(spec).max);
    return {
      ...base,
      type: type === 'INT' ? 'int' : 'float',
      ...(min !== undefined ? { min } : {}),
      ...(max !== undefined ? { max } : {}),
    };
  }
  return { ...base, type: type === 'BOOLEAN' ? 'boolean' : 'string' };
}

/** Sampler node ids in pipeline order (fewest samplers upstream first, then by id). */
function orderedSamplers(graph: ComfyGraph): string[] {
  const ids = Object.keys(graph).filter((id) => Object.hasOwn(SAMPLERS, graph[id]!.class_type));
  const depth = new Map(ids.map((id) => [id, [...ancestors(graph, id)].filter((a) => ids.includes(a)).length]));
  return ids.sort((a, b) => depth.get(a)! - depth.get(b)! || byId(a, b));
}

/** Binds `name` to the first of `nodes` that has one of `inputs` (a linked value there binds nothing). */
function bindFirst(b: Binder, graph: ComfyGraph, name: string, nodes: string[], inputs: string[]): void {
  for (const id of nodes) {
    const input = inputs.find((i) => graph[id]?.inputs[i] !== undefined);
    if (input) return b.bind(name, id, input);
  }
}

function bindSampler(
  b: Binder,
  graph: ComfyGraph,
  info: ObjectInfo,
  id: string,
  suffix: string,
  samplers: Set<string>,
): void {
  const node = graph[id]!;
  const parts = SAMPLERS[node.class_type]!.parts.flatMap((input) => {
    const link = node.inputs[input];
    return isLink(link) && graph[link[0]] ? [link[0]] : [];
  });
  const nodes = [id, ...parts];
  let guidance: string | undefined;
  for (const [input, name] of CONDITIONING) {
    const holder = nodes.find((n) => isLink(graph[n]!.inputs[input]));
    const link = holder === undefined ? undefined : graph[holder]!.inputs[input];
    const text = isLink(link) ? traceText(graph, info, link) : undefined;
    if (!text) continue;
    // The main prompt input gets the plain name, the other encoders' texts their input name: prompt_clip_l.
    promptInputs(graph, info, text.node).forEach((key, i) =>
      b.bind(i === 0 ? `${name}${suffix}` : `${name}_${key}${suffix}`, text.node, key),
    );
    if (name === 'prompt') guidance ??= text.path.find((n) => graph[n]!.inputs.guidance !== undefined);
  }
  bindFirst(b, graph, `seed${suffix}`, nodes, ['seed', 'noise_seed']);
  for (const field of FIELDS) {
    if (field !== 'guidance') bindFirst(b, graph, `${PARAM_NAME[field] ?? field}${suffix}`, nodes, [field]);
    else if (guidance !== undefined) b.bind(`guidance${suffix}`, guidance, 'guidance');
  }
  const latent = node.inputs.latent_image;
  const source = isLink(latent) ? traceLatentSource(graph, info, latent, samplers) : undefined;
  if (source) for (const field of ['width', 'height', 'batch_size']) b.bind(`${field}${suffix}`, source, field);
}

/** LoRA loaders by how many LoRA loaders feed them (the chain from the checkpoint), then by id. */
function orderedLoras(graph: ComfyGraph): string[] {
  const ids = Object.keys(graph).filter((id) => LORAS.has(graph[id]!.class_type));
  const depth = (id: string) => [...ancestors(graph, id)].filter((a) => ids.includes(a)).length;
  return ids.sort((a, b) => depth(a) - depth(b) || byId(a, b));
}

export function detectParams(graph: ComfyGraph, info: ObjectInfo): TemplateParam[] {
  const b = new Binder(graph, info);
  const samplers = orderedSamplers(graph);
  samplers.forEach((id, i) => bindSampler(b, graph, info, id, i === 0 ? '' : `_${i + 1}`, new Set(samplers)));
  const ids = Object.keys(graph).sort(byId);
  for (const [input, base] of [
    ['ckpt_name', 'checkpoint'],
    ['unet_name', 'model'],
  ] as const) {
    ids
      .filter((id) => graph[id]!.inputs[input] !== undefined)
      .forEach((id, i) => b.bind(i === 0 ? base : `${base}_${i + 1}`, id, input));
  }
  orderedLoras(graph).forEach((id, i) => {
    for (const [input, suffix] of [
      ['lora_name', ''],
      ['strength_model', '_strength_model'],
      ['strength_clip', '_strength_clip'],
    ]) {
      b.bind(`lora${i + 1}${suffix}`, id, input as string);
    }
  });
  for (const [cls, base] of Object.entries(IMAGE_INPUTS)) {
    ids
      .filter((id) => graph[id]!.class_type === cls)
      .forEach((id, i) => b.bind(i === 0 ? base : `${base}${i + 1}`, id, 'image'));
  }
  return b.params;
}
