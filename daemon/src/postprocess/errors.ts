import { GatewayError } from '../errors.js';

/** The codes post-processing can fail with; each already maps to an HTTP status in the shared contract. */
export type PostprocessErrorCode =
  'validation_failed' | 'payload_too_large' | 'unsupported_media_type' | 'missing_asset' | 'storage_error';

/**
 * A GatewayError so that the HTTP layer needs no special case. `details.issues` lists every spec problem, each
 * naming the variant, op index and op (`variants.thumb.ops[2] (resize): width must be ≤ 16384`).
 */
export class PostprocessError extends GatewayError {
  declare readonly code: PostprocessErrorCode;

  constructor(opts: { code: PostprocessErrorCode; message: string; details?: unknown; cause?: unknown }) {
    super(opts);
    this.name = 'PostprocessError';
  }
}

export const isPostprocessError = (err: unknown): err is PostprocessError => err instanceof PostprocessError;
