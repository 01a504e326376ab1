import fs from 'node:fs';
import { InvalidArgumentError } from 'commander';
import type { PostprocessSpec, Variant } from '@comfygate/shared';
import { CliError } from './context.js';
import { fromInvocation } from './cwd.js';

const json = (text: string, what: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${what} is not valid JSON.`);
  }
};

/** `--variant '{"web": {"ops": [...]}}'` (several variants) or `--variant 'web={"ops": [...]}'` (one). */
export function collectVariant(value: string, acc: Record<string, Variant> = {}): Record<string, Variant> {
  if (value.trim().startsWith('{')) return { ...acc, ...(json(value, 'the variants') as Record<string, Variant>) };
  const eq = value.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError('expected a JSON object of variants, or name={"ops": [...]}.');
  return { ...acc, [value.slice(0, eq)]: json(value.slice(eq + 1), `variant ${value.slice(0, eq)}`) as Variant };
}

/**
 * The job's post-processing from `--postprocess spec.json` and `--variant` (added to the file's variants, winning
 * on a name). The daemon checks the spec; this only reads it.
 */
export function postprocessFrom(flags: {
  postprocess?: string;
  variant?: Record<string, Variant>;
}): PostprocessSpec | undefined {
  let spec: { variants?: Record<string, Variant> } & Record<string, unknown> = {};
  if (flags.postprocess) {
    let text: string;
    try {
      text = fs.readFileSync(fromInvocation(flags.postprocess), 'utf8');
    } catch {
      throw new CliError(`--postprocess: cannot read ${flags.postprocess}`);
    }
    try {
      spec = JSON.parse(text);
    } catch (err) {
      throw new CliError(`--postprocess: ${flags.postprocess} is not valid JSON (${(err as Error).message})`);
    }
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      throw new CliError(
        `--postprocess: ${flags.postprocess} must hold an object like {"variants": {"web": {"ops": [...]}}}`,
      );
    }
  }
  if (!flags.postprocess && !flags.variant) return undefined;
  return { ...spec, variants: { ...spec.variants, ...flags.variant } } as PostprocessSpec;
}

/** The two options, worded once for `run` and `submit`. */
export const POSTPROCESS_OPTIONS = {
  variant: ['--variant <json>', 'a post-processing variant: web={"ops": [...]} or {"web": {...}}; repeatable'],
  postprocess: [
    '--postprocess <file>',
    'post-processing spec (JSON: {"variants": {...}}); see daemon/src/postprocess/README.md',
  ],
} as const;
