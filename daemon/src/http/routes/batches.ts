import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import type { Daemon } from '../../daemon.js';
import { need, principalOf } from '../middleware/auth.js';
import { dailyQuota } from '../security/quota.js';

export function batchRoutes(daemon: Daemon): Router {
  const r = Router();
  r.post('/batches', need('submit'), async (req, res) => {
    const p = req.principal!;
    // Each job of the batch (a matrix's whole product) is taken from the daily quota when the batch is inserted.
    const batch = await daemon.batches.create(req.body, p.name, await dailyQuota(daemon, p), p);
    res.setHeader('Location', `/v1/batches/${batch.id}`);
    res.status(201).json(batch);
  });
  // Summaries, not whole batches: a page of 200 could otherwise carry 200,000 job ids.
  r.get(
    '/batches',
    need('read'),
    async (req, res) => void res.json(await daemon.batches.list(req.query, principalOf(req))),
  );
  r.get(
    '/batches/:id',
    need('read'),
    async (req, res) => void res.json(await daemon.batches.get(req.params.id as string, principalOf(req))),
  );
  r.post(
    '/batches/:id/cancel',
    need('submit'),
    async (req, res) => void res.json(await daemon.batches.cancel(req.params.id as string, principalOf(req))),
  );
  r.get('/batches/:id/archive', need('read'), async (req, res) => {
    const { stream, filename } = await daemon.batches.archive(req.params.id as string, principalOf(req));
    res.writeHead(200, {
      'content-type': 'application/zip',
      'content-disposition': `attachment; filename="${filename}"`,
      'x-content-type-options': 'nosniff',
    });
    await pipeline(stream, res).catch(() => res.destroy());
  });
  return r;
}
