import type { ComfyGraph } from '@comfygate/shared';
import { firstSampler, linkedNode } from '../comfy/graph.js';
import { GatewayError } from '../errors.js';
import type { PresetRecord } from '../store/types.js';

export interface PromptRecord {
  original: string;
  final: string;
  preset?: string;
  enhanced?: string;
  enhancerError?: string;
}

/** Where a prompt lives: a node's text input (a template's `prompt`/`negative` binding, or found from the sampler). */
export interface PromptTarget {
  node: string;
  input: string;
}
export interface PromptTargets {
  positive?: PromptTarget;
  negative?: PromptTarget;
}

/** For a graph without a template: the text nodes straight behind the first sampler's positive and negative. */
function promptNodes(graph: ComfyGraph): PromptTargets {
  const [, sampler] = firstSampler(graph) ?? [];
  if (!sampler) return {};
  const text = (input: string) => {
    const node = linkedNode(sampler, input);
    return node !== undefined && typeof graph[node]?.inputs.text === 'string' ? { node, input: 'text' } : undefined;
  };
  return { positive: text('positive'), negative: text('negative') };
}

/**
 * Applies a style preset and the optional LLM enhancement to the graph's prompts. Enhancement never fails the
 * job: on any error the original prompt is kept and the reason returned as a warning.
 */
export async function stylePrompts(
  graph: ComfyGraph,
  opts: {
    preset: PresetRecord | null;
    enhance: boolean;
    enhancer: ((prompt: string) => Promise<string>) | null;
    targets?: PromptTargets;
  },
): Promise<{ graph: ComfyGraph; record: PromptRecord | null; warning: string | null }> {
  if (!opts.preset && !opts.enhance) return { graph, record: null, warning: null };
  const { positive, negative } = opts.targets ?? promptNodes(graph);
  if (!positive || typeof graph[positive.node]?.inputs[positive.input] !== 'string') {
    const where = opts.targets
      ? 'a template with a `prompt` parameter'
      : 'a sampler whose positive input comes from a text encoder';
    throw new GatewayError({ code: 'validation_failed', message: `presets and prompt enhancement need ${where}` });
  }
  const out = structuredClone(graph);
  const original = out[positive.node]!.inputs[positive.input] as string;
  const record: PromptRecord = { original, final: original };
  let warning: string | null = null;
  if (opts.enhance) {
    if (!opts.enhancer) warning = 'prompt enhancement asked for, but no enhancer is configured (config: enhancer)';
    else {
      try {
        record.enhanced = await opts.enhancer(original);
        record.final = record.enhanced;
      } catch (err) {
        record.enhancerError = (err as Error).message;
        warning = `prompt enhancement failed, the original prompt is used: ${record.enhancerError}`;
      }
    }
  }
  if (opts.preset) {
    const p = opts.preset;
    record.preset = p.name;
    record.final = [p.prefix, record.final, p.suffix].filter((x) => x.trim() !== '').join(', ');
    const neg = negative && out[negative.node]?.inputs[negative.input];
    if (p.negative && typeof neg === 'string')
      out[negative!.node]!.inputs[negative!.input] = [neg, p.negative].filter((x) => x.trim() !== '').join(', ');
  }
  out[positive.node]!.inputs[positive.input] = record.final;
  return { graph: out, record, warning };
}
