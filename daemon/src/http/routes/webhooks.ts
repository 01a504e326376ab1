import { type Request, Router } from 'express';
import { CreateWebhook, ListWebhookDeliveriesQuery } from '@comfygate/shared';
import type { Daemon } from '../../daemon.js';
import { GatewayError } from '../../errors.js';
import { need, principalOf } from '../middleware/auth.js';
import { allows } from '../security/tokens.js';
import { parseBody } from '../validate.js';

/** A global subscription sees every job's events, so it takes an admin; a job- or batch-scoped one only submit. */
function requireAdminForGlobal(req: Request, scoped: boolean): void {
  if (scoped || allows(req.principal!.scope, 'admin')) return;
  throw new GatewayError({
    code: 'forbidden',
    message: "a webhook for all jobs needs scope 'admin'; give a jobId or batchId to subscribe with 'submit'",
  });
}

export function webhookRoutes(daemon: Daemon): Router {
  const webhooks = daemon.webhooks;
  const r = Router();

  r.post('/webhooks', need('submit'), async (req, res) => {
    const body = parseBody(CreateWebhook, req.body);
    requireAdminForGlobal(req, Boolean(body.jobId || body.batchId));
    const p = req.principal!;
    // 404 for an unknown job or batch, and for another token's: a subscription reads its events.
    if (body.jobId) await daemon.get(body.jobId, p);
    if (body.batchId) await daemon.batches.get(body.batchId, p);
    const created = await webhooks.register(body, p.tokenId);
    res.setHeader('Location', `/v1/webhooks/${created.id}`);
    res.status(201).json(created);
  });

  r.get('/webhooks', need('submit'), async (req, res) => void res.json(await webhooks.list(principalOf(req))));

  r.get(
    '/webhooks/:id',
    need('submit'),
    async (req, res) => void res.json(await webhooks.get(req.params.id as string, principalOf(req))),
  );

  r.get('/webhooks/:id/deliveries', need('submit'), async (req, res) => {
    const { limit } = parseBody(ListWebhookDeliveriesQuery, req.query);
    res.json(await webhooks.deliveries(req.params.id as string, limit, principalOf(req)));
  });

  r.delete('/webhooks/:id', need('submit'), async (req, res) => {
    const hook = await webhooks.get(req.params.id as string, principalOf(req));
    requireAdminForGlobal(req, Boolean(hook.jobId || hook.batchId));
    await webhooks.remove(hook.id, principalOf(req));
    res.status(204).end();
  });

  return r;
}
