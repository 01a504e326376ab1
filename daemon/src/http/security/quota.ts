import type { Daemon } from '../../daemon.js';
import { type QuotaClaim, quotaExceeded, utcDayStart } from '../../store/quota.js';
import type { Principal } from './tokens.js';

/** Every job creation, on /v1 or /api/v2, is audited under this action. */
export const JOB_CREATE_ACTION = 'job.create';
export const JOB_CREATE_ROUTES = new Set(['/v1/jobs', '/api/v2/jobs']);

/**
 * The caller's daily quota as a claim for the insert, which takes it atomically (store/quota.ts); undefined
 * when the token has none. A token already at its limit is refused here, before any template, enhancer or
 * asset work is spent on a request that cannot succeed; this early read decides nothing else.
 */
export async function dailyQuota(
  daemon: Daemon,
  p: Principal,
  opts: { idempotencyKey?: string } = {},
): Promise<QuotaClaim | undefined> {
  const claim = quotaClaim(p);
  if (!claim) return undefined;
  // A keyed request may be the replay of a job already made, which costs nothing: only the insert can tell.
  if (opts.idempotencyKey) return claim;
  const now = Date.now();
  const used = await daemon.store.tokens.quotaUsed(p.tokenId, utcDayStart(now));
  if (used >= claim.limit) throw quotaExceeded(claim, used, 1, now);
  return claim;
}

/** The caller's daily quota as a claim, without the early check (a retry has no work to spare: the store decides). */
export function quotaClaim(p: Principal): QuotaClaim | undefined {
  return p.dailyQuota === null ? undefined : { tokenId: p.tokenId, tokenName: p.name, limit: p.dailyQuota };
}
