import { GatewayError } from '../errors.js';

/**
 * A token's daily job quota, handed to the insert of the job(s) it pays for. The store checks and counts it in
 * the insert's own transaction, so parallel submits cannot all pass a check made earlier, and a submission
 * refused before its insert (or rolled back) takes nothing.
 */
export interface QuotaClaim {
  tokenId: string;
  /** For the refusal's message. */
  tokenName: string;
  /** Jobs per UTC day. */
  limit: number;
}

const DAY_MS = 86_400_000;

/** Start (ms) of the UTC day `now` falls in: the counter starts again from zero at each. */
export const utcDayStart = (now: number): number => now - (now % DAY_MS);

/** The refusal: 429, with Retry-After until the next UTC day. */
export function quotaExceeded(claim: QuotaClaim, used: number, asked: number, now = Date.now()): GatewayError {
  const resetsAt = utcDayStart(now) + DAY_MS;
  return new GatewayError({
    code: 'rate_limited',
    message: `daily quota of ${claim.limit} jobs reached for token '${claim.tokenName}': ${used} used today, ${asked} more asked`,
    details: { dailyQuota: claim.limit, used, asked, resetsAt },
    retryAfterSec: Math.max(1, Math.ceil((resetsAt - now) / 1000)),
  });
}
