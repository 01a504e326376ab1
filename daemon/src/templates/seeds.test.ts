import { BatchVariations, type BatchVariations as VariationsInput } from '@comfygate/shared';
import { describe, expect, it } from 'vitest';
import { type SeedParam, VariationError, variationParams } from './seeds.js';

const PARAMS: SeedParam[] = [
  { name: 'prompt', default: '' },
  { name: 'seed', min: 0, max: 2n ** 64n - 1n },
  { name: 'steps', default: 20 },
];
const HIRES: SeedParam[] = [...PARAMS, { name: 'seed_2', default: 7, min: 0, max: 9 }];
const run = (v: VariationsInput, params = PARAMS) => variationParams(BatchVariations.parse(v), params);
const seeds = (v: VariationsInput, params = PARAMS) => run(v, params).map((j) => j.params.seed);

describe('variationParams', () => {
  it('increment counts up from the given seed, one per variation', () => {
    expect(seeds({ job: { template: 't', params: { seed: 41 } }, count: 4, seed: 'increment' })).toEqual([
      41, 42, 43, 44,
    ]);
  });

  it('increment past 2^53 stays exact and wraps at the maximum', () => {
    const base = 2n ** 64n - 2n;
    expect(seeds({ job: { template: 't', params: { seed: base.toString() } }, count: 3, seed: 'increment' })).toEqual([
      base,
      base + 1n,
      0,
    ]);
    expect(
      run({ job: { template: 't', params: { seed_2: 8 } }, count: 3, seed: 'increment' }, HIRES).map(
        (j) => j.params.seed_2,
      ),
    ).toEqual([8, 9, 0]);
  });

  it('increment without a given seed starts from the template default, else from one drawn seed', () => {
    expect(run({ job: { template: 't' }, count: 2, seed: 'increment' }, HIRES).map((j) => j.params.seed_2)).toEqual([
      7, 8,
    ]);
    const drawn = seeds({ job: { template: 't' }, count: 3, seed: 'increment' }) as number[];
    expect(Number.isSafeInteger(drawn[0])).toBe(true);
    expect(drawn).toEqual([drawn[0], drawn[0]! + 1, drawn[0]! + 2]);
  });

  it('fixed gives every job the same seed; random leaves seeds to be drawn per job', () => {
    const fixed = seeds({ job: { template: 't' }, count: 3, seed: 'fixed' });
    expect(new Set(fixed).size).toBe(1);
    expect(fixed[0]).toEqual(expect.any(Number));
    expect(seeds({ job: { template: 't', params: { seed: 5 } }, count: 2, seed: 'fixed' })).toEqual([5, 5]);
    expect(seeds({ job: { template: 't', params: { prompt: 'x' } }, count: 3 })).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('vary makes the cartesian product, count jobs each, increment restarting per combination', () => {
    const jobs = run({
      job: { template: 't', params: { seed: 10 } },
      count: 2,
      seed: 'increment',
      vary: { prompt: ['cat', 'dog'], steps: [4, 8] },
    });
    expect(jobs.map((j) => [j.params.prompt, j.params.steps, j.params.seed, j.index])).toEqual([
      ['cat', 4, 10, 0],
      ['cat', 4, 11, 1],
      ['cat', 8, 10, 0],
      ['cat', 8, 11, 1],
      ['dog', 4, 10, 0],
      ['dog', 4, 11, 1],
      ['dog', 8, 10, 0],
      ['dog', 8, 11, 1],
    ]);
    expect(jobs[2]!.vary).toEqual({ prompt: 'cat', steps: 8 });
  });

  it('a varied seed is taken as given, whatever the mode', () => {
    expect(seeds({ job: { template: 't' }, count: 1, seed: 'increment', vary: { seed: [3, 9] } })).toEqual([3, 9]);
  });

  it('refuses what would silently make identical or impossible jobs, naming the problem', () => {
    expect(() => run({ job: { template: 't', params: { seed: 5 } }, count: 4 })).toThrow(
      /'seed' is given, so every variation would be the same image/,
    );
    expect(() => run({ job: { template: 't' }, vary: { colour: ['red'] } })).toThrow(
      new VariationError("vary names 'colour', which template 't' does not have (known: prompt, seed, steps)"),
    );
    expect(() => run({ job: { template: 't' }, count: 500, vary: { prompt: ['a', 'b', 'c'] } })).toThrow(
      'the variations make 1500 jobs; the limit is 1000',
    );
    expect(() => run({ job: { template: 't', params: { seed: 'abc' } }, count: 2, seed: 'fixed' })).toThrow(
      "seed: expected an integer seed, got 'abc'",
    );
    expect(BatchVariations.safeParse({ job: { graph: { 1: { class_type: 'X', inputs: {} } } } }).success).toBe(false);
    expect(() =>
      run({ job: { template: 't', params: { seed: (2n ** 64n).toString() } }, count: 2, seed: 'increment' }),
    ).toThrow('seed: 18446744073709551616 is outside 0..18446744073709551615');
  });

  it('counts the jobs before making them: three long lists are refused at once, not built', () => {
    const long = Array.from({ length: 1000 }, (_, i) => i + 1);
    const started = process.memoryUsage().heapUsed;
    expect(() => run({ job: { template: 't' }, vary: { prompt: long, steps: long, seed: long } })).toThrow(
      'the variations make 1000000000 jobs; the limit is 1000',
    );
    expect(process.memoryUsage().heapUsed - started).toBeLessThan(50_000_000);
  });
});
