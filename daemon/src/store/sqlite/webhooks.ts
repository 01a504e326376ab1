import type { JobEventType, WebhookEventType } from '@comfygate/shared';
import type { WebhookAttempt, WebhookDeliveryRecord, WebhookRecord, WebhooksRepo } from '../types.js';
import { ADMIN_TOKEN_ID } from '../../ownership/viewer.js';
import type { Db } from './db.js';
import { type EventRow, toEvent } from './events.js';

interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  event_types_json: string;
  job_id: string | null;
  batch_id: string | null;
  last_event_id: number;
  created_at: number;
  disabled_at: number | null;
  retired_at: number | null;
  owner: string;
}

const toWebhook = (r: WebhookRow): WebhookRecord => ({
  id: r.id,
  url: r.url,
  secret: r.secret,
  eventTypes: JSON.parse(r.event_types_json) as WebhookEventType[],
  jobId: r.job_id,
  batchId: r.batch_id,
  owner: r.owner,
  lastEventId: r.last_event_id,
  createdAt: r.created_at,
  disabledAt: r.disabled_at,
  retiredAt: r.retired_at,
});

interface DeliveryRow {
  id: number;
  webhook_id: string;
  event_id: number;
  attempt: number;
  status: number | null;
  error: string | null;
  delivered: number;
  at: number;
}

const toDelivery = (r: DeliveryRow): WebhookDeliveryRecord => ({
  id: r.id,
  webhookId: r.webhook_id,
  eventId: r.event_id,
  attempt: r.attempt,
  status: r.status,
  error: r.error,
  delivered: r.delivered === 1,
  at: r.at,
});

/**
 * Un-retires a job's subscriptions, for the transaction that appends an event to a job that may have finished
 * (a retry's `job:queued`, a chain's stop warning, `job:deleted`): in the same transaction, so a retirement
 * committed just before is undone and one just after fails its cursor check; either way the event goes out.
 * With `type`, only subscriptions that want that event type (a disabled one stays given up).
 */
export function prepareRevive(db: Db): (jobId: string, type?: JobEventType) => number {
  const all = db.prepare(
    'UPDATE webhooks SET retired_at = NULL WHERE job_id = ? AND retired_at IS NOT NULL AND disabled_at IS NULL',
  );
  const wanting =
    db.prepare(`UPDATE webhooks SET retired_at = NULL WHERE job_id = ? AND retired_at IS NOT NULL AND disabled_at IS NULL
    AND EXISTS (SELECT 1 FROM json_each(webhooks.event_types_json) t WHERE t.value IN ('*', ?))`);
  return (jobId, type) => (type ? wanting.run(jobId, type) : all.run(jobId)).changes;
}

export function makeWebhooksRepo(db: Db): WebhooksRepo {
  // The cursor is read inside the INSERT, so no event can slip in between "read last id" and "insert".
  const insert =
    db.prepare(`INSERT INTO webhooks (id, url, secret, event_types_json, job_id, batch_id, owner, last_event_id, created_at)
    VALUES (@id, @url, @secret, @eventTypesJson, @jobId, @batchId, @owner, (SELECT COALESCE(MAX(id), 0) FROM events), @now)`);
  const byId = db.prepare('SELECT * FROM webhooks WHERE id = ?');
  const all = db.prepare('SELECT * FROM webhooks ORDER BY created_at, id');
  const ownedBy = db.prepare('SELECT * FROM webhooks WHERE owner = ? ORDER BY created_at, id');
  const active = db.prepare(
    'SELECT * FROM webhooks WHERE disabled_at IS NULL AND retired_at IS NULL ORDER BY created_at, id',
  );
  // The job must have existed (it has events): a subscription registered just before its job's insert is not done.
  // The job gone with its events still there means it was deleted after it finished.
  const retire =
    db.prepare(`UPDATE webhooks SET retired_at = @now WHERE id = @id AND job_id IS NOT NULL AND retired_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = webhooks.job_id AND j.state NOT IN ('succeeded','failed','canceled'))
    AND last_event_id >= (SELECT COALESCE(MAX(e.id), 0) FROM events e WHERE e.job_id = webhooks.job_id)
    AND EXISTS (SELECT 1 FROM events e WHERE e.job_id = webhooks.job_id)`);
  const revive = prepareRevive(db);
  const del = db.prepare('DELETE FROM webhooks WHERE id = ?');
  const disable = db.prepare('UPDATE webhooks SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL');
  // A subscription deleted while its POST was in flight: the row is simply not written (no FK error).
  const record =
    db.prepare(`INSERT INTO webhook_deliveries (webhook_id, event_id, attempt, status, error, delivered, at)
    SELECT @webhookId, @eventId, @attempt, @status, @error, @delivered, @at WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = @webhookId)`);
  const advance = db.prepare('UPDATE webhooks SET last_event_id = ? WHERE id = ? AND last_event_id < ?');
  // The newest row of the subscription (index webhook_deliveries_hook): delivery is in order, one event at a time.
  const newest = db.prepare(
    'SELECT event_id, attempt FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT 1',
  );
  const deliveries = db.prepare('SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?');
  const jobEvents = db.prepare('SELECT * FROM events WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?');
  const batchOf = db.prepare('SELECT batch_id FROM jobs WHERE id = ?');

  const write = (a: WebhookAttempt, delivered: boolean) =>
    record.run({
      ...a,
      status: a.status ?? null,
      error: a.error ?? null,
      delivered: delivered ? 1 : 0,
      at: Date.now(),
    });
  const markDelivered = db.transaction((a: WebhookAttempt) => {
    write(a, true);
    advance.run(a.eventId, a.webhookId, a.eventId);
  });

  return {
    async create(w) {
      insert.run({
        ...w,
        owner: w.owner ?? ADMIN_TOKEN_ID,
        eventTypesJson: JSON.stringify(w.eventTypes),
        now: Date.now(),
      });
      return toWebhook(byId.get(w.id) as WebhookRow);
    },
    async get(id) {
      const r = byId.get(id) as WebhookRow | undefined;
      return r ? toWebhook(r) : null;
    },
    async list(owner) {
      return ((owner === undefined ? all.all() : ownedBy.all(owner)) as WebhookRow[]).map(toWebhook);
    },
    async active() {
      return (active.all() as WebhookRow[]).map(toWebhook);
    },
    async retireIfDone(id) {
      return retire.run({ id, now: Date.now() }).changes > 0;
    },
    async reviveForJob(jobId) {
      return revive(jobId);
    },
    async delete(id) {
      return del.run(id).changes > 0;
    },
    async disable(id) {
      disable.run(Date.now(), id);
    },
    async delivered(a) {
      markDelivered(a);
    },
    async failed(a) {
      write(a, false);
    },
    async advance(id, eventId) {
      advance.run(eventId, id, eventId);
    },
    async lastAttempt(webhookId, eventId) {
      const r = newest.get(webhookId) as { event_id: number; attempt: number } | undefined;
      return r && r.event_id === eventId ? r.attempt : 0;
    },
    async deliveries(webhookId, limit) {
      return (deliveries.all(webhookId, limit) as DeliveryRow[]).map(toDelivery);
    },
    async jobEvents(jobId, afterId, limit) {
      return (jobEvents.all(jobId, afterId, limit) as EventRow[]).map(toEvent);
    },
    async batchOf(jobId) {
      return (batchOf.get(jobId) as { batch_id: string | null } | undefined)?.batch_id ?? null;
    },
  };
}
