import { describe, expect, it } from 'vitest';
import { TemplateParamMap, type ComfyGraph } from '@comfygate/shared';
import { applyParams } from './apply.js';
import { uiToApi } from './convert.js';
import { hiresBuilder } from './fixtures/graphs.js';
import { objectInfo } from './fixtures/support.js';
import { detectParams } from './params.js';

const info = objectInfo();
const converted = uiToApi(hiresBuilder().workflow(), info);
const graph = (converted.ok ? converted.graph : {}) as ComfyGraph;
const params = detectParams(graph, info);

describe('applyParams', () => {
  it('writes valid values into a copy of the graph and leaves the original alone', () => {
    const result = applyParams(graph, params, {
      prompt: 'a lighthouse',
      seed: 2n ** 64n - 1n,
      seed_2: '9007199254740993',
      steps: 30,
      denoise_2: 0.45,
      sampler_name: 'euler_ancestral',
      width: 1024,
    });
    expect(result.ok).toBe(true);
    const g = result.ok ? result.graph : {};
    expect(g['6']?.inputs.text).toBe('a lighthouse');
    expect(g['3']?.inputs).toMatchObject({ seed: 18446744073709551615n, steps: 30, sampler_name: 'euler_ancestral' });
    expect(g['11']?.inputs).toMatchObject({ seed: 9007199254740993n, denoise: 0.45, steps: 15 });
    expect(g['5']?.inputs.width).toBe(1024);
    expect(graph['6']?.inputs.text).toBe('a red fox');
  });

  it('rejects bad values with messages that name the parameter', () => {
    const result = applyParams(graph, params, {
      steps: 0,
      seed: 2n ** 64n,
      seed_2: -1,
      cfg: 'high',
      denoise_2: 1.5,
      steps_2: 2.5,
      scheduler: 'nope',
      sampler_name: 7,
      prompt: 42,
      colour: 'red',
    });
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([
      'steps: 0 is below the minimum 1',
      'seed: 18446744073709551616 is above the maximum 18446744073709551615',
      'seed_2: -1 is below the minimum 0',
      "cfg: expected a number, got 'high'",
      'denoise_2: 1.5 is above the maximum 1',
      'steps_2: expected an integer, got 2.5',
      "scheduler: 'nope' is not one of simple, sgm_uniform, karras, exponential, ddim_uniform, beta, normal, linear_quadratic, kl_optimal",
      expect.stringMatching(/^sampler_name: 7 is not one of 42 options \(euler, euler_cfg_pp, [^)]*, \.\.\.\)$/),
      'prompt: expected a string, got 42',
      expect.stringMatching(/^colour: unknown parameter \(known: prompt, negative, seed, /),
    ]);
    expect(result.ok ? [] : result.errors.map((e) => e.param)).toContain('denoise_2');
  });

  it('suggests the nearest parameter and option, and takes sampler and sampler_name for one another', () => {
    const result = applyParams(graph, params, { stpes: 3, sampler: 'eulr_ancestral', sampler_name_2: 'euler' });
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^stpes: unknown parameter \(did you mean 'steps'\?\) \(known: prompt, /),
      expect.stringMatching(
        /^sampler: 'eulr_ancestral' is not one of 42 options \(.*\) \(did you mean 'euler_ancestral'/,
      ),
    ]);
    const ok = applyParams(graph, params, { sampler_name: 'euler_ancestral', sampler_2: 'heun' });
    expect(ok.ok && [ok.graph['3']?.inputs.sampler_name, ok.graph['11']?.inputs.sampler_name]).toEqual([
      'euler_ancestral',
      'heun',
    ]);
    // A template imported before the rename keeps `sampler_name`; `sampler` reaches it as well.
    const older = params.map((p) => (p.name === 'sampler' ? { ...p, name: 'sampler_name' } : p));
    const old = applyParams(graph, older, { sampler: 'heun' });
    expect(old.ok && old.graph['3']?.inputs.sampler_name).toBe('heun');
  });

  it('checks booleans and images, and names a node missing from the graph', () => {
    const extra = [
      { name: 'flag', node: '5', input: 'flag', type: 'boolean' as const },
      { name: 'image', node: '99', input: 'image', type: 'image' as const },
    ];
    const result = applyParams(graph, extra, { flag: 'yes', image: 'in.png' });
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([
      "flag: expected true or false, got 'yes'",
      'image: node 99 is not in the graph',
    ]);
    expect(applyParams(graph, extra, { image: '' }).ok).toBe(false);
  });
});

describe('TemplateParamMap (shared zod schema)', () => {
  it('accepts detected maps, including bigint bounds', () => {
    expect(TemplateParamMap.safeParse(params).success).toBe(true);
  });

  it('rejects duplicate names, one input bound twice, enums without options and bounds on strings', () => {
    const base = { node: '3', input: 'steps', type: 'int' as const };
    const bad = TemplateParamMap.safeParse([
      { ...base, name: 'steps' },
      { ...base, name: 'steps' },
      { ...base, name: 'other' },
      { name: 'mode', node: '3', input: 'x', type: 'enum' },
      { name: 'text', node: '6', input: 'text', type: 'string', min: 1 },
      { name: '2fast', node: '3', input: 'y', type: 'int', min: 5, max: 1 },
    ]);
    const messages = bad.success ? [] : bad.error.issues.map((i) => i.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        "parameter 'steps' is defined twice",
        "'other' and 'steps' both bind node 3 input steps",
        'an enum parameter needs options',
        'min and max only apply to int and float parameters',
        'max is below min',
        'a parameter name is letters, digits and _, not starting with a digit',
      ]),
    );
  });
});
