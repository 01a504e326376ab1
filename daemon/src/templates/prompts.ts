import type { ComfyGraph } from '@comfygate/shared';
import { firstSampler, linkedNode } from '../comfy/graph.js';
import { GatewayError } from '../errors.js';
import type { PresetRecord } from '../store/types.js';
import { type EnhancerConfig, enhancePrompt } from './enhancer.js';

export interface PromptRecord {
  original: string;
  final: string;
  preset?: string;
  enhanced?: string;
  enhancerError?: string;
}

/** The text nodes behind the first sampler's positive and negative inputs (where prompts live). */
function promptNodes(graph: ComfyGraph): { positive?: string; negative?: string } {
  const [, sampler] = firstSampler(graph) ?? [];
  if (!sampler) return {};
  const text = (input: string) => {
    const id = linkedNode(sampler, input);
    return id !== undefined && typeof graph[id]?.inputs.text === 'string' ? id : undefined;
  };
  return { positive: text('positive'), negative: text('negative') };
}

/**
 * Applies a style preset and the optional LLM enhancement to the graph's prompts. Enhancement never fails the
 * job: on any error the original prompt is kept and the reason returned as a warning.
 */
export async function stylePrompts(
  graph: ComfyGraph,
  opts: { preset: PresetRecord | null; enhance: boolean; enhancer: EnhancerConfig | null },
): Promise<{ graph: ComfyGraph; record: PromptRecord | null; warning: string | null }> {
  if (!opts.preset && !opts.enhance) return { graph, record: null, warning: null };
  const nodes = promptNodes(graph);
  if (!nodes.positive) throw new GatewayError({ code: 'validation_failed', message: 'presets and prompt enhancement need a sampler whose positive input comes from a text encoder' });
  const out = structuredClone(graph);
  const original = out[nodes.positive]!.inputs.text as string;
  const record: PromptRecord = { original, final: original };
  let warning: string | null = null;
  if (opts.enhance) {
    if (!opts.enhancer) warning = 'prompt enhancement asked for, but no enhancer is configured (config: enhancer)';
    else {
      try {
        record.enhanced = await enhancePrompt(opts.enhancer, original);
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
    if (p.negative && nodes.negative) {
      const neg = out[nodes.negative]!.inputs.text as string;
      out[nodes.negative]!.inputs.text = [neg, p.negative].filter((x) => x.trim() !== '').join(', ');
    }
  }
  out[nodes.positive]!.inputs.text = record.final;
  return { graph: out, record, warning };
}
