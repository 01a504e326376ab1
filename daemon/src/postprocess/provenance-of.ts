import type { Provenance } from '@comfygate/shared';
import { firstSampler, linkedNode } from '../comfy/graph.js';
import type { JobRecord } from '../store/types.js';

type Node = { class_type: string; inputs: Record<string, unknown> };

/** The text of the CLIPTextEncode a sampler input links to (one hop: the common case). */
function textAt(graph: Record<string, Node>, sampler: Node, input: string): string | undefined {
  const id = linkedNode(sampler, input);
  const text = id === undefined ? undefined : graph[id]?.inputs.text;
  return typeof text === 'string' ? text : undefined;
}

/**
 * What made the image, read from the job's graph: the first sampler's seed and prompts, the checkpoint.
 * The seed is read from the JSON text so values above 2^53 stay exact.
 */
export function provenanceOf(job: JobRecord): Provenance {
  const graph = JSON.parse(job.graphJson) as Record<string, Node>;
  const [samplerId, sampler] = firstSampler(graph) ?? [];
  const ckpt = Object.values(graph).find((n) => typeof n.inputs?.ckpt_name === 'string')?.inputs.ckpt_name as
    string | undefined;
  const p: Provenance = { jobId: job.id };
  if (job.lastBackend) p.backend = job.lastBackend;
  if (ckpt) p.model = ckpt.slice(0, 500);
  if (typeof job.metadata.template === 'string') p.template = job.metadata.template.slice(0, 200);
  if (!sampler) return p;
  const prompt = textAt(graph, sampler, 'positive');
  const negative = textAt(graph, sampler, 'negative');
  if (prompt !== undefined) p.prompt = prompt.slice(0, 32_768);
  if (negative !== undefined) p.negative = negative.slice(0, 32_768);
  const seed = exactSeed(job.graphJson, samplerId!, sampler);
  if (seed !== undefined) p.seed = seed;
  return p;
}

function exactSeed(graphJson: string, samplerId: string, sampler: Node): string | undefined {
  const value = sampler.inputs.seed ?? sampler.inputs.noise_seed;
  if (typeof value !== 'number') return undefined;
  if (Number.isSafeInteger(value)) return String(value);
  // Beyond 2^53 JSON.parse rounded it: find the digits in the text of this node.
  const at = graphJson.indexOf(`"${samplerId}"`);
  const m = /"(?:noise_)?seed"\s*:\s*(\d+)/.exec(graphJson.slice(at));
  return m?.[1];
}
