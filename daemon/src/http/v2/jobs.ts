import { type Request, type Response, Router } from 'express';
import type { JobState } from '@comfygate/shared';
import { dailyQuota } from '../security/quota.js';
import type { Daemon } from '../../daemon.js';
import { GatewayError } from '../../errors.js';
import { need, principalOf } from '../middleware/auth.js';
import { canSee, ownerFilter } from '../../ownership/viewer.js';
import { V2Error, invalidRequest, notFound } from './errors.js';
import { loadV2Job, type V2Status, V2_STATUSES } from './mapping.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const invalidWorkflow = (message: string, details: Record<string, unknown> | null = null) =>
  new V2Error(422, 'invalid_workflow', message, details);

/** §5.7 checks in the proxy's order, before anything is claimed or stored. */
function parseSubmit(body: unknown): { workflow: Record<string, unknown>; extraData?: Record<string, string> } {
  if (!isObject(body)) throw invalidRequest('the body must be a JSON object {workflow, extra_data?}');
  if ('webhook_url' in body || 'inputs' in body)
    throw invalidWorkflow("'webhook_url' and 'inputs' are reserved and not accepted");
  const { workflow, extra_data: extra } = body;
  if (!isObject(workflow)) throw invalidWorkflow("'workflow' must be an API-format graph object");
  if (Array.isArray(workflow.nodes) && 'links' in workflow) {
    throw new V2Error(
      422,
      'workflow_format_ui',
      'this is a UI (editor) export; export the workflow with "Save (API)" instead',
    );
  }
  if (extra === undefined) return { workflow };
  const closed = isObject(extra) && Object.keys(extra).every((k) => k === 'api_key_comfy_org');
  const key = isObject(extra) ? extra.api_key_comfy_org : undefined;
  if (!closed || (key !== undefined && typeof key !== 'string'))
    throw invalidRequest("'extra_data' may only hold 'api_key_comfy_org' (a string)");
  return typeof key === 'string' ? { workflow, extraData: { api_key_comfy_org: key } } : { workflow };
}

async function submit(daemon: Daemon, req: Request, res: Response): Promise<void> {
  const { workflow, extraData } = parseSubmit(req.body);
  const key = req.get('idempotency-key');
  if (key !== undefined && (key.length === 0 || key.length > 255))
    throw invalidRequest('Idempotency-Key must be 1 to 255 characters');
  const p = req.principal!;
  // Taken with the insert: a 429 writes nothing, so it never claims the key and the SDK's retry with it goes through.
  const quota = await dailyQuota(daemon, p, { idempotencyKey: key });
  let job;
  try {
    // extra_data goes to the engine's memory only: it is not part of the stored spec nor of the request hash.
    ({ job } = await daemon.submit(
      { graph: workflow },
      { idempotencyKey: key ? `v2:${p.tokenId}:${key}` : undefined, caller: p.name, extraData, quota, viewer: p },
    ));
  } catch (err) {
    // A graph our schema refuses is a workflow problem in v2 terms, not a malformed request.
    if (err instanceof GatewayError && err.code === 'validation_failed')
      throw invalidWorkflow(err.message, { issues: err.details });
    if (err instanceof GatewayError && err.code === 'no_capable_backend')
      throw invalidWorkflow(err.message, { backends: err.details });
    throw err;
  }
  const body = await loadV2Job(daemon, req, job.id);
  res.setHeader('Location', body.urls.self);
  res.status(201).json(body);
}

/** v2 status → the comfygate states that can show it (canceling/running differ by the cancel flag only). */
const STATES: Record<V2Status, JobState[]> = {
  queued: ['queued', 'dispatched'],
  running: ['running', 'postprocessing'],
  canceling: ['dispatched', 'running', 'postprocessing'],
  succeeded: ['succeeded'],
  failed: ['failed'],
  canceled: ['canceled'],
  expired: [],
};

function parseList(q: Request['query']): { wanted: V2Status[] | null; limit: number } {
  const limit = q.limit === undefined ? 50 : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw invalidRequest('limit must be an integer from 1 to 100');
  if (q.status === undefined) return { wanted: null, limit };
  if (typeof q.status !== 'string') throw invalidRequest('status must be a comma-separated list');
  const wanted = q.status
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = wanted.filter((s) => !V2_STATUSES.includes(s as V2Status));
  if (bad.length > 0 || wanted.length === 0)
    throw invalidRequest(`unknown status: ${bad.join(', ') || '(empty)'}`, { allowed: [...V2_STATUSES] });
  return { wanted: wanted as V2Status[], limit };
}

/**
 * Proxy extension §10: newest first, no cursor; `truncated` when filtering on the cancel flag may have hidden more
 * matches. Items are summaries (at most JOB_SUMMARY_LIMITS outputs and text previews); `GET /jobs/{id}` has all.
 */
async function list(daemon: Daemon, req: Request, res: Response): Promise<void> {
  const { wanted, limit } = parseList(req.query);
  const states = wanted ? [...new Set(wanted.flatMap((s) => STATES[s]))] : [undefined];
  const owner = ownerFilter(principalOf(req));
  const perState = await Promise.all(states.map((state) => daemon.store.jobs.list({ state, owner, limit })));
  const records = perState.flat().sort((a, b) => b.seq - a.seq);
  const jobs = [];
  for (const r of records) {
    const j = await loadV2Job(daemon, req, r.id, { summary: true }).catch(() => null); // deleted meanwhile
    if (j && (!wanted || wanted.includes(j.status))) jobs.push(j);
  }
  const full = perState.some((rows) => rows.length >= limit);
  res.json({ jobs: jobs.slice(0, limit), truncated: full && jobs.length < limit });
}

export function jobRoutes(daemon: Daemon): Router {
  const r = Router();
  const id = (req: Request) => String(req.params.id);

  r.post('/jobs', need('submit'), (req, res) => submit(daemon, req, res));
  r.get('/jobs', need('read'), (req, res) => list(daemon, req, res));
  r.get('/jobs/:id', need('read'), async (req, res) => void res.json(await loadV2Job(daemon, req, id(req))));

  r.post('/jobs/:id/cancel', need('submit'), async (req, res) => {
    await daemon.cancel(id(req), principalOf(req)); // idempotent: a finished job stays as it is
    res.json(await loadV2Job(daemon, req, id(req)));
  });

  r.delete('/jobs/:id', need('submit'), async (req, res) => {
    await daemon.remove(id(req), principalOf(req));
    res.status(204).end();
  });

  r.get('/jobs/:id/workflow', need('read'), async (req, res) => {
    const rec = await daemon.store.jobs.get(id(req));
    if (!rec || !canSee(principalOf(req), rec.owner)) throw notFound(`job ${id(req)}`);
    // The stored text verbatim, so seeds above 2^53 come back exact; extra_data was never stored.
    res.type('application/json').send(`{"workflow":${rec.graphJson},"format":"api"}`);
  });

  return r;
}
