import { Router } from 'express';
import type { Daemon } from '../../daemon.js';
import { GatewayError } from '../../errors.js';
import { SetPriority } from '@comfygate/shared';
import { need, principalOf } from '../middleware/auth.js';
import { parseBody } from '../validate.js';
import { dailyQuota, quotaClaim } from '../security/quota.js';
import { summarizeJob } from '../../jobs/summary.js';

export function jobRoutes(daemon: Daemon): Router {
  const r = Router();

  r.post('/jobs', need('submit'), async (req, res) => {
    const p = req.principal!;
    const key = req.get('idempotency-key');
    if (key !== undefined && (key.length === 0 || key.length > 200)) {
      throw new GatewayError({ code: 'bad_request', message: 'Idempotency-Key must be 1 to 200 characters' });
    }
    const quota = await dailyQuota(daemon, p, { idempotencyKey: key });
    const { job, created } = await daemon.submit(req.body, {
      idempotencyKey: key ? `${p.tokenId}:${key}` : undefined,
      caller: p.name,
      quota,
      viewer: p,
    });
    res.setHeader('Location', `/v1/jobs/${job.id}`);
    res.status(created ? 201 : 200).json(job);
  });

  r.get('/jobs', need('read'), async (req, res) => {
    const jobs = await daemon.list(req.query, principalOf(req));
    const limit = Number(req.query.limit ?? 50);
    // Summaries: a page of whole jobs could be hundreds of MB (prompts, metadata, text outputs).
    res.json({
      jobs: jobs.map(summarizeJob),
      nextCursor: jobs.length === limit && jobs.length > 0 ? jobs[jobs.length - 1]!.id : null,
    });
  });

  r.get('/jobs/:id', need('read'), async (req, res) => {
    res.json(await daemon.get(req.params.id as string, principalOf(req)));
  });

  r.get('/jobs/:id/preview', need('read'), async (req, res) => {
    await daemon.get(req.params.id as string, principalOf(req));
    const p = daemon.preview(req.params.id as string);
    if (!p) throw new GatewayError({ code: 'not_found', message: 'no preview for this job (yet)' });
    res.setHeader('Cache-Control', 'no-store');
    res.type(p.mime).send(p.image);
  });

  r.post('/jobs/:id/cancel', need('submit'), async (req, res) => {
    res.json(await daemon.cancel(req.params.id as string, principalOf(req)));
  });

  r.post('/jobs/:id/retry', need('submit'), async (req, res) => {
    // A new run costs a job of the caller's daily quota, taken with the move back to the queue (429 moves nothing).
    res.json(
      await daemon.retry(req.params.id as string, { quota: quotaClaim(req.principal!), viewer: principalOf(req) }),
    );
  });

  r.post('/jobs/:id/priority', need('submit'), async (req, res) => {
    res.json(
      await daemon.setPriority(req.params.id as string, parseBody(SetPriority, req.body).priority, principalOf(req)),
    );
  });

  r.delete('/jobs/:id', need('submit'), async (req, res) => {
    await daemon.remove(req.params.id as string, principalOf(req));
    res.status(204).end();
  });

  return r;
}
