import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WATCH_IMAGE_PATTERNS, WATCH_TEXT_PATTERNS, type WatchRule } from '@comfygate/shared';
import { compileGlobs } from './glob.js';
import { type InputKind, kindOf } from './inputs.js';
import { TEXT_OUTPUT_NAME } from './text-output.js';

export type RuleSpec = WatchRule & { id: string };

/** A rule being watched: its spec plus what was resolved on disk and from its template. */
export interface ActiveRule {
  readonly spec: RuleSpec;
  readonly fromConfig: boolean;
  readonly createdAt: number;
  /** The token that added the rule (config rules: the admin): its jobs are that token's. */
  readonly owner: string;
  /** realpath of the folder (re-resolved when it is recreated); every input must resolve inside it. */
  root: string;
  /** realpath of `outputDir`, or null for "beside each input". */
  outRoot: string | null;
  /** Input kinds the template takes (no template: prompts go to txt2img, images to img2img). */
  readonly accepts: ReadonlySet<InputKind>;
  /** Files we wrote (outputs, outputs kept aside): never inputs, even if they match a pattern. */
  readonly ours: Set<string>;
  matches(relPath: string): boolean;
  isOurs(absPath: string): boolean;
}

const OUTPUT_EXT = '(?:png|jpe?g|webp|avif|gif)';
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Config rules without an id get one from what identifies them, so their ledger rows survive restarts. */
export function configRuleId(spec: WatchRule): string {
  if (spec.id) return spec.id;
  const key = JSON.stringify([path.resolve(spec.dir), spec.template ?? '', spec.patterns ?? []]);
  return `cfg-${crypto.createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** Fills a naming pattern. Deterministic on purpose: the same input always lands on the same names. */
export function renderName(naming: string, p: { name: string; variant: string; ext: string; index: number }): string {
  // A pattern without {index} still needs distinct names for a batch: outputs after the first get "-N".
  const name = p.index > 0 && !naming.includes('{index}') ? `${p.name}-${p.index}` : p.name;
  return naming.replace(/\{(name|variant|ext|index)\}/g, (_m, k: string) =>
    k === 'name' ? name : k === 'variant' ? p.variant : k === 'ext' ? p.ext : String(p.index),
  );
}

/** Names this rule's outputs can have (variants `out`, `thumb` and the rule's own), to ignore them as inputs. */
function outputNameRegex(spec: RuleSpec): RegExp {
  const variants = ['out', 'thumb', ...Object.keys(spec.postprocess?.variants ?? {})].map(reEscape).join('|');
  const parts: Record<string, string> = {
    name: '.+',
    variant: `(?:${variants})(?:@\\d+x)?`,
    ext: OUTPUT_EXT,
    index: '\\d+',
  };
  const re = spec.naming
    .split(/(\{(?:name|variant|ext|index)\})/)
    .map((s) => (/^\{\w+\}$/.test(s) ? parts[s.slice(1, -1)]! : reEscape(s)))
    .join('');
  return new RegExp(`^${re}$`, 'i');
}

export function acceptsFor(templateTakesImage: boolean | null): Set<InputKind> {
  if (templateTakesImage === null) return new Set(['text', 'json', 'image']);
  return new Set(templateTakesImage ? ['image'] : ['text', 'json']);
}

function defaultPatterns(accepts: ReadonlySet<InputKind>): string[] {
  return [...(accepts.has('text') ? WATCH_TEXT_PATTERNS : []), ...(accepts.has('image') ? WATCH_IMAGE_PATTERNS : [])];
}

/** The folder's real path, or null while it does not exist. */
export async function realDir(dir: string): Promise<string | null> {
  try {
    const real = await fs.realpath(dir);
    return (await fs.stat(real)).isDirectory() ? real : null;
  } catch {
    return null;
  }
}

const DOTDOT = /(^|[\\/])\.\.([\\/]|$)/;

/**
 * `abs` relative to `root` with `/` separators, or null when it is not strictly inside. A prefix test rather
 * than path.relative: chokidar asks about every entry of a folder each time the folder changes.
 */
export function relInside(root: string, abs: string): string | null {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  if (!abs.startsWith(prefix) || abs.length === prefix.length) return null;
  const rel = abs.slice(prefix.length);
  if (DOTDOT.test(rel)) return null;
  return path.sep === '/' ? rel : rel.split(path.sep).join('/');
}

export function activateRule(o: {
  spec: RuleSpec;
  fromConfig: boolean;
  createdAt: number;
  owner: string;
  root: string;
  outRoot: string | null;
  accepts: Set<InputKind>;
}): ActiveRule {
  const spec: RuleSpec = { ...o.spec, patterns: o.spec.patterns ?? defaultPatterns(o.accepts) };
  const glob = compileGlobs(spec.patterns!);
  const names = outputNameRegex(spec);
  const ours = new Set<string>();
  const rule: ActiveRule = {
    ...o,
    spec,
    ours,
    matches: (rel) => kindOf(rel) !== null && glob(rel),
    // By name only under the output folder: an output written just before a crash is not in `ours` yet.
    isOurs: (abs) =>
      ours.has(abs) ||
      (relInside(rule.outRoot ?? rule.root, abs) !== null &&
        (names.test(path.basename(abs)) || TEXT_OUTPUT_NAME.test(abs))),
  };
  return rule;
}
