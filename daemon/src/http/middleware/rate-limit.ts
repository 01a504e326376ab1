import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../../errors.js';

/**
 * A token bucket per caller (token id, or address when unauthenticated), refilled continuously. `key` picks another
 * caller identity (pairing starts count per origin+address); `exempt` lets requests through uncharged.
 */
export function rateLimit(
  perMinute: number,
  opts: { key?: (req: Request) => string; exempt?: (req: Request) => boolean; what?: string } = {},
) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = perMinute / 60_000;
  return (req: Request, res: Response, next: NextFunction) => {
    if (opts.exempt?.(req)) return next();
    const key = opts.key?.(req) ?? req.principal?.tokenId ?? `ip:${req.socket.remoteAddress}`;
    const now = Date.now();
    const b = buckets.get(key) ?? { tokens: perMinute, at: now };
    b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * refillPerMs);
    b.at = now;
    buckets.set(key, b);
    if (buckets.size > 10_000) buckets.clear(); // bounded memory under a flood of distinct addresses
    if (b.tokens < 1) {
      res.setHeader('Retry-After', String(Math.ceil((1 - b.tokens) / refillPerMs / 1000)));
      return next(
        new GatewayError({
          code: 'rate_limited',
          message: `rate limit of ${perMinute} ${opts.what ?? 'requests'} per minute exceeded`,
        }),
      );
    }
    b.tokens -= 1;
    next();
  };
}
