import { Op, PostprocessSpec, Provenance, type Variant } from '@comfygate/shared';
import type { z } from 'zod';
import { PostprocessError } from './errors.js';

/** One variant to render, after `densities` are expanded and the default thumbnail added. */
export interface PlannedVariant {
  name: string;
  ops: Op[];
}

export interface Plan {
  variants: PlannedVariant[];
  provenance: boolean;
}

export const THUMB_NAME = 'thumb';
/** Made for every job unless the spec names its own `thumb`: clients need a small preview of everything. */
export const DEFAULT_THUMB: readonly Op[] = [
  { op: 'resize', width: 256, height: 256, fit: 'inside', withoutEnlargement: true },
  { op: 'format', format: 'webp', quality: 75 },
];

/** Validates a spec (unknown JSON) into the list of variants to make; throws a PostprocessError naming each bad op. */
export function planSpec(input: unknown): Plan {
  const parsed = PostprocessSpec.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error.issues.map((i) => describeIssue(i, input)));
  const issues: string[] = [];
  const variants = Object.entries(parsed.data.variants).flatMap(([name, v]) => expand(name, v, issues));
  const seen = new Set<string>();
  for (const v of variants) {
    if (seen.has(v.name)) issues.push(`variants.${v.name}: name is produced twice (check densities)`);
    seen.add(v.name);
  }
  if (issues.length) throw validationError(issues);
  if (!seen.has(THUMB_NAME)) variants.push({ name: THUMB_NAME, ops: DEFAULT_THUMB.map((o) => ({ ...o })) });
  return { variants, provenance: parsed.data.provenance ?? true };
}

export function parseProvenance(input: unknown): Provenance {
  const parsed = Provenance.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error.issues.map((i) => describeIssue(i, input, 'provenance')));
  return parsed.data;
}

function validationError(issues: string[]): PostprocessError {
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new PostprocessError({ code: 'validation_failed', message: `${issues[0]}${more}`, details: { issues } });
}

/** `densities: [1, 2]` → `name@1x`, `name@2x`; scaled ops are validated again, so bounds hold after scaling too. */
function expand(name: string, v: Variant, issues: string[]): PlannedVariant[] {
  if (!v.densities) return [{ name, ops: v.ops }];
  return v.densities.map((d) => {
    const vname = `${name}@${d}x`;
    const ops = v.ops.map((op, i) => {
      const scaled = Op.safeParse(scaleOp(op, d));
      if (scaled.success) return scaled.data;
      const input = { variants: { [vname]: { ops: { [i]: scaleOp(op, d) } } } };
      for (const issue of scaled.error.issues) {
        issues.push(describeIssue({ ...issue, path: ['variants', vname, 'ops', i, ...issue.path] }, input));
      }
      return op;
    });
    return { name: vname, ops };
  });
}

const SCALED_KEYS: Partial<Record<Op['op'], readonly string[]>> = {
  resize: ['width', 'height'],
  crop: ['width', 'height', 'left', 'top'],
  extend: ['top', 'bottom', 'left', 'right'],
  trim: ['margin'],
  watermark: ['margin'],
  blur: ['sigma'],
  sharpen: ['sigma'],
};

/** Multiplies an op's pixel quantities; relative ones (watermark fontSize, scale) need nothing. */
export function scaleOp(op: Op, density: number): Op {
  const keys = SCALED_KEYS[op.op];
  if (!keys || density === 1) return op;
  const out: Record<string, unknown> = { ...op };
  for (const k of keys) {
    const val = out[k];
    if (typeof val === 'number') out[k] = k === 'sigma' ? val * density : Math.round(val * density);
  }
  return out as Op;
}

type Issue = z.core.$ZodIssue;

/** `variants.thumb.ops[2] (resize): width must be ≤ 16384` */
export function describeIssue(issue: Issue, input: unknown, root = ''): string {
  const path = issue.path;
  const value = at(input, path);
  let where = joinPath(path, root);
  let field = '';
  if (path[0] === 'variants' && path[2] === 'ops' && typeof path[3] === 'number') {
    const name = at(input, path.slice(0, 4).concat('op'));
    where = `${joinPath(path.slice(0, 4))}${typeof name === 'string' ? ` (${name})` : ''}`;
    field = joinPath(path.slice(4));
  } else if (path.length && issue.code !== 'custom') {
    field = String(path[path.length - 1]);
    where = joinPath(path.slice(0, -1), root);
  }
  const text = explain(issue, field || 'value', value);
  return where ? `${where}: ${text}` : text;
}

function explain(issue: Issue, field: string, value: unknown): string {
  switch (issue.code) {
    case 'too_big':
      return `${field} must be ${bound(issue.origin, '≤', issue.maximum)}`;
    case 'too_small':
      return `${field} must be ${bound(issue.origin, '≥', issue.minimum)}`;
    case 'invalid_type':
      return value === undefined
        ? `${field} is required`
        : `${field} must be ${article(issue.expected === 'int' ? 'integer' : issue.expected)}`;
    case 'invalid_value':
      return `${field} must be one of ${issue.values.map(String).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    case 'invalid_union':
      if (issue.discriminator === 'op' && field === 'op') {
        return value === undefined
          ? 'op is required'
          : `unknown op '${String(value)}' (expected one of ${Op.options.map((o) => o.shape.op.value).join(', ')})`;
      }
      return `${field} is invalid: ${issue.message}`;
    case 'invalid_format':
      return `${field} ${issue.message}`;
    case 'invalid_key':
      return `invalid name '${field}': ${issue.issues.map((i) => i.message).join('; ')}`;
    default:
      return issue.message;
  }
}

const article = (noun: string) => `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;

function bound(origin: string, cmp: string, n: number | bigint): string {
  if (origin === 'string') return `${cmp} ${n} characters long`;
  if (origin === 'array' || origin === 'set') return `${cmp} ${n} items long`;
  return `${cmp} ${n}`;
}

function joinPath(path: readonly PropertyKey[], root = ''): string {
  return path.reduce<string>(
    (s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)),
    root,
  );
}

function at(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}
