import { z } from 'zod';
import { GatewayError } from '../errors.js';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (!r.success) throw new GatewayError({ code: 'validation_failed', message: z.prettifyError(r.error), details: r.error.issues });
  return r.data;
}
