/** A template's parameters as a JSON schema, for clients to render forms and check values before sending. */
import type { TemplateParam } from '@comfygate/shared';
import { isSeedParam } from './seeds.js';

/** Integers beyond 2^53 travel as digit strings in JSON. */
export const jsonSafe = (v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

/** Parameters a job must give: images without a default (a reference image has no sensible stand-in). */
export const requiredParams = (params: TemplateParam[]): string[] =>
  params.filter((p) => p.type === 'image' && p.default === undefined).map((p) => p.name);

const TYPE = {
  string: 'string',
  int: 'integer',
  float: 'number',
  enum: 'string',
  image: 'string',
  boolean: 'boolean',
} as const;
const num = (v: unknown) =>
  typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined) : (v as number | undefined);

export function paramsSchema(name: string, params: TemplateParam[]): Record<string, unknown> {
  const properties = Object.fromEntries(
    params.map((p) => [
      p.name,
      {
        type: TYPE[p.type],
        ...(p.options ? { enum: p.options } : {}),
        ...(num(p.min) !== undefined ? { minimum: num(p.min) } : {}),
        ...(num(p.max) !== undefined ? { maximum: num(p.max) } : {}),
        ...(p.default !== undefined ? { default: jsonSafe(p.default) } : {}),
        ...(p.type === 'image' ? { description: 'an asset id (sha256 from POST /v1/assets)', format: 'asset-id' } : {}),
        ...(isSeedParam(p.name) ? { description: 'omit, or "random", for a random seed per job' } : {}),
      },
    ]),
  );
  const required = requiredParams(params);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: name,
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  };
}
