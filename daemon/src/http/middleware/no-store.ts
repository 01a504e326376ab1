import type { NextFunction, Request, Response } from 'express';

/**
 * API answers are private (prompts, jobs, tokens, pairing requests) and a browser holding a session cookie would
 * otherwise keep them in its disk cache after signing out. Routes that serve content-addressed files (outputs,
 * assets) or streams set their own Cache-Control over this default.
 */
export function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Cache-Control', 'no-store');
  next();
}
