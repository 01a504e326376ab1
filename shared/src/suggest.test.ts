import { describe, expect, it } from 'vitest';
import { MAX_SUGGESTED_NAME, didYouMean, editDistance, nearest } from './suggest.js';

describe('nearest names', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('stpes', 'steps')).toBe(1);
    expect(editDistance('txt2imgg', 'txt2img')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests close names first, and nothing for a stranger', () => {
    const params = ['prompt', 'negative', 'seed', 'steps', 'cfg', 'sampler', 'scheduler', 'denoise'];
    expect(nearest('stpes', params)).toEqual(['steps']);
    expect(nearest('Sampler_name', params)).toEqual(['sampler']);
    expect(nearest('colour', params)).toEqual([]);
    expect(didYouMean('promt', params)).toBe(" (did you mean 'prompt'?)");
    expect(didYouMean('zzz', params)).toBe('');
  });
});

describe('nearest on hostile input', () => {
  it('suggests nothing for a name longer than MAX_SUGGESTED_NAME, even one containing a candidate', () => {
    const long = `euler${'x'.repeat(MAX_SUGGESTED_NAME)}`;
    expect(nearest(long, ['euler', 'heun'])).toEqual([]);
    expect(nearest(long.slice(0, MAX_SUGGESTED_NAME), ['euler'])).toEqual(['euler']);
  });

  it('gives the same answers when candidates far off in length are skipped', () => {
    const names = ['stpes', 'smapler', 'widht', 'cfg', 'light', 'x', 'seeed'];
    const candidates = ['steps', 'sampler', 'width', 'height', 'cfg_scale', 'lighthouse', 'seed', 'denoise'];
    for (const n of names) {
      const slow = candidates
        .filter((c) => c !== n)
        .map((c) => ({ c, d: editDistance(n.toLowerCase(), c.toLowerCase()) }))
        .filter((x) => x.d <= Math.max(1, Math.floor(n.length / 3)))
        .map((x) => x.c);
      for (const c of slow) expect(nearest(n, candidates, 10)).toContain(c);
    }
  });
});
