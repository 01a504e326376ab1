/** A seed's bounds as ComfyUI declares them (uint64). */
export const SEED_MAX = 18446744073709551615n;

/** The parameters every sampling built-in shares, bound to its sampler, prompt, negative and checkpoint nodes. */
export const commonParams = (sampler: string, pos: string, neg: string, ckpt: string) => [
  { name: 'prompt', node: pos, input: 'text', type: 'string', default: '' },
  { name: 'negative', node: neg, input: 'text', type: 'string', default: '' },
  { name: 'seed', node: sampler, input: 'seed', type: 'int', min: 0, max: SEED_MAX },
  { name: 'steps', node: sampler, input: 'steps', type: 'int', default: 20, min: 1, max: 10000 },
  { name: 'cfg', node: sampler, input: 'cfg', type: 'float', default: 7, min: 0, max: 100 },
  { name: 'sampler', node: sampler, input: 'sampler_name', type: 'string', default: 'euler' },
  { name: 'scheduler', node: sampler, input: 'scheduler', type: 'string', default: 'normal' },
  { name: 'checkpoint', node: ckpt, input: 'ckpt_name', type: 'string', default: 'v1-5-pruned-emaonly.safetensors' },
];
