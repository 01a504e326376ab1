import { z } from 'zod';

/** Every error comfygate reports has one of these string codes; the HTTP status follows from the code alone. */
export const ErrorCode = z.enum([
  'bad_request',
  'validation_failed',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'idempotency_mismatch',
  'payload_too_large',
  'range_not_satisfiable',
  'unsupported_media_type',
  'rate_limited',
  'no_capable_backend',
  'missing_asset',
  'comfy_validation',
  'comfy_execution',
  'backend_unavailable',
  'storage_error',
  'canceled',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_mismatch: 422,
  payload_too_large: 413,
  range_not_satisfiable: 416,
  unsupported_media_type: 415,
  rate_limited: 429,
  no_capable_backend: 422,
  missing_asset: 422,
  comfy_validation: 422,
  comfy_execution: 422,
  backend_unavailable: 503,
  storage_error: 507,
  canceled: 409,
  internal: 500,
};

export const ErrorDetail = z.object({
  code: ErrorCode,
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorDetail = z.infer<typeof ErrorDetail>;

export const ErrorBody = z.object({ error: ErrorDetail });
export type ErrorBody = z.infer<typeof ErrorBody>;
