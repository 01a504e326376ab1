import { type Request, type Response, Router } from 'express';
import type { GatewayEvent, ProgressEvent } from '@comfygate/shared';
import type { Daemon } from '../../daemon.js';
import { need, principalOf } from '../middleware/auth.js';
import { canSee, INTERNAL } from '../../ownership/viewer.js';
import type { StreamSlots } from '../limits/per-token.js';
import { type OpenStreams, streamKeys } from '../security/open-streams.js';
import { V2Error } from './errors.js';
import { loadV2Job, type V2Job, V2_TERMINAL, v2Progress } from './mapping.js';

/** Well under the SDK's 45 s idle timeout (§7.1). */
const HEARTBEAT_MS = 15_000;
/** §7.2: progress and previews about twice a second, with a trailing frame so the last step is never lost. */
const PROGRESS_EVERY_MS = 500;
/** Other jobs moving change our queue_position; re-read at most this often while queued. */
const QUEUE_REFRESH_MS = 1_000;

/**
 * One SSE client on one job (§7): `status` on connect, the latest progress and preview, then live
 * frames; `output` frames before the terminal `status`, which is the last frame. Frames are written
 * through one promise chain so they never interleave out of order.
 */
class JobStream {
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private last = '';
  private readonly sentOutputs = new Set<string>();
  private latest: ProgressEvent | null = null;
  private lastPreview: Buffer | null = null;
  private lastProgressAt = 0;
  private progressTimer: NodeJS.Timeout | null = null;
  private queueTimer: NodeJS.Timeout | null = null;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly daemon: Daemon,
    private readonly req: Request,
    private readonly res: Response,
    private readonly jobId: string,
    private readonly graphJson: string,
    private readonly onClose: () => void,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // Unfiltered on purpose: only this job's data is sent; other jobs' events only wake a queue_position re-read.
    this.unsubscribe = daemon.subscribe((e) => this.onEvent(e), INTERNAL);
    this.heartbeat = setInterval(() => res.write(': keepalive\n\n'), HEARTBEAT_MS);
    res.on('close', () => this.close()); // the client went away (or we ended the stream)
    this.enqueue(() => this.snapshot());
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain
      .then(() => (this.closed ? undefined : step()))
      .catch((err) => {
        this.daemon.log.warn({ err, jobId: this.jobId }, 'v2 event stream ended by an error');
        this.close();
      });
  }

  private send(event: string, data: unknown): void {
    if (!this.closed) this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private async snapshot(): Promise<void> {
    const job = await loadV2Job(this.daemon, this.req, this.jobId);
    this.sendStatus(job);
    if (V2_TERMINAL.includes(job.status)) return this.close();
    if (job.progress) this.send('progress', job.progress);
    this.sendPreview(job.progress?.current_node ?? null);
    this.sendOutputs(job);
  }

  private async refresh(): Promise<void> {
    const job = await loadV2Job(this.daemon, this.req, this.jobId).catch(() => null);
    if (!job) return this.close(); // deleted under us
    if (!V2_TERMINAL.includes(job.status)) {
      if (this.statusKey(job) !== this.last) this.sendStatus(job);
      return this.sendOutputs(job);
    }
    this.sendOutputs(job);
    this.sendStatus(job);
    this.close();
  }

  private statusKey(job: V2Job): string {
    return `${job.status}:${job.queue_position}`;
  }

  private sendStatus(job: V2Job): void {
    this.last = this.statusKey(job);
    this.send('status', { status: job.status, queue_position: job.queue_position });
  }

  private sendOutputs(job: V2Job): void {
    for (const o of job.outputs) {
      if (this.sentOutputs.has(o.id)) continue;
      this.sentOutputs.add(o.id);
      this.send('output', o);
    }
  }

  private sendPreview(nodeId: string | null): void {
    const p = this.daemon.preview(this.jobId);
    if (!p || p.image === this.lastPreview) return;
    this.lastPreview = p.image;
    this.send('preview', { node_id: nodeId ?? '', content_type: p.mime, data_base64: p.image.toString('base64') });
  }

  private onEvent(e: GatewayEvent | ProgressEvent): void {
    if (this.closed) return;
    if (e.type === 'job:progress') {
      if (e.jobId === this.jobId) this.onProgress(e);
    } else if (e.jobId === this.jobId) {
      this.enqueue(() => this.refresh());
    } else if (this.last.startsWith('queued:') && !this.queueTimer) {
      this.queueTimer = setTimeout(
        () => ((this.queueTimer = null), this.enqueue(() => this.refresh())),
        QUEUE_REFRESH_MS,
      );
    }
  }

  private onProgress(e: ProgressEvent): void {
    this.latest = e;
    const wait = this.lastProgressAt + PROGRESS_EVERY_MS - Date.now();
    if (wait <= 0) return this.emitProgress();
    this.progressTimer ??= setTimeout(() => this.emitProgress(), wait);
  }

  private emitProgress(): void {
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = null;
    this.lastProgressAt = Date.now();
    const e = this.latest;
    if (!e) return;
    // A progress frame means ComfyUI is executing, even if our state still says dispatched.
    this.enqueue(async () => {
      this.send('progress', v2Progress('running', e.progress, this.graphJson));
      if (e.hasPreview) this.sendPreview(e.progress.node);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.progressTimer) clearTimeout(this.progressTimer);
    if (this.queueTimer) clearTimeout(this.queueTimer);
    this.unsubscribe();
    this.res.end();
    this.onClose();
  }
}

export function eventRoutes(daemon: Daemon, slots: StreamSlots, open?: OpenStreams): Router {
  const r = Router();
  r.get('/jobs/:id/events', need('read'), async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const rec = await daemon.store.jobs.get(id);
    if (!rec || !canSee(principalOf(req), rec.owner)) throw new V2Error(404, 'not_found', `no job ${id}`);
    // Per token: one reader holding many streams must not starve everyone else.
    const release = slots.tryAcquire(req.principal!.tokenId);
    if (!release) {
      res.setHeader('Retry-After', '5');
      const message =
        'this token holds too many event streams (security.maxStreamsPerToken); poll GET /jobs/{id} meanwhile';
      throw new V2Error(429, 'too_many_streams', message);
    }
    const p = req.principal!;
    const stream = new JobStream(daemon, req, res, id, rec.graphJson, release);
    // Ended when the token is revoked (or the session signs out or expires), like the /v1 streams.
    const forget = open?.track(streamKeys(p.tokenId, p.sessionId), () => stream.close(), p.sessionEndsAt);
    res.on('close', () => forget?.());
  });
  return r;
}
