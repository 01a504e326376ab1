import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, nearest } from './suggest.js';

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
