import { type ErrorCode, type ErrorBody, HTTP_STATUS } from '@comfygate/shared';

/** The daemon's one exception type. Only the HTTP error middleware turns it into a response. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  /** Sent as `Retry-After` (whole seconds) when the refusal has a known end, e.g. a daily quota. */
  readonly retryAfterSec: number | undefined;

  constructor(opts: { code: ErrorCode; message: string; details?: unknown; cause?: unknown; retryAfterSec?: number }) {
    super(opts.message, { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = opts.code;
    this.details = opts.details;
    this.retryAfterSec = opts.retryAfterSec;
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** Wraps anything thrown as an `internal` GatewayError, keeping the original as `cause`. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GatewayError({ code: 'internal', message, cause: err });
}
