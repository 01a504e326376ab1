import { Router } from 'express';
import type { Daemon } from '../../daemon.js';
import type { StreamSlots } from '../limits/per-token.js';
import type { OpenStreams } from '../security/open-streams.js';
import { losslessJson } from '../middleware/json.js';
import { assetRoutes, assetUploadRoutes } from './assets.js';
import { v2ErrorHandler, v2NotFound } from './errors.js';
import { eventRoutes } from './events.js';
import { jobRoutes } from './jobs.js';

/**
 * Comfy API v2 (docs/api-v2.md) on top of the daemon, so `@comfyorg/sdk` pointed at
 * comfygate works unchanged. Mounted at /api/v2 behind the gateway's Host/Origin guard, token auth and
 * rate limit; every error below comes out in the v2 envelope.
 */
export function v2Router(daemon: Daemon, opts: { streams: StreamSlots; open?: OpenStreams }): Router {
  const r = Router();
  // Uploads stream the raw multipart body, so they come before the JSON parser.
  r.use(assetUploadRoutes(daemon));
  // Lossless: seeds above 2^53 reach ComfyUI exact.
  r.use(losslessJson(daemon.config.security.maxJsonBytes, daemon.config.security.maxJsonDepth));
  r.use(jobRoutes(daemon));
  r.use(eventRoutes(daemon, opts.streams, opts.open));
  r.use(assetRoutes(daemon));
  r.use(v2NotFound);
  r.use(v2ErrorHandler(daemon.log));
  return r;
}
