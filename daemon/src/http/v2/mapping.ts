import type { Request } from 'express';
import type { ErrorDetail, Job, JobSummary, Output, Progress, TextOutput, TextPreview } from '@comfygate/shared';
import type { Daemon } from '../../daemon.js';
import type { JobRecord } from '../../store/types.js';
import { nodeNamePart } from '../../assets/names.js';
import { canSee, INTERNAL } from '../../ownership/viewer.js';
import { principalOf } from '../middleware/auth.js';
import { summarizeJob } from '../../jobs/summary.js';
import { notFound } from './errors.js';

/** Comfy API v2 shapes (spec §4). Field names follow the spec, hence snake_case. */
export type V2Status = 'queued' | 'running' | 'canceling' | 'succeeded' | 'failed' | 'canceled' | 'expired';
export const V2_STATUSES: readonly V2Status[] = [
  'queued',
  'running',
  'canceling',
  'succeeded',
  'failed',
  'canceled',
  'expired',
];
export const V2_TERMINAL: readonly V2Status[] = ['succeeded', 'failed', 'canceled', 'expired'];

export interface V2Progress {
  value: number;
  nodes_done: number;
  nodes_total: number;
  current_node: string | null;
  current_node_class: string | null;
  step: number | null;
  steps: number | null;
  message: string | null;
}

/**
 * comfygate keeps a job until it is deleted (there is no retention sweeper), but the schema wants a
 * datetime: a deadline a century out says "does not expire" without the overflow risk of year 9999.
 */
const NO_EXPIRY_MS = 100 * 365 * 24 * 3600 * 1000;
/** Our content URLs are not signed (they need the bearer token); a day is what we promise per response. */
const URL_VALIDITY_MS = 24 * 3600 * 1000;

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Absolute links from the request's own scheme and Host (which already passed the Host allowlist), with the mount path. */
export function apiBase(req: Request): string {
  return `${req.protocol}://${req.headers.host}${req.baseUrl}`;
}

export function contentUrl(req: Request, assetId: string): { url: string; url_expires_at: string } {
  return {
    url: `${apiBase(req)}/assets/${encodeURIComponent(assetId)}/content`,
    url_expires_at: iso(Date.now() + URL_VALIDITY_MS)!,
  };
}

export function v2Status(job: Pick<Job, 'state'>, cancelRequested: boolean): V2Status {
  switch (job.state) {
    case 'queued':
    case 'dispatched':
      return cancelRequested && job.state === 'dispatched' ? 'canceling' : 'queued';
    case 'running':
    case 'postprocessing':
      return cancelRequested ? 'canceling' : 'running';
    default:
      return job.state;
  }
}

export function outputType(
  contentType: string,
  filename: string,
): 'image' | 'video' | 'audio' | 'text' | 'file' | 'latent' {
  if (/\.latent$/i.test(filename)) return 'latent';
  const [major] = contentType.toLowerCase().split('/');
  if (major === 'image' || major === 'video' || major === 'audio' || major === 'text') return major;
  return contentType === 'application/json' ? 'text' : 'file';
}

export function v2Output(req: Request, o: Output, jobId: string) {
  return {
    node_id: o.nodeId,
    name: o.filename,
    type: outputType(o.contentType, o.filename),
    content_type: o.contentType,
    size_bytes: o.bytes,
    id: o.id,
    hash: null,
    ...contentUrl(req, o.id),
    job_id: jobId,
  };
}

/**
 * A text output as a v2 output of type `text` (spec §4.2: nothing silently dropped). Its asset id names the job,
 * list index and node, so its content is served from the job row; `text` carries the words inline as well.
 */
export const textAssetId = (jobId: string, t: TextOutput) => `text.${jobId}.${t.index}.${t.nodeId}`;
const TEXT_ASSET_ID = /^text\.([0-9a-f-]{36})\.(\d+)\.(.+)$/;

export function parseTextAssetId(id: string): { jobId: string; index: number; nodeId: string } | null {
  const m = TEXT_ASSET_ID.exec(id);
  return m ? { jobId: m[1]!, index: Number(m[2]), nodeId: m[3]! } : null;
}

