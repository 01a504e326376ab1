import { Router } from 'express';
import type { Daemon } from '../../daemon.js';
import { need, principalOf } from '../middleware/auth.js';

/** Style presets (prompt prefix/suffix, extra negative) and chain views. */
export function presetRoutes(daemon: Daemon): Router {
  const r = Router();
  r.get('/presets', need('read'), async (_req, res) => void res.json(await daemon.presets.list()));
  r.post('/presets', need('admin'), async (req, res) => void res.status(201).json(await daemon.presets.put(req.body)));
  r.delete('/presets/:name', need('admin'), async (req, res) => {
    await daemon.presets.remove(req.params.name as string);
    res.status(204).end();
  });
  r.get(
    '/jobs/:id/chain',
    need('read'),
    async (req, res) => void res.json(await daemon.chain(req.params.id as string, principalOf(req))),
  );
  return r;
}
