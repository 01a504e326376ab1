/**
 * Writes parameter values into a copy of an API graph, after checking each against its parameter's type,
 * bounds and options. Errors name the parameter (`steps: 0 is below the minimum 1`) so a caller can show them
 * next to the field. Integers beyond 2^53 (seeds up to 2^64-1) are accepted as bigint or as a digit string and
 * written as bigint, which the daemon serialises verbatim.
 */
import { type ComfyGraph, didYouMean, type TemplateParam } from '@comfygate/shared';

export interface ParamError {
  param: string;
  message: string;
}

export type ApplyResult = { ok: true; graph: ComfyGraph } | { ok: false; errors: ParamError[] };

type Checked = { value: unknown } | { error: string };

/** A value as error messages quote it: text in single quotes, big integers as digits. */
/** A request may send megabytes where a word was expected: error messages quote the start only. */
const clip = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

export const show = (v: unknown): string =>
  typeof v === 'string'
    ? `'${clip(v)}'`
    : typeof v === 'bigint'
      ? clip(v.toString())
      : clip(JSON.stringify(v) ?? String(v));

/** A number, or a bigint when it does not fit a double exactly. */
export const integerOut = (v: bigint): number | bigint =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

export function asInteger(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  return undefined;
}

/** min/max against a value; bigint and number bounds compare exactly with bigint values. */
function checkBounds(p: TemplateParam, v: number | bigint): string | undefined {
  const cmp = (a: number | bigint, b: number | bigint): number => (a < b ? -1 : a > b ? 1 : 0);
  if (p.min !== undefined && cmp(v, p.min) < 0) return `${show(v)} is below the minimum ${show(p.min)}`;
  if (p.max !== undefined && cmp(v, p.max) > 0) return `${show(v)} is above the maximum ${show(p.max)}`;
  return undefined;
}

function checkNumber(p: TemplateParam, value: unknown): Checked {
  if (p.type === 'int') {
    const int = asInteger(value);
    if (int === undefined) return { error: `expected an integer, got ${show(value)}` };
    const out = integerOut(int);
    const bad = checkBounds(p, typeof out === 'number' ? out : int);
    return bad ? { error: bad } : { value: out };
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return { error: `expected a number, got ${show(value)}` };
  const bad = checkBounds(p, value);
  return bad ? { error: bad } : { value };
}

/** A combo with more options than OPTIONS_LISTED (a sampler list has 40) is shown by its first OPTIONS_SHOWN. */
export const OPTIONS_LISTED = 12;
export const OPTIONS_SHOWN = 8;

/**
 * Parameter names that mean the same: imported graphs were once given `sampler_name` (the input's name), built-ins
 * `sampler`; both are accepted for either, numbered ones too (`sampler_name_2` = `sampler_2`).
 */
export const canonicalParam = (name: string): string => name.replace(/^sampler_name(?=$|_\d+$)/, 'sampler');

/** Values given under another accepted name, moved to the template's own (`sampler_name` -> `sampler`), in place. */
export function renameAliases(params: readonly TemplateParam[], values: Record<string, unknown>): void {
  for (const key of Object.keys(values)) {
    if (params.some((p) => p.name === key)) continue;
    const own = params.find((p) => canonicalParam(p.name) === canonicalParam(key));
    if (own && values[own.name] === undefined) {
      values[own.name] = values[key];
      delete values[key];
    }
  }
}

function checkValue(p: TemplateParam, value: unknown): Checked {
  switch (p.type) {
    case 'int':
    case 'float':
      return checkNumber(p, value);
    case 'boolean':
      return typeof value === 'boolean' ? { value } : { error: `expected true or false, got ${show(value)}` };
    case 'string':
      return typeof value === 'string' ? { value } : { error: `expected a string, got ${show(value)}` };
    case 'image':
      return typeof value === 'string' && value.trim() !== ''
        ? { value }
        : { error: `expected an image file name, got ${show(value)}` };
    case 'enum': {
      const options = p.options ?? [];
      if (typeof value === 'string' && options.includes(value)) return { value };
      const list =
        options.length > OPTIONS_LISTED
          ? `one of ${options.length} options (${options.slice(0, OPTIONS_SHOWN).join(', ')}, ...)`
          : `one of ${options.join(', ')}`;
      return { error: `${show(value)} is not ${list}${typeof value === 'string' ? didYouMean(value, options) : ''}` };
    }
  }
}

export function applyParams(
  graph: ComfyGraph,
  params: readonly TemplateParam[],
  values: Record<string, unknown>,
): ApplyResult {
  const out = structuredClone(graph);
  const errors: ParamError[] = [];
  for (const [name, raw] of Object.entries(values)) {
    if (raw === undefined) continue; // not given: the graph keeps its value
    const param =
      params.find((p) => p.name === name) ?? params.find((p) => canonicalParam(p.name) === canonicalParam(name));
    if (!param) {
      const known = params.map((p) => p.name);
      errors.push({
        param: clip(name),
        message: `${clip(name)}: unknown parameter${didYouMean(name, known)} (known: ${known.join(', ') || 'none'})`,
      });
      continue;
    }
    const node = out[param.node];
    if (!node) {
      errors.push({ param: name, message: `${name}: node ${param.node} is not in the graph` });
      continue;
    }
    const checked = checkValue(param, raw);
    if ('error' in checked) errors.push({ param: name, message: `${name}: ${checked.error}` });
    else node.inputs[param.input] = checked.value;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, graph: out };
}
