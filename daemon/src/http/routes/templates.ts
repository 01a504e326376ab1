import { Router } from 'express';
import type { Daemon } from '../../daemon.js';
import { stringifyGraph } from '../../comfy/json.js';
import { need } from '../middleware/auth.js';

/** Workflow templates: import (API graph, UI workflow, ComfyUI PNG), list, parameter schema for forms. */
export function templateRoutes(daemon: Daemon): Router {
  const r = Router();
  const t = daemon.templates;
  r.get('/templates', need('read'), async (_req, res) => void res.json(await t.list()));
  r.post('/templates', need('admin'), async (req, res) => {
    const created = await t.create(req.body);
    res.setHeader('Location', `/v1/templates/${created.id}`);
    res.status(201).json(created);
  });
  r.get('/templates/:id', need('read'), async (req, res) => void res.json(await t.get(req.params.id as string)));
  // Seeds above 2^53 are written as the exact integers the graph holds, as when it is sent to ComfyUI.
  r.get(
    '/templates/:id/graph',
    need('read'),
    async (req, res) => void res.type('application/json').send(stringifyGraph(await t.graph(req.params.id as string))),
  );
  r.get(
    '/templates/:id/schema',
    need('read'),
    async (req, res) => void res.json(await t.schema(req.params.id as string)),
  );
  r.delete('/templates/:id', need('admin'), async (req, res) => {
    await t.remove(req.params.id as string);
    res.status(204).end();
  });
  return r;
}
