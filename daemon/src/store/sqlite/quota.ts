import { type QuotaClaim, quotaExceeded, utcDayStart } from '../quota.js';
import type { Db } from './db.js';

/**
 * The per-token daily counter (table token_quota). `take` is one conditional upsert: it adds `n` only if the
 * day's total stays within the limit, so whoever commits first wins and nobody overshoots. A row from an
 * earlier day counts as zero (and a clock that stepped back keeps counting the later day, never resets it).
 */
export function makeQuotaCounter(db: Db) {
  const take = db.prepare(`INSERT INTO token_quota (token_id, day, used) SELECT @tokenId, @day, @n WHERE @n <= @limit
    ON CONFLICT (token_id) DO UPDATE SET used = (CASE WHEN day >= excluded.day THEN used ELSE 0 END) + excluded.used, day = MAX(day, excluded.day)
    WHERE (CASE WHEN day >= excluded.day THEN used ELSE 0 END) + excluded.used <= @limit`);
  const usedOn = db.prepare('SELECT used FROM token_quota WHERE token_id = ? AND day >= ?');
  const used = (tokenId: string, day: number) => (usedOn.get(tokenId, day) as { used: number } | undefined)?.used ?? 0;
  return {
    used,
    /** Call inside the insert's transaction: throws `rate_limited` (rolling the insert back) when `n` more do not fit. */
    take(claim: QuotaClaim, n: number): void {
      const now = Date.now();
      const day = utcDayStart(now);
      if (take.run({ tokenId: claim.tokenId, day, n, limit: claim.limit }).changes === 0)
        throw quotaExceeded(claim, used(claim.tokenId, day), n, now);
    },
  };
}
