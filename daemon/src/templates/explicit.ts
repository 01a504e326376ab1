/**
 * Hand-written parameter maps, checked at import like detected ones: every binding names a node of the graph and
 * an input holding a value (not a link), and, when a backend's /object_info is at hand, the parameter's type fits
 * the input's declared type and the bounds and options the author left out are filled in from it, so values are
 * checked before dispatch whichever way the map was made.
 */
import type { ComfyGraph, TemplateParam } from '@comfygate/shared';
import type { ParamError } from './apply.js';
import { comboOptions, findInput, type InputSpec, type ObjectInfo, specOptions, specType } from './objectInfo.js';
import { toBound } from './params.js';
import { isLink } from './trace.js';

/** Which parameter types may bind an input of each declared type (custom widget types: any). */
const FITS: Record<string, TemplateParam['type'][]> = {
  INT: ['int'],
  FLOAT: ['float', 'int'],
  STRING: ['string'],
  BOOLEAN: ['boolean'],
  COMBO: ['enum', 'string', 'image'],
};

type Checked = { param: TemplateParam } | { error: string };

/** The parameter completed from the input's definition: bounds for numbers, options for a combo bound as text. */
function completed(p: TemplateParam, spec: InputSpec): TemplateParam {
  const type = specType(spec);
  if (type === 'INT' || type === 'FLOAT') {
    const min = p.min ?? toBound(specOptions(spec).min);
    const max = p.max ?? toBound(specOptions(spec).max);
    return { ...p, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
  }
  const options = comboOptions(spec);
  if (type === 'COMBO' && options && (p.type === 'string' || (p.type === 'enum' && !p.options)))
    return { ...p, type: 'enum', options: p.options ?? options };
  return p;
}

function checkOne(graph: ComfyGraph, p: TemplateParam, info: ObjectInfo | null): Checked {
  const node = graph[p.node];
  if (!node) return { error: `node ${p.node} is not in the graph` };
  const value = node.inputs[p.input];
  if (isLink(value))
    return {
      error: `input '${p.input}' of node ${p.node} is linked to node ${value[0]}; bind the value where it is set`,
    };
  const def = info?.[node.class_type];
  if (!def) return value === undefined && info ? { error: `node ${p.node} has no input '${p.input}'` } : { param: p };
  const spec = findInput(def, p.input);
  if (!spec) return { error: `${node.class_type} (node ${p.node}) has no input '${p.input}'` };
  const fits = FITS[specType(spec)];
  if (fits && !fits.includes(p.type))
    return { error: `is ${p.type}, but ${node.class_type}.${p.input} takes ${specType(spec)}` };
  return { param: completed(p, spec) };
}

export function checkExplicitParams(
  graph: ComfyGraph,
  params: TemplateParam[],
  info: ObjectInfo | null,
): { ok: true; params: TemplateParam[] } | { ok: false; errors: ParamError[] } {
  const out: TemplateParam[] = [];
  const errors: ParamError[] = [];
  for (const p of params) {
    const r = checkOne(graph, p, info);
    if ('error' in r) errors.push({ param: p.name, message: `${p.name}: ${r.error}` });
    else out.push(r.param);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, params: out };
}
