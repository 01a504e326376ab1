import type { ChainsRepo } from '../types.js';
import type { Db } from './db.js';
import type { makeEventWriter } from './events.js';
import { prepareRevive } from './webhooks.js';

/** A step's insert records it on its parent (jobs.ts `create`), only while the chain is open: made once, never after a stop. */
export const prepareChainAdvance = (db: Db) =>
  db.prepare('UPDATE jobs SET chain_next = ? WHERE id = ? AND chain_next IS NULL AND chain_stopped IS NULL');

export function makeChainsRepo(
  db: Db,
  tx: <T>(fn: () => T) => T,
  writeEvent: ReturnType<typeof makeEventWriter>,
): ChainsRepo {
  const stop =
    db.prepare(`UPDATE jobs SET chain_stopped = ? WHERE id = ? AND state = 'succeeded' AND then_json IS NOT NULL
    AND chain_next IS NULL AND chain_stopped IS NULL`);
  const stopped = db.prepare('SELECT chain_stopped AS reason FROM jobs WHERE id = ?');
  const revive = prepareRevive(db);
  // The conditions of the partial index jobs_chain_open, so SQLite uses it. A step is inserted with its parent's
  // chain_next (one transaction) and migration 11 filled it in for older steps; the NOT EXISTS is a safety net.
  const unadvanced =
    db.prepare(`SELECT id FROM jobs j WHERE state = 'succeeded' AND then_json IS NOT NULL AND chain_next IS NULL
    AND chain_stopped IS NULL AND NOT EXISTS (SELECT 1 FROM jobs c WHERE c.parent_job_id = j.id) ORDER BY seq`);
  return {
    async stop(jobId, reason) {
      return tx(() => {
        if (stop.run(reason, jobId).changes === 0) return false;
        revive(jobId, 'job:warning'); // the job finished: its webhook may have retired before this warning
        writeEvent('job:warning', jobId, { message: reason, chainStopped: true });
        return true;
      });
    },
    async stoppedReason(jobId) {
      return (stopped.get(jobId) as { reason: string | null } | undefined)?.reason ?? null;
    },
    async unadvanced() {
      return (unadvanced.all() as { id: string }[]).map((r) => r.id);
    },
  };
}
