import type { z } from 'zod';
import { parseOrThrow } from '../validation.js';

/** A request body checked against its schema; a 400 names each problem as `path: expected, got`. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  return parseOrThrow(schema, body);
}
