import type { z } from 'zod';
import { didYouMean, isUiWorkflow, UI_WORKFLOW_HINT } from '@comfygate/shared';
import { GatewayError } from './errors.js';

type Issue = z.core.$ZodIssue;

/** A name from the request (a key, a field), cut short: bodies may hold megabyte-long keys by the thousand. */
const clip = (s: string): string => (s.length > 40 ? `${s.slice(0, 37)}...` : s);

/** `variants.web.ops[2].width`: how a person would write the place in their JSON. */
export const issuePath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}${out ? '.' : ''}${clip(String(key))}`),
    '',
  );

/** `'a', 'b'`, at most five, then how many more. */
function someNames(keys: readonly string[]): string {
  const shown = keys
    .slice(0, 5)
    .map((k) => `'${clip(k)}'`)
    .join(', ');
  return keys.length > 5 ? `${shown} and ${keys.length - 5} more` : shown;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** What came, briefly: `'a red fox'`, `0`, `an array`, `an object`, `null`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty array' : 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return v.length > 40 ? `'${v.slice(0, 37)}...'` : `'${v}'`;
  if (typeof v === 'bigint') return `${v}`;
  return JSON.stringify(v) ?? String(v);
}

const TYPE_WORDS: Record<string, string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  bigint: 'an integer',
  record: 'an object',
  tuple: 'an array',
  map: 'an object',
  date: 'a date',
  null: 'null',
};

function bound(issue: Issue & { code: 'too_small' | 'too_big' }, got: unknown): string {
  const limit = issue.code === 'too_small' ? issue.minimum : issue.maximum;
  const inclusive = issue.inclusive !== false;
  const side =
    issue.code === 'too_small' ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than';
  const origin = issue.origin as string;
  if (origin === 'string')
    return `expected ${side} ${limit} characters, got ${typeof got === 'string' ? got.length : describeValue(got)}`;
  if (origin === 'array' || origin === 'set')
    return `expected ${side} ${limit} items, got ${Array.isArray(got) ? got.length : describeValue(got)}`;
  return `expected ${side} ${limit}, got ${describeValue(got)}`;
}

/** The `graph` on the issue's path that holds a UI workflow: every issue inside it is that one mistake. */
function uiWorkflowAt(issue: Issue, input: unknown): readonly PropertyKey[] | null {
  for (let i = issue.path.length; i > 0; i--) {
    const prefix = issue.path.slice(0, i);
    if (prefix.at(-1) === 'graph' && isUiWorkflow(valueAt(input, prefix))) return prefix;
  }
  return null;
}

/** A schema's own message ("expected a node index ..."), with what came when it does not say already. */
function custom(where: string, message: string, got: unknown): string {
  return got === undefined || /\bgot\b/.test(message)
    ? `${where}: ${message}`
    : `${where}: ${message}, got ${describeValue(got)}`;
}

/** One problem as `path: what was expected, what came`. */
export function describeIssue(issue: Issue, input: unknown, whole = '(body)'): string {
  const ui = uiWorkflowAt(issue, input);
  if (ui) return `${issuePath(ui)}: ${UI_WORKFLOW_HINT}`;
  const where = issuePath(issue.path) || whole;
  const got = valueAt(input, issue.path);
  switch (issue.code) {
    case 'invalid_type': {
      const want = TYPE_WORDS[issue.expected] ?? issue.expected;
      if (got === undefined) return `${where}: required (${want})`;
      return `${where}: expected ${want}, got ${describeValue(got)}`;
    }
    case 'too_small':
    case 'too_big':
      return `${where}: ${bound(issue, got)}`;
    case 'invalid_value': {
      const want =
        issue.values.length === 1
          ? describeValue(issue.values[0])
          : `one of ${issue.values.map(describeValue).join(', ')}`;
      return `${where}: expected ${want}, got ${describeValue(got)}`;
    }
    case 'unrecognized_keys':
      return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${someNames(issue.keys)}`;
    case 'invalid_format':
      return issue.format === 'regex'
        ? custom(where, issue.message, got)
        : `${where}: expected a valid ${issue.format}, got ${describeValue(got)}`;
    case 'invalid_key': {
      const key = clip(String(issue.path.at(-1)));
      const why = issue.issues.map((i) => i.message).join('; ');
      return `${issuePath(issue.path.slice(0, -1)) || whole}: the name '${key}' is not allowed${why ? ` (${why})` : ''}`;
    }
    case 'invalid_union': {
      // A discriminated union (post-processing ops): name the accepted values and the nearest one.
      const options = (issue as { options?: unknown[] }).options;
      if (Array.isArray(options) && options.length > 0) {
        const near = typeof got === 'string' ? didYouMean(got, options.map(String)) : '';
        return `${where}: expected one of ${options.map(String).join(', ')}, got ${describeValue(got)}${near}`;
      }
      if (issue.message !== 'Invalid input') return custom(where, issue.message, got); // the schema's own words
      // Every branch wanted another type here: list them. Otherwise the branch that got furthest names the mistake.
      const types = issue.errors.map((e) =>
        e.length === 1 && e[0]!.code === 'invalid_type' && e[0]!.path.length === 0 ? e[0]!.expected : null,
      );
      if (types.length > 0 && types.every((t) => t !== null) && got !== undefined) {
        return `${where}: expected ${[...new Set(types.map((t) => TYPE_WORDS[t!] ?? t))].join(' or ')}, got ${describeValue(got)}`;
      }
      const best = issue.errors.filter((e) => e.length > 0).sort((a, b) => a.length - b.length)[0];
      if (best && best.length <= 2)
        return best.map((i) => describeIssue({ ...i, path: [...issue.path, ...i.path] }, input, whole)).join('; ');
      return `${where}: not any of the accepted forms, got ${describeValue(got)}`;
    }
    default:
      return custom(where, issue.message, got);
  }
}

/** Every problem (at most `max`, then how many more), joined with `; `. */
export function formatIssues(
  issues: readonly Issue[],
  input: unknown,
  opts: { whole?: string; max?: number } = {},
): string {
  const max = opts.max ?? 5;
  const lines = [...new Set(issues.map((i) => describeIssue(i, input, opts.whole)))];
  const shown = lines.slice(0, max);
  if (lines.length > max) shown.push(`and ${lines.length - max} more`);
  return shown.join('; ');
}

/** A 400 for a body (or any input) that failed its schema, readable in its message and complete in its details. */
export function validationError(
  error: z.ZodError,
  input: unknown,
  opts: { prefix?: string; whole?: string } = {},
): GatewayError {
  const message = formatIssues(error.issues, input, { whole: opts.whole });
  return new GatewayError({
    code: 'validation_failed',
    message: opts.prefix ? `${opts.prefix}${message}` : message,
    details: error.issues,
  });
}

/** schema.parse with the errors above. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  opts: { prefix?: string; whole?: string } = {},
): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw validationError(r.error, input, opts);
  return r.data;
}