export const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** In a list, `t` is a preview: `text` is its start, `text_truncated` says so, and the content URL has it whole. */
export function v2TextOutput(req: Request, t: TextOutput | TextPreview, jobId: string) {
  const id = textAssetId(jobId, t);
  const preview = 'cut' in t;
  return {
    node_id: t.nodeId,
    name: `${nodeNamePart(t.nodeId)}_${t.index}.txt`, // a file name a client may save under: no ../ from the graph
    type: 'text' as const,
    content_type: TEXT_CONTENT_TYPE,
    size_bytes: preview ? t.bytes : Buffer.byteLength(t.text),
    id,
    hash: null,
    ...contentUrl(req, id),
    job_id: jobId,
    text: t.text,
    ...(preview ? { text_truncated: t.cut } : {}),
  };
}

/** §4.5: ComfyUI node failures become `node_execution_error` with the node named; other codes are ours. */
export function v2JobError(e: ErrorDetail | null) {
  if (!e) return null;
  const d = (e.details ?? {}) as { node_id?: unknown; node_type?: unknown };
  return {
    code: e.code === 'comfy_execution' ? 'node_execution_error' : e.code,
    message: e.message,
    node_id: typeof d.node_id === 'string' ? d.node_id : null,
    class_type: typeof d.node_type === 'string' ? d.node_type : null,
    traceback: null,
  };
}

function nodeCount(graphJson: string): number {
  try {
    return Object.keys(JSON.parse(graphJson) as Record<string, unknown>).length;
  } catch {
    return 0;
  }
}

/** Our live progress already counts nodes done out of those ComfyUI runs, with the current node's steps. */
export function v2Progress(status: V2Status, p: Progress | null, graphJson: string): V2Progress | null {
  if (status === 'succeeded') {
    const total = p?.nodesTotal || nodeCount(graphJson);
    return {
      value: 1,
      nodes_done: total,
      nodes_total: total,
      current_node: null,
      current_node_class: null,
      step: null,
      steps: null,
      message: null,
    };
  }
  if (status !== 'running' && status !== 'canceling') return null;
  const total = p && p.nodesTotal > 0 ? p.nodesTotal : nodeCount(graphJson);
  const cls = p?.nodeClass ?? null;
  const steps = p && p.max > 0 ? { step: p.value, steps: p.max } : { step: null, steps: null };
  const message = p?.node ? `${cls ?? `node ${p.node}`}${steps.steps ? ` ${steps.step}/${steps.steps}` : ''}` : null;
  return {
    value: p?.fraction ?? 0,
    nodes_done: p?.nodesDone ?? 0,
    nodes_total: total,
    current_node: p?.node ?? null,
    current_node_class: cls,
    ...steps,
    message,
  };
}

const span = (from: number | null, to: number | null) =>
  from !== null && to !== null ? Math.max(0, Math.round(to - from)) : null;

export function v2Job(
  req: Request,
  job: Job | JobSummary,
  rec: Pick<JobRecord, 'cancelRequested' | 'graphJson'>,
  queuePosition: number | null,
) {
  const status = v2Status(job, rec.cancelRequested);
  const self = `${apiBase(req)}/jobs/${encodeURIComponent(job.id)}`;
  const started = status === 'queued' ? null : job.startedAt;
  return {
    id: job.id,
    status,
    created_at: iso(job.createdAt)!,
    started_at: iso(started),
    completed_at: iso(job.finishedAt),
    expires_at: iso(job.createdAt + NO_EXPIRY_MS)!,
    queue_position: status === 'queued' ? queuePosition : null,
    progress: v2Progress(status, job.progress, rec.graphJson),
    outputs: [
      ...job.outputs.map((o) => v2Output(req, o, job.id)),
      ...job.texts.map((t) => v2TextOutput(req, t, job.id)),
    ],
    error: v2JobError(job.error),
    metrics: { queue_ms: span(job.createdAt, started), execution_ms: span(started, job.finishedAt) },
    urls: { self, events: `${self}/events`, cancel: `${self}/cancel` },
    // A list item (a summary) says when outputs or texts were left out or cut; `urls.self` has them all.
    ...('truncated' in job ? { truncated: job.truncated } : {}),
  };
}
export type V2Job = ReturnType<typeof v2Job>;

/** The job as v2 sees it, read from SQLite only (so a poll never depends on a backend being up); another token's is not found. */
export async function loadV2Job(
  daemon: Daemon,
  req: Request,
  id: string,
  opts: { summary?: boolean } = {},
): Promise<V2Job> {
  const rec = await daemon.store.jobs.get(id);
  if (!rec || !canSee(principalOf(req), rec.owner)) throw notFound(`job ${id}`);
  const [job, position] = await Promise.all([daemon.get(id, INTERNAL), daemon.store.jobs.queuePosition(id)]);
  return v2Job(req, opts.summary ? summarizeJob(job) : job, rec, position);
}
