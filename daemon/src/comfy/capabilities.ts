import type { ComfyGraph } from '@comfygate/shared';
import type { InputSpec, ObjectInfo } from './types.js';

/** What a backend can run: its node classes and, per class input, the allowed combo values (models, samplers…). */
export interface Capabilities {
  nodes: string[];
  combos: Record<string, Record<string, string[]>>;
  /** Classes with `output_node` (what ComfyUI runs a graph for); absent in capabilities stored by older versions. */
  outputs?: string[];
}

/** Image inputs are uploaded to whichever backend runs the job, so their combo lists say nothing about capability. */
const UPLOAD_INPUTS = new Set(['LoadImage.image', 'LoadImageMask.image']);

export function capabilitiesFrom(info: ObjectInfo): Capabilities {
  const combos: Capabilities['combos'] = {};
  const outputs: string[] = [];
  for (const [cls, def] of Object.entries(info)) {
    if (def.output_node === true) outputs.push(cls);
    const inputs = { ...def.input?.required, ...def.input?.optional };
    for (const [name, spec] of Object.entries(inputs)) {
      const options = comboOptions(spec);
      if (options && !UPLOAD_INPUTS.has(`${cls}.${name}`)) (combos[cls] ??= {})[name] = options;
    }
  }
  return { nodes: Object.keys(info), combos, outputs };
}

/** Legacy combos are `[[...options], {...}]`; V3 combos are `["COMBO", {options: [...]}]`. */
function comboOptions(spec: InputSpec | undefined): string[] | null {
  if (!Array.isArray(spec)) return null;
  const [type, opts] = spec;
  if (Array.isArray(type)) return type.map(String);
  if (type === 'COMBO' && Array.isArray(opts?.options)) return (opts.options as unknown[]).map(String);
  return null;
}

/** Everything the graph needs that these capabilities lack, each named for a person to read. Empty = can run. */
export function missingFor(graph: ComfyGraph, caps: Capabilities): string[] {
  const nodes = new Set(caps.nodes);
  const missing: string[] = [];
  for (const [id, node] of Object.entries(graph)) {
    if (!nodes.has(node.class_type)) {
      missing.push(`node class ${node.class_type} (node ${id})`);
      continue;
    }
    const combos = caps.combos[node.class_type] ?? {};
    for (const [input, value] of Object.entries(node.inputs)) {
      const allowed = combos[input];
      if (!allowed || Array.isArray(value) || typeof value !== 'string') continue;
      if (!allowed.includes(value)) missing.push(`${input} '${value}' for ${node.class_type} (node ${id})`);
    }
  }
  return missing;
}
