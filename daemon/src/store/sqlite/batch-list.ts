import { type JobState, TERMINAL_STATES } from '@comfygate/shared';
import type { BatchRecord, BatchTally, BatchesRepo } from '../types.js';
import type { Db } from './db.js';

const COLUMNS = 'id, name, client, owner, job_count AS jobCount, created_at AS createdAt, canceled_at AS canceledAt';
const FINISHED = TERMINAL_STATES.map((s) => `'${s}'`).join(', ');
// An index probe per batch on jobs(batch_id, state): no job rows are read to tell an active batch from a done one.
const UNFINISHED = `EXISTS (SELECT 1 FROM jobs j WHERE j.batch_id = b.id AND j.state NOT IN (${FINISHED}))`;

const zeroCounts = (): Record<JobState, number> => ({
  queued: 0,
  dispatched: 0,
  running: 0,
  postprocessing: 0,
  succeeded: 0,
  failed: 0,
  canceled: 0,
});

/** The batch listing and its per-batch aggregates (migration 15 indexes both). */
export function makeBatchListing(db: Db): Pick<BatchesRepo, 'list' | 'tallies'> {
  // Ids go in as one JSON array: one prepared statement whatever the page size.
  const counts = db.prepare(`SELECT batch_id AS id, state, COUNT(*) AS n FROM jobs
    WHERE batch_id IN (SELECT value FROM json_each(?)) GROUP BY batch_id, state`);
  const means = db.prepare(`SELECT batch_id AS id, AVG(finished_at - started_at) AS mean FROM jobs
    WHERE batch_id IN (SELECT value FROM json_each(?)) AND state = 'succeeded'
      AND started_at IS NOT NULL AND finished_at IS NOT NULL GROUP BY batch_id`);
  return {
    async list(q) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.owner !== undefined) (where.push('b.owner = ?'), args.push(q.owner));
      if (q.before !== undefined) (where.push('b.seq < (SELECT seq FROM batches WHERE id = ?)'), args.push(q.before));
      if (q.state) where.push(q.state === 'active' ? UNFINISHED : `NOT ${UNFINISHED}`);
      const sql = `SELECT ${COLUMNS} FROM batches b ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
        ORDER BY b.seq DESC LIMIT ?`;
      return db.prepare(sql).all(...args, q.limit) as BatchRecord[];
    },
    async tallies(ids) {
      const out = new Map<string, BatchTally>();
      for (const r of counts.all(JSON.stringify(ids)) as { id: string; state: JobState; n: number }[]) {
        const t = out.get(r.id) ?? out.set(r.id, { counts: zeroCounts(), meanRunMs: null }).get(r.id)!;
        t.counts[r.state] = r.n;
      }
      // Only a batch with work left needs a mean (its ETA); a finished one's ETA follows from its counts alone.
      const unfinished = [...out]
        .filter(([, t]) => Object.entries(t.counts).some(([s, n]) => n > 0 && !TERMINAL_STATES.includes(s as JobState)))
        .map(([id]) => id);
      if (unfinished.length)
        for (const r of means.all(JSON.stringify(unfinished)) as { id: string; mean: number | null }[])
          out.get(r.id)!.meanRunMs = r.mean;
      return out;
    },
  };
}
