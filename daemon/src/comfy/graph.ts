import type { ComfyGraph } from '@comfygate/shared';

type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

const SAMPLERS = new Set(['KSampler', 'KSamplerAdvanced', 'SamplerCustom']);

/** The first sampler node of a graph, by key order (the common single-pass graph has one). */
export function firstSampler(graph: ComfyGraph | Graph): [string, Graph[string]] | undefined {
  return Object.entries(graph as Graph).find(([, n]) => SAMPLERS.has(n.class_type));
}

/** The id of the node a sampler input links to directly (e.g. the CLIPTextEncode behind `positive`). */
export function linkedNode(sampler: Graph[string], input: string): string | undefined {
  const link = sampler.inputs[input];
  return Array.isArray(link) ? String(link[0]) : undefined;
}

/** The seed input's name on a sampler: `seed`, or `noise_seed` on the advanced samplers. */
export function seedInput(sampler: Graph[string]): string {
  return 'noise_seed' in sampler.inputs ? 'noise_seed' : 'seed';
}
