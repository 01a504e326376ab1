/**
 * Seeds of template jobs: which parameters are seeds, how one is drawn, and the parameter values of a batch of
 * variations (`random`, `fixed` or `increment`, docs/architecture.md §3). Pure: the caller passes the template's parameters.
 */
import crypto from 'node:crypto';
import { type BatchVariationsParsed, MAX_BATCH_JOBS } from '@comfygate/shared';
import { asInteger, canonicalParam, integerOut, show } from './apply.js';

const SEED = /^(noise_)?seed(_\d+)?$/;
const SEED_MAX = 2n ** 64n - 1n;

export const isSeedParam = (name: string): boolean => SEED.test(name);

const DRAW_MAX = 2 ** 48 - 2; // crypto.randomInt's range, and well within JSON's exact integers

/** A random seed within the parameter's bounds, below 2^48 so every client can show and resend it unchanged. */
export function drawSeed(p: SeedParam = { name: 'seed' }): number {
  const clamp = (v: bigint | undefined, fallback: number) =>
    v === undefined ? fallback : Number(v < 0n ? 0n : v > BigInt(DRAW_MAX) ? BigInt(DRAW_MAX) : v);
  const lo = clamp(asInteger(p.min), 0);
  const hi = clamp(asInteger(p.max), DRAW_MAX);
  return hi <= lo ? lo : crypto.randomInt(lo, hi + 1);
}

export interface SeedParam {
  name: string;
  default?: unknown;
  min?: unknown;
  max?: unknown;
}

export class VariationError extends Error {}

/** The values of `vary` as a list of combinations, last key fastest; one empty combination when nothing varies. */
function combinations(vary: Record<string, unknown[]>): Record<string, unknown>[] {
  return Object.entries(vary).reduce<Record<string, unknown>[]>(
    (combos, [name, values]) => combos.flatMap((c) => values.map((v) => ({ ...c, [name]: v }))),
    [{}],
  );
}

/** The seed the k-th variation uses: `base + k`, wrapping from the parameter's maximum back to its minimum. */
function nthSeed(p: SeedParam, base: bigint, k: number): number | bigint {
  const min = asInteger(p.min) ?? 0n;
  const max = asInteger(p.max) ?? SEED_MAX;
  const span = max - min + 1n;
  return integerOut(min + ((((base - min + BigInt(k)) % span) + span) % span));
}

/** Per variation: seed parameters neither given nor varied, set as the mode says (random leaves them to be drawn). */
function seedValues(
  v: BatchVariationsParsed,
  seeds: SeedParam[],
  given: Record<string, unknown>,
): (k: number) => Record<string, unknown> {
  const free = seeds.filter((p) => !(p.name in (v.vary ?? {})) && (v.seed !== 'random' || given[p.name] === undefined));
  if (v.seed === 'random') {
    const fixed = seeds.filter(
      (p) => given[p.name] !== undefined && given[p.name] !== 'random' && !(p.name in (v.vary ?? {})),
    );
    if (fixed.length > 0 && v.count > 1) {
      throw new VariationError(
        `'${fixed[0]!.name}' is given, so every variation would be the same image; use seed "fixed" or "increment", or leave it out`,
      );
    }
    return () => ({});
  }
  const bases = free.map((p) => {
    const raw = given[p.name] === 'random' ? undefined : (given[p.name] ?? p.default);
    const base = raw === undefined ? BigInt(drawSeed(p)) : asInteger(raw);
    if (base === undefined) throw new VariationError(`${p.name}: expected an integer seed, got ${show(raw)}`);
    const [min, max] = [asInteger(p.min) ?? 0n, asInteger(p.max) ?? SEED_MAX];
    if (base < min || base > max) throw new VariationError(`${p.name}: ${base} is outside ${min}..${max}`);
    return { p, base };
  });
  return (k) =>
    Object.fromEntries(bases.map(({ p, base }) => [p.name, nthSeed(p, base, v.seed === 'increment' ? k : 0)]));
}

/** One job of a variations batch: its parameter values, the combination of `vary` it has, its index in it. */
export interface Variation {
  params: Record<string, unknown>;
  vary: Record<string, unknown>;
  index: number;
}

/** The params of every job of a variations batch, in order, each with where it sits in the batch. */
export function variationParams(v: BatchVariationsParsed, templateParams: SeedParam[]): Variation[] {
  const given = v.job.params ?? {};
  const known = new Set(templateParams.map((p) => p.name));
  // Under the template's own names (`sampler_name` -> `sampler`), as a job's params are.
  const vary: Record<string, unknown[]> = {};
  for (const [name, values] of Object.entries(v.vary ?? {})) {
    const own = known.has(name)
      ? name
      : templateParams.find((p) => canonicalParam(p.name) === canonicalParam(name))?.name;
    if (!own)
      throw new VariationError(
        `vary names ${show(name)}, which template '${v.job.template}' does not have (known: ${[...known].join(', ')})`,
      );
    vary[own] = values;
  }
  // Counted before the product is built: a few long lists would otherwise make billions of objects.
  const total = Object.values(vary).reduce((n, values) => n * values.length, v.count);
  if (total > MAX_BATCH_JOBS)
    throw new VariationError(`the variations make ${total} jobs; the limit is ${MAX_BATCH_JOBS}`);
  const combos = combinations(vary);
  const seedsOf = seedValues(
    v,
    templateParams.filter((p) => isSeedParam(p.name)),
    given,
  );
  return combos.flatMap((combo) =>
    Array.from({ length: v.count }, (_, index) => ({
      params: { ...given, ...combo, ...seedsOf(index) },
      vary: combo,
      index,
    })),
  );
}
