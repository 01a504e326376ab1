import type { GatewayEvent, JobEventType } from '@comfygate/shared';
import type { EventsRepo } from '../types.js';
import type { Db } from './db.js';

export interface EventRow { id: number; type: string; job_id: string | null; data_json: string; at: number }

export const toEvent = (r: EventRow): GatewayEvent => ({
  id: r.id,
  type: r.type as JobEventType,
  jobId: r.job_id,
  at: r.at,
  data: JSON.parse(r.data_json) as Record<string, unknown>,
});

/** Appends inside whatever transaction is open; `notify` queues the row for listeners after commit. */
export function makeEventWriter(db: Db, notify: (e: GatewayEvent) => void) {
  const insert = db.prepare('INSERT INTO events (type, job_id, data_json, at) VALUES (?, ?, ?, ?)');
  return (type: JobEventType, jobId: string | null, data: Record<string, unknown> = {}, at = Date.now()): GatewayEvent => {
    const info = insert.run(type, jobId, JSON.stringify(data), at);
    const e: GatewayEvent = { id: Number(info.lastInsertRowid), type, jobId, at, data };
    notify(e);
    return e;
  };
}

export function makeEventsRepo(db: Db, write: ReturnType<typeof makeEventWriter>): EventsRepo {
  const after = db.prepare('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?');
  const last = db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events');
  return {
    async append(type, jobId, data) {
      return write(type, jobId, data);
    },
    async after(id, limit) {
      return (after.all(id, limit) as EventRow[]).map(toEvent);
    },
    async lastId() {
      return (last.get() as { id: number }).id;
    },
  };
}
