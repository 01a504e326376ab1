/**
 * Walking an API graph upstream: following links from a sampler's inputs to the node that holds the value
 * a person would call "the prompt" or "the size". Only unambiguous paths are followed; a fork stops the walk.
 */
import type { ComfyGraph } from '@comfygate/shared';
import { declaredInputs, specType, type ObjectInfo } from './objectInfo.js';

export type ApiLink = [string, number];

export const isLink = (v: unknown): v is ApiLink =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number';

/** Node ids compared as people read them: "3" < "10" < "20:1". */
export const byId = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** Every node upstream of `id` (not including it). */
export function ancestors(graph: ComfyGraph, id: string): Set<string> {
  const seen = new Set<string>();
  const stack = [id];
  while (stack.length > 0) {
    const node = graph[stack.pop() as string];
    for (const value of Object.values(node?.inputs ?? {})) {
      if (isLink(value) && !seen.has(value[0])) {
        seen.add(value[0]);
        stack.push(value[0]);
      }
    }
  }
  return seen;
}

/** The linked inputs of a node whose declared type is `type`, as [input name, link]. */
function linkedInputsOfType(graph: ComfyGraph, info: ObjectInfo, id: string, type: string): Array<[string, ApiLink]> {
  const node = graph[id];
  const def = node ? info[node.class_type] : undefined;
  if (!node || !def) return [];
  return declaredInputs(def).flatMap((d) => {
    const value = node.inputs[d.name];
    return specType(d.spec) === type && isLink(value) ? [[d.name, value] as [string, ApiLink]] : [];
  });
}

/** STRING inputs that hold a prompt: `text` (CLIPTextEncode and kin), or the per-encoder texts of CLIPTextEncodeFlux / SD3. */
export const PROMPT_INPUTS = ['text', 't5xxl', 'clip_l', 'clip_g'] as const;

/** The prompt inputs a node declares as STRING, in PROMPT_INPUTS order. */
export function promptInputs(graph: ComfyGraph, info: ObjectInfo, id: string): string[] {
  const def = info[graph[id]?.class_type ?? ''];
  if (!def) return [];
  const inputs = declaredInputs(def);
  return PROMPT_INPUTS.filter((name) => inputs.some((d) => d.name === name && specType(d.spec) === 'STRING'));
}

/**
 * The text encoder behind the conditioning of `link` (a node with a STRING prompt input, see PROMPT_INPUTS), and
 * every node passed on the way there, nearest first, the encoder last. Conditioning nodes in between are passed
 * when they have one conditioning input (FluxGuidance), or several of which one is named like the output
 * followed (ControlNetApplyAdvanced's positive/negative). ConditioningCombine and the like stop the walk.
 */
export function traceText(
  graph: ComfyGraph,
  info: ObjectInfo,
  link: ApiLink,
): { node: string; path: string[] } | undefined {
  const path: string[] = [];
  let [id, slot] = link;
  while (!path.includes(id)) {
    path.push(id);
    const node = graph[id];
    const def = node ? info[node.class_type] : undefined;
    if (!node || !def) return undefined;
    if (promptInputs(graph, info, id).length > 0) return { node: id, path };
    const inputs = linkedInputsOfType(graph, info, id, 'CONDITIONING');
    const outName = def.output_name?.[slot]?.toLowerCase();
    const next = inputs.length === 1 ? inputs[0] : inputs.find(([name]) => name === outName);
    if (!next) return undefined;
    [id, slot] = next[1];
  }
  return undefined;
}

/**
 * The node that creates the latent behind `link` (EmptyLatentImage and kin: no LATENT input of its own),
 * passing nodes with exactly one LATENT input. A sampler on the way means the size belongs to an earlier pass.
 */
export function traceLatentSource(
  graph: ComfyGraph,
  info: ObjectInfo,
  link: ApiLink,
  samplers: Set<string>,
): string | undefined {
  const seen = new Set<string>();
  let id = link[0];
  while (!seen.has(id) && !samplers.has(id)) {
    seen.add(id);
    const inputs = linkedInputsOfType(graph, info, id, 'LATENT');
    if (inputs.length === 0) return graph[id] ? id : undefined;
    if (inputs.length > 1) return undefined;
    id = inputs[0]![1][0];
  }
  return undefined;
}
