import { Router } from 'express';
import { answerCors, type OriginPolicy } from '../middleware/host-origin.js';

/**
 * `/healthz` stays open to any Host and Origin (probes and supervisors call it), but a browser client can only
 * read the answer with CORS headers: the Figma plugin's iframe (origin `null`) asks it whether a daemon is there
 * before it has a token. Allowed origins get the headers; others still get the answer, unreadable to their page.
 */
export function healthRoutes(policy: OriginPolicy): Router {
  const r = Router();
  r.all('/healthz', (req, res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined && policy.originAllowed(origin) && answerCors(req, res, origin)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    res.json({ ok: true });
  });
  return r;
}
