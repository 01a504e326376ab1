import { Router } from 'express';
import type { Daemon } from '../../daemon.js';
import { GatewayError } from '../../errors.js';
import { need, principalOf } from '../middleware/auth.js';

/** Watched folders: rules (adding and removing one needs admin: it reads and writes files on this machine). */
export function watchRoutes(daemon: Daemon): Router {
  const r = Router();
  const service = () => {
    if (!daemon.watch)
      throw new GatewayError({
        code: 'backend_unavailable',
        message: 'watched folders are off: this daemon does not run its engine',
      });
    return daemon.watch;
  };
  r.get('/watch', need('read'), async (req, res) => void res.json(await service().list(principalOf(req))));
  r.post('/watch', need('admin'), async (req, res) => {
    const created = await service().add(req.body, req.principal!.tokenId);
    res.setHeader('Location', `/v1/watch/${encodeURIComponent(created.id)}`);
    res.status(201).json(created);
  });
  r.get(
    '/watch/:id',
    need('read'),
    async (req, res) => void res.json(await service().get(req.params.id as string, principalOf(req))),
  );
  r.get(
    '/watch/:id/files',
    need('read'),
    async (req, res) => void res.json(await service().files(req.params.id as string, req.query, principalOf(req))),
  );
  r.delete('/watch/:id', need('admin'), async (req, res) => {
    await service().remove(req.params.id as string, principalOf(req));
    res.status(204).end();
  });
  return r;
}
