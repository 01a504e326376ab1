import { type BatchMatrix, type ComfyGraph, MAX_BATCH_JOBS, type MatrixAxis } from '@comfygate/shared';
import { firstSampler, linkedNode, seedInput } from '../comfy/graph.js';
import { GatewayError } from '../errors.js';

const invalid = (message: string) => new GatewayError({ code: 'validation_failed', message });

/** `prompts` and `seeds` become axes on the first sampler's positive prompt text and seed. */
function shorthandAxes(m: BatchMatrix): MatrixAxis[] {
  if (!m.prompts && !m.seeds) return [];
  const [samplerId, sampler] = firstSampler(m.graph) ?? [];
  if (!sampler) throw invalid('`prompts` and `seeds` need a KSampler-like node in the graph; use `axes` instead');
  const axes: MatrixAxis[] = [];
  if (m.prompts) {
    const textNode = linkedNode(sampler, 'positive');
    if (!textNode || typeof m.graph[textNode]?.inputs.text !== 'string')
      throw invalid(`the sampler's positive input does not come straight from a text encoder; use \`axes\``);
    axes.push({ node: textNode, input: 'text', values: m.prompts });
  }
  if (m.seeds) axes.push({ node: samplerId!, input: seedInput(sampler), values: m.seeds });
  return axes;
}

/** The graphs of a matrix batch: the cartesian product of its axes, in row-major order (last axis fastest). */
export function expandMatrix(m: BatchMatrix): { graph: ComfyGraph; values: Record<string, unknown> }[] {
  const axes = [...shorthandAxes(m), ...(m.axes ?? [])];
  for (const a of axes)
    if (!m.graph[a.node]) throw invalid(`matrix axis names node ${a.node}, which the graph does not have`);
  const total = axes.reduce((n, a) => n * a.values.length, 1);
  if (total > MAX_BATCH_JOBS) throw invalid(`the matrix makes ${total} jobs; the limit is ${MAX_BATCH_JOBS}`);
  const out: { graph: ComfyGraph; values: Record<string, unknown> }[] = [];
  for (let i = 0; i < total; i++) {
    const graph = structuredClone(m.graph) as ComfyGraph;
    const values: Record<string, unknown> = {};
    let rest = i;
    for (let k = axes.length - 1; k >= 0; k--) {
      const a = axes[k]!;
      const v = a.values[rest % a.values.length];
      rest = Math.floor(rest / a.values.length);
      graph[a.node]!.inputs[a.input] = v;
      values[`${a.node}.${a.input}`] = v;
    }
    out.push({ graph, values });
  }
  return out;
}
