import crypto from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { nodeNamePart } from '../../assets/names.js';
import type { Daemon } from '../../daemon.js';
import { need, principalOf } from '../middleware/auth.js';
import { canSee, checkOwner, type Viewer } from '../../ownership/viewer.js';
import type { AssetRefRecord, OutputRecord } from '../../store/types.js';
import { V2Error, invalidRequest, notFound } from './errors.js';
import { TEXT_CONTENT_TYPE, contentUrl, iso, parseTextAssetId } from './mapping.js';
import { INLINE_TYPES, inspectUpload, readUpload } from './upload.js';

/**
 * Content hashes. The spec's dedup keys are blake3, which this daemon cannot compute yet (no blake3
 * implementation among its dependencies), so `hash` is null, the by-hash probe always answers 404 (which
 * §5.2 allows: the SDK then uploads) and `expected_hash` is not checked. Dedup still happens on our
 * side, by sha256, when the bytes arrive.
 */
const BLAKE3 = /^blake3:[0-9a-f]{64}$/i;

/** An asset as we hold it: an uploaded ref, or a job output (outputs are assets too, §8.7). */
interface Held {
  id: string;
  sha256: string;
  bytes: number;
  contentType: string;
  filePath: string;
  createdAt: number;
  jobId: string | null;
  output: boolean;
  /** The ref's token, or the output's job's. */
  owner: string;
  /** A text output's words, served from the job row (it has no blob). */
  text?: string;
}

async function findText(daemon: Daemon, id: string): Promise<Held | null> {
  const ref = parseTextAssetId(id);
  const job = ref && (await daemon.store.jobs.get(ref.jobId));
  const t = job?.texts.find((x) => x.nodeId === ref!.nodeId && x.index === ref!.index);
  if (!job || !t) return null;
  const sha256 = crypto.createHash('sha256').update(t.text).digest('hex');
  const at = job.finishedAt ?? job.updatedAt;
  const filePath = `${nodeNamePart(t.nodeId)}_${t.index}.txt`;
  const bytes = Buffer.byteLength(t.text);
  return {
    id,
    sha256,
    bytes,
    contentType: TEXT_CONTENT_TYPE,
    filePath,
    createdAt: at,
    jobId: job.id,
    output: true,
    text: t.text,
    owner: job.owner,
  };
}

async function find(daemon: Daemon, id: string): Promise<Held | null> {
  if (id.startsWith('text.')) return findText(daemon, id);
  const ref: AssetRefRecord | null = await daemon.store.assets.getRef(id);
  if (ref) {
    const blob = await daemon.store.assets.get(ref.sha256);
    return { ...ref, bytes: blob?.bytes ?? 0, output: false };
  }
  const o: OutputRecord | null = await daemon.store.outputs.get(id);
  const job = o && (await daemon.store.jobs.get(o.jobId));
  if (!o || !job) return null;
  const { sha256, bytes, contentType, filename: filePath, createdAt, jobId } = o;
  return { id, sha256, bytes, contentType, filePath, createdAt, jobId, output: true, owner: job.owner };
}

/** Another token's asset is as missing as an unknown id. */
async function mustFind(daemon: Daemon, id: string, viewer: Viewer): Promise<Held> {
  const a = await find(daemon, id);
  if (!a || !canSee(viewer, a.owner)) throw notFound(`asset ${id}`);
  return a;
}

/** §4.6. Outputs live as long as their job, refs until deleted: `expires_at` null either way. */
function v2Asset(req: Request, a: Held, createdNew?: boolean) {
  return {
    id: a.id,
    hash: null,
    size_bytes: a.bytes,
    content_type: a.contentType,
    file_path: a.filePath,
    ...(createdNew === undefined ? {} : { created_new: createdNew }),
    created_at: iso(a.createdAt)!,
    ...contentUrl(req, a.id),
    expires_at: null,
    job_id: a.jobId,
  };
}

