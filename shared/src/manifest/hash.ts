import { createHash } from 'node:crypto';
import type { ResolvedEntry } from './resolve.js';

/** JSON with object keys sorted at every level, so equal inputs hash equal whatever order they were written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}

export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * An entry's input hash: the template's graph (its sha256 as the daemon reports it), the parameters (prompt, size,
 * seed, …), the post-processing and the output paths. Bumping the version prefix regenerates everything.
 */
export function inputHash(r: ResolvedEntry, templateGraphSha256: string): string {
  const inputs = {
    graph: templateGraphSha256,
    template: r.template,
    params: r.params,
    postprocess: r.postprocess,
    files: r.files,
  };
  return `v1:${sha256Hex(canonicalJson(inputs))}`;
}
