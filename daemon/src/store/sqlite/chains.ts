import type { ChainsRepo } from '../types.js';
import type { Db } from './db.js';
import type { makeEventWriter } from './events.js';

export function makeChainsRepo(db: Db, tx: <T>(fn: () => T) => T, writeEvent: ReturnType<typeof makeEventWriter>): ChainsRepo {
  const advanced = db.prepare('UPDATE jobs SET chain_next = ? WHERE id = ?');
  const stop = db.prepare(`UPDATE jobs SET chain_stopped = ? WHERE id = ? AND state = 'succeeded' AND then_json IS NOT NULL
    AND chain_next IS NULL AND chain_stopped IS NULL`);
  const stopped = db.prepare('SELECT chain_stopped AS reason FROM jobs WHERE id = ?');
  // The conditions of the partial index jobs_chain_open, so SQLite uses it. A child without chain_next is one
  // created just before a crash: it counts as made.
  const unadvanced = db.prepare(`SELECT id FROM jobs j WHERE state = 'succeeded' AND then_json IS NOT NULL AND chain_next IS NULL
    AND chain_stopped IS NULL AND NOT EXISTS (SELECT 1 FROM jobs c WHERE c.parent_job_id = j.id) ORDER BY seq`);
  return {
    async advanced(jobId, nextJobId) {
      advanced.run(nextJobId, jobId);
    },
    async stop(jobId, reason) {
      return tx(() => {
        if (stop.run(reason, jobId).changes === 0) return false;
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
