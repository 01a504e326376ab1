import type { GatewayEvent, JobEventType } from '@comfygate/shared';
import type { EventsRepo } from '../types.js';
import type { Db } from './db.js';

export interface EventRow {
  id: number;
  type: string;
  job_id: string | null;
  data_json: string;
  at: number;
  owner?: string | null;
}

export const toEvent = (r: EventRow): GatewayEvent => ({
  id: r.id,
  type: r.type as JobEventType,
  jobId: r.job_id,
  at: r.at,
  data: JSON.parse(r.data_json) as Record<string, unknown>,
});

/**
 * Appends inside whatever transaction is open; `notify` queues the row for listeners after commit. The row takes
 * its job's owner (so streams can filter); an event of a job that has no row is nobody's, seen by admins only.
 */
export function makeEventWriter(db: Db, notify: (e: GatewayEvent, owner: string | null) => void) {
  const insert = db.prepare(`INSERT INTO events (type, job_id, data_json, at, owner)
    VALUES (@type, @jobId, @data, @at, CASE WHEN @jobId IS NULL THEN NULL ELSE (SELECT owner FROM jobs WHERE id = @jobId) END) RETURNING id, owner`);
  return (
    type: JobEventType,
    jobId: string | null,
    data: Record<string, unknown> = {},
    at = Date.now(),
  ): GatewayEvent => {
    const row = insert.get({ type, jobId, data: JSON.stringify(data), at }) as { id: number; owner: string | null };
    const e: GatewayEvent = { id: row.id, type, jobId, at, data };
    notify(e, row.owner);
    return e;
  };
}

export function makeEventsRepo(db: Db, write: ReturnType<typeof makeEventWriter>): EventsRepo {
  const after = db.prepare('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?');
  const afterOwned = db.prepare(
    'SELECT * FROM events WHERE id > ? AND (job_id IS NULL OR owner = ?) ORDER BY id LIMIT ?',
  );
  const last = db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events');
  return {
    async append(type, jobId, data) {
      return write(type, jobId, data);
    },
    async after(id, limit, owner) {
      return ((owner === undefined ? after.all(id, limit) : afterOwned.all(id, owner, limit)) as EventRow[]).map(
        toEvent,
      );
    },
    async lastId() {
      return (last.get() as { id: number }).id;
    },
  };
}
