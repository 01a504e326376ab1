import type { Response } from 'express';
import type { Daemon } from '../../daemon.js';
import { GatewayError } from '../../errors.js';
import type { Principal } from './tokens.js';

/** Every job creation, on /v1 or /api/v2, is audited under this action; daily quotas count it. */
export const JOB_CREATE_ACTION = 'job.create';
export const JOB_CREATE_ROUTES = new Set(['/v1/jobs', '/api/v2/jobs']);

/** Throws `rate_limited` (with Retry-After until the next UTC day) once a token has used its daily quota. */
export async function checkDailyQuota(daemon: Daemon, p: Principal, res: Response, adding = 1): Promise<void> {
  if (p.dailyQuota === null) return;
  const now = new Date();
  const dayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  if ((await daemon.store.audit.countSince(p.tokenId, JOB_CREATE_ACTION, dayStart)) + adding <= p.dailyQuota) return;
  res.setHeader('Retry-After', String(Math.ceil((dayStart + 86_400_000 - now.getTime()) / 1000)));
  throw new GatewayError({ code: 'rate_limited', message: `daily quota of ${p.dailyQuota} jobs reached for token '${p.name}'` });
}
