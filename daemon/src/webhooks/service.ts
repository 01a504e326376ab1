import crypto from 'node:crypto';
import { z } from 'zod';
import { CreateWebhook, DEFAULT_WEBHOOK_EVENTS, type Webhook, type WebhookDelivery } from '@comfygate/shared';
import { GatewayError } from '../errors.js';
import { checkOwner, ownerFilter, type Viewer } from '../ownership/viewer.js';
import type { Store, WebhookRecord } from '../store/types.js';
import { generateSecret, maskSecret } from './signing.js';
import { validationError } from '../validation.js';

export interface WebhookService {
  /**
   * Validates and stores a subscription; the answer carries the full secret (the only time it is shown).
   * It starts at the newest event: no backlog. Scope existence is the caller's check (a job-scoped webhook
   * may be registered just before its job is created, so it also hears `job:queued`).
   */
  register(input: CreateWebhook, owner?: string): Promise<Webhook>;
  /** The subscriptions the viewer may see; another token's is not found (or, for a see-all token, not removable). */
  list(viewer: Viewer): Promise<Webhook[]>;
  get(id: string, viewer: Viewer): Promise<Webhook>;
  deliveries(id: string, limit: number, viewer: Viewer): Promise<WebhookDelivery[]>;
  remove(id: string, viewer: Viewer): Promise<void>;
  /** A retried job's retired subscriptions hear its new run (they resume after the event they stopped at). */
  reviveForJob(jobId: string): Promise<void>;
}

export const toWebhookView = (r: WebhookRecord, showSecret = false): Webhook => ({
  id: r.id,
  url: r.url,
  secret: showSecret ? r.secret : maskSecret(r.secret),
  events: r.eventTypes,
  jobId: r.jobId,
  batchId: r.batchId,
  lastEventId: r.lastEventId,
  createdAt: r.createdAt,
  disabledAt: r.disabledAt,
  retiredAt: r.retiredAt,
});

function parse(input: unknown): z.output<typeof CreateWebhook> {
  const r = CreateWebhook.safeParse(input);
  if (!r.success) throw validationError(r.error, input);
  return r.data;
}

/** `onChange` tells the dispatcher to re-read the subscription list. */
export function makeWebhookService(store: Store, onChange: () => void): WebhookService {
  const record = async (id: string, viewer: Viewer, act = false) => {
    const r = await store.webhooks.get(id);
    if (!r) throw new GatewayError({ code: 'not_found', message: `no webhook ${id}` });
    checkOwner(viewer, r.owner, `webhook ${id}`, act);
    return r;
  };
  return {
    async register(input, owner) {
      const w = parse(input);
      const events = w.events?.includes('*') ? ['*' as const] : [...new Set(w.events ?? DEFAULT_WEBHOOK_EVENTS)];
      const created = await store.webhooks.create({
        id: `wh_${crypto.randomBytes(8).toString('hex')}`,
        url: w.url,
        secret: w.secret ?? generateSecret(),
        eventTypes: events,
        jobId: w.jobId ?? null,
        batchId: w.batchId ?? null,
        owner,
      });
      onChange();
      return toWebhookView(created, true);
    },
    async list(viewer) {
      return (await store.webhooks.list(ownerFilter(viewer))).map((r) => toWebhookView(r));
    },
    async get(id, viewer) {
      return toWebhookView(await record(id, viewer));
    },
    async deliveries(id, limit, viewer) {
      await record(id, viewer);
      return (await store.webhooks.deliveries(id, limit)).map(({ id: _id, webhookId: _w, ...d }) => d);
    },
    async remove(id, viewer) {
      await record(id, viewer, true);
      if (!(await store.webhooks.delete(id)))
        throw new GatewayError({ code: 'not_found', message: `no webhook ${id}` });
      onChange();
    },
    async reviveForJob(jobId) {
      if ((await store.webhooks.reviveForJob(jobId)) > 0) onChange();
    },
  };
}
