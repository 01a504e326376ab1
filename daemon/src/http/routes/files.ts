import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { type Response, Router } from 'express';
import type { Asset } from '@comfygate/shared';
import { IMAGE_TYPES, looksLikeMarkup, sniffImage, type SniffedImage } from '../../assets/sniff.js';
import type { SecurityConfig } from '../../config/schema.js';
import type { Daemon } from '../../daemon.js';
import { GatewayError } from '../../errors.js';
import { need, principalOf } from '../middleware/auth.js';
import { canSee, seesAll } from '../../ownership/viewer.js';
import { abortOnHangup, clientBytes, multipartParser } from '../multipart.js';

const INLINE_TYPES = new Set(Object.values(IMAGE_TYPES));

/** Sniffs the content (never trusts the declared type or name), decodes it once and bounds the decoded pixel count. */
async function inspectImage(file: string, maxPixels: number): Promise<SniffedImage> {
  const image = (await looksLikeMarkup(file)) ? null : await sniffImage(file, maxPixels);
  const message = 'not an image comfygate accepts (png, jpeg, webp, gif, avif, heif, tiff)';
  if (!image) throw new GatewayError({ code: 'unsupported_media_type', message });
  return image;
}

const badMultipart = (message: string) => new GatewayError({ code: 'bad_request', message });

/** The upload stream: the first file part of a multipart body, or the raw body. */
function uploadStream(req: IncomingMessage, maxBytes: number): Promise<Readable | AsyncIterable<Uint8Array>> {
  if (!req.headers['content-type']?.startsWith('multipart/form-data')) return Promise.resolve(req);
  return new Promise((resolve, reject) => {
    const bb = multipartParser(req, { files: 1, fileSize: maxBytes + 1, fields: 20 }, badMultipart);
    let file: Readable | null = null;
    bb.once('file', (_name, stream) => resolve(clientBytes((file = stream), badMultipart)));
    bb.on('error', (err) => reject(badMultipart(`malformed multipart body: ${(err as Error).message}`)));
    bb.once('close', () => reject(badMultipart('multipart body has no file part')));
    abortOnHangup(
      req,
      bb,
      () => file,
      () => badMultipart('upload aborted'),
    );
    req.pipe(bb);
  });
}

function sendStored(daemon: Daemon, res: Response, sha256: string, contentType: string, filename?: string): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('ETag', `"${sha256}"`);
  res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
  res.type(contentType);
  const disposition = INLINE_TYPES.has(contentType) ? 'inline' : 'attachment';
  if (filename)
    res.setHeader('Content-Disposition', `${disposition}; filename="${filename.replace(/[^\w.\- ]/g, '_')}"`);
  else if (disposition === 'attachment') res.setHeader('Content-Disposition', 'attachment');
  res.sendFile(daemon.files.pathFor(sha256), { etag: false, lastModified: false, dotfiles: 'allow' });
}

export function fileRoutes(daemon: Daemon, sec: SecurityConfig): Router {
  const r = Router();

  r.post('/assets', need('submit'), async (req, res) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > sec.maxUploadBytes + 64 * 1024) {
      throw new GatewayError({ code: 'payload_too_large', message: `upload exceeds ${sec.maxUploadBytes} bytes` });
    }
    let info: Awaited<ReturnType<typeof inspectImage>> | undefined;
    const stored = await daemon.files.write(await uploadStream(req, sec.maxUploadBytes), {
      maxBytes: sec.maxUploadBytes,
      inspect: async (tmp) => void (info = await inspectImage(tmp, sec.maxPixels)),
    });
    const owner = req.principal!.tokenId;
    // 200 only for bytes this token already had: whether someone else uploaded them is not its business.
    const existed = await daemon.store.assets.ownedBy(stored.sha256, owner);
    const asset: Asset = {
      sha256: stored.sha256,
      bytes: stored.bytes,
      contentType: info!.contentType,
      width: info!.width,
      height: info!.height,
    };
    // Deduplicated by content, owned per token: the same bytes from another token make it one more owner.
    await daemon.store.assets.upsert({ ...asset, createdAt: Date.now() }, owner);
    res.setHeader('Location', `/v1/assets/${asset.sha256}`);
    res.status(existed ? 200 : 201).json(asset);
  });

  r.get('/assets/:sha256', need('read'), async (req, res) => {
    const sha = String(req.params.sha256).toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha))
      throw new GatewayError({ code: 'bad_request', message: 'asset id must be a sha256 hex digest' });
    const a = await daemon.store.assets.get(sha);
    const p = req.principal!;
    if (!a || !(seesAll(p) || (await daemon.store.assets.ownedBy(sha, p.tokenId)))) {
      throw new GatewayError({ code: 'not_found', message: `no asset ${sha}` });
    }
    sendStored(daemon, res, sha, a.contentType);
  });

  /** An output as ComfyUI made it, or one of its post-processed variants (their ids share this route). */
  r.get('/outputs/:id', need('read'), async (req, res) => {
    const id = req.params.id as string;
    const o = await daemon.store.outputs.get(id);
    const v = o ? null : await daemon.store.outputs.getVariant(id);
    const job = await daemon.store.jobs.get(o?.jobId ?? v?.jobId ?? '');
    // An output is its job's: another token's is as missing as an unknown id.
    if (!job || !canSee(principalOf(req), job.owner))
      throw new GatewayError({ code: 'not_found', message: `no output ${id}` });
    if (o) return sendStored(daemon, res, o.sha256, o.contentType, o.filename);
    sendStored(daemon, res, v!.sha256, v!.contentType);
  });

  return r;
}