async function upload(daemon: Daemon, req: Request, res: Response): Promise<void> {
  const max = daemon.config.security.maxUploadBytes;
  if (Number(req.headers['content-length'] ?? 0) > max + 64 * 1024)
    throw new V2Error(413, 'payload_too_large', `upload exceeds ${max} bytes`);
  const parts = await readUpload(req, max);
  let info: Awaited<ReturnType<typeof inspectUpload>> | undefined;
  const stored = await daemon.files.write(parts.file, {
    maxBytes: max,
    inspect: async (tmp) => void (info = await inspectUpload(tmp, parts.contentType, daemon.config.security.maxPixels)),
  });
  const now = Date.now();
  const owner = req.principal!.tokenId;
  const blob = {
    sha256: stored.sha256,
    bytes: stored.bytes,
    contentType: info!.contentType,
    width: info!.width,
    height: info!.height,
    createdAt: now,
  };
  await daemon.store.assets.upsert(blob, owner);
  // A retried upload of the same bytes under the same name is the same asset (the SDK retries with its key); the
  // same bytes from another token are that token's own asset, so deleting one never takes the other's away.
  const existing = await daemon.store.assets.findRef(stored.sha256, parts.filePath, owner);
  if (existing)
    return void res.status(200).json(v2Asset(req, { ...existing, bytes: stored.bytes, output: false }, false));
  const ref = {
    id: crypto.randomUUID(),
    sha256: stored.sha256,
    filePath: parts.filePath,
    contentType: info!.contentType,
    jobId: null,
    owner,
    createdAt: now,
  };
  await daemon.store.assets.createRef(ref);
  res.status(201).json(v2Asset(req, { ...ref, bytes: stored.bytes, output: false }, true));
}

function sendContent(daemon: Daemon, res: Response, a: Held, next: (err?: unknown) => void): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'");
  res.setHeader('ETag', `"${a.sha256}"`);
  res.type(a.contentType);
  const name = a.filePath
    .split('/')
    .pop()!
    .replace(/[^\w.\- ]/g, '_');
  res.setHeader(
    'Content-Disposition',
    `${INLINE_TYPES.has(a.contentType) ? 'inline' : 'attachment'}; filename="${name}"`,
  );
  if (a.text !== undefined) return void res.send(Buffer.from(a.text, 'utf8'));
  res.sendFile(
    daemon.files.pathFor(a.sha256),
    { etag: false, lastModified: false, dotfiles: 'allow' },
    (err?: Error & { status?: number }) => {
      if (!err) return;
      // §3: a 416 carries no envelope, only `Content-Range: bytes */size`.
      if (err.status === 416 && !res.headersSent)
        return void res
          .status(416)
          .set((err as { headers?: Record<string, string> }).headers ?? {})
          .end();
      next(err.status === 404 ? new V2Error(404, 'output_unavailable', `the bytes of asset ${a.id} are gone`) : err);
    },
  );
}

/** Jobs not finished yet still need their inputs (a retry stages them again). */
async function inUse(daemon: Daemon, id: string): Promise<boolean> {
  const active = await daemon.store.jobs.inStates(['queued', 'dispatched', 'running', 'postprocessing']);
  return active.some((j) => j.graphJson.includes(`"${id}"`));
}

export function assetUploadRoutes(daemon: Daemon): Router {
  const r = Router();
  r.post('/assets', need('submit'), (req, res) => upload(daemon, req, res));
  return r;
}

export function assetRoutes(daemon: Daemon): Router {
  const r = Router();
  const id = (req: Request) => String(req.params.id);

  r.head('/assets/by-hash/:hash', need('read'), (_req, res) => void res.status(404).end());

  r.post('/assets/from-hash', need('submit'), async (req) => {
    const { hash, file_path: filePath } = (req.body ?? {}) as { hash?: unknown; file_path?: unknown };
    if (typeof hash !== 'string' || !BLAKE3.test(hash)) throw invalidRequest("'hash' must be 'blake3:<64 hex digits>'");
    if (filePath !== undefined && typeof filePath !== 'string') throw invalidRequest("'file_path' must be a string");
    throw new V2Error(404, 'blob_not_found', 'no blob with this hash here; upload the bytes with POST /assets');
  });

  r.get(
    '/assets/:id',
    need('read'),
    async (req, res) => void res.json(v2Asset(req, await mustFind(daemon, id(req), principalOf(req)))),
  );
  r.get('/assets/:id/content', need('read'), async (req, res, next) =>
    sendContent(daemon, res, await mustFind(daemon, id(req), principalOf(req)), next),
  );

  r.delete('/assets/:id', need('submit'), async (req, res) => {
    const a = await mustFind(daemon, id(req), principalOf(req));
    checkOwner(principalOf(req), a.owner, `asset ${a.id}`, true);
    if (a.output)
      throw new V2Error(409, 'asset_in_use', 'job outputs are deleted with their job: DELETE /api/v2/jobs/{job_id}', {
        job_id: a.jobId,
      });
    if (await inUse(daemon, a.id)) throw new V2Error(409, 'asset_in_use', 'an unfinished job references this asset');
    // Only the record goes: the blob stays for other refs, /v1 users and outputs that share it.
    if (!(await daemon.store.assets.deleteRef(a.id))) throw notFound(`asset ${a.id}`);
    res.status(204).end();
  });
  return r;
}
