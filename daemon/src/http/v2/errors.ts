import type { NextFunction, Request, Response } from 'express';
import type { ErrorCode } from '@comfygate/shared';
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../log.js';

/**
 * An error in Comfy API v2 terms (spec §3). It extends GatewayError so that code which only knows
 * GatewayError (AssetFiles.write's `inspect`, for one) passes it through untouched.
 */
export class V2Error extends GatewayError {
  constructor(
    readonly httpStatus: number,
    readonly v2code: string,
    message: string,
    readonly v2details: Record<string, unknown> | null = null,
  ) {
    super({ code: 'bad_request', message });
  }
}

export const invalidRequest = (message: string, details: Record<string, unknown> | null = null) =>
  new V2Error(400, 'invalid_request', message, details);
export const notFound = (what: string) => new V2Error(404, 'not_found', `no ${what}`);

/** comfygate code → [HTTP status, v2 code]. Anything unlisted is an `upstream_error` 500 (§3: "every operation can fail this way"). */
const MAP: Partial<Record<ErrorCode, [number, string]>> = {
  bad_request: [400, 'invalid_request'],
  validation_failed: [400, 'invalid_request'],
  unauthorized: [401, 'unauthorized'],
  forbidden: [403, 'forbidden'],
  not_found: [404, 'not_found'],
  conflict: [409, 'conflict'],
  payload_too_large: [413, 'payload_too_large'],
  unsupported_media_type: [415, 'unsupported_media_type'],
  idempotency_mismatch: [422, 'idempotency_key_reuse'],
  missing_asset: [422, 'missing_asset'],
  no_capable_backend: [422, 'invalid_workflow'],
  comfy_validation: [422, 'invalid_workflow'],
  rate_limited: [429, 'rate_limited'],
};

/** `details` must be an object or null on the wire; arrays (zod issues, per-backend lists) are wrapped. */
function asDetails(d: unknown): Record<string, unknown> | null {
  if (d === undefined || d === null) return null;
  if (Array.isArray(d)) return { issues: d };
  return typeof d === 'object' ? (d as Record<string, unknown>) : { detail: d };
}

/** Body-parser failures (express.text) carry an http-errors `type`. */
function fromParser(err: unknown): V2Error | null {
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.too.large') return new V2Error(413, 'payload_too_large', 'request body too large');
  if (e?.type === 'entity.parse.failed' || e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return invalidRequest(e.message ?? 'unreadable body');
  if (!(err instanceof GatewayError) && typeof e?.status === 'number' && e.status >= 400 && e.status < 500)
    return invalidRequest(e.message ?? 'bad request');
  return null;
}

export function toV2(err: unknown): V2Error {
  if (err instanceof V2Error) return err;
  const parsed = fromParser(err);
  if (parsed) return parsed;
  const mapped = err instanceof GatewayError ? MAP[err.code] : undefined;
  if (!mapped || !(err instanceof GatewayError))
    return new V2Error(500, 'upstream_error', 'the gateway could not complete this request');
  return new V2Error(mapped[0], mapped[1], err.message, asDetails(err.details));
}

/** The v2 envelope `{error: {code, message, details}}` for everything under /api/v2. */
export function v2ErrorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toV2(err);
    // The 500 message is generic by contract; the real cause goes to the log only.
    if (e.httpStatus >= 500)
      log.error({ err, method: req.method, path: req.originalUrl.split('?')[0] }, 'v2 request failed');
    if (res.headersSent) return void res.destroy();
    if (err instanceof GatewayError && err.retryAfterSec !== undefined)
      res.setHeader('Retry-After', String(err.retryAfterSec));
    res.status(e.httpStatus).json({ error: { code: e.v2code, message: e.message, details: e.v2details } });
  };
}

export function v2NotFound(req: Request, _res: Response, next: NextFunction) {
  next(new V2Error(404, 'not_found', `no route ${req.method} ${req.baseUrl}${req.path}`));
}
