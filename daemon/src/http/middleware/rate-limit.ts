import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../../errors.js';

/** A token bucket per caller (token id, or address when unauthenticated), refilled continuously. */
export function rateLimit(perMinute: number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = perMinute / 60_000;
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.principal?.tokenId ?? `ip:${req.socket.remoteAddress}`;
    const now = Date.now();
    const b = buckets.get(key) ?? { tokens: perMinute, at: now };
    b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * refillPerMs);
    b.at = now;
    buckets.set(key, b);
    if (buckets.size > 10_000) buckets.clear(); // bounded memory under a flood of distinct addresses
    if (b.tokens < 1) {
      res.setHeader('Retry-After', String(Math.ceil((1 - b.tokens) / refillPerMs / 1000)));
      return next(new GatewayError({ code: 'rate_limited', message: `rate limit of ${perMinute} requests per minute exceeded` }));
    }
    b.tokens -= 1;
    next();
  };
}
