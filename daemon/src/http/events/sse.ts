import { Router } from 'express';
import type { Daemon } from '../../daemon.js';
import { GatewayError } from '../../errors.js';
import { need, principalOf } from '../middleware/auth.js';
import type { StreamSlots } from '../limits/per-token.js';
import { type OpenStreams, streamKeys } from '../security/open-streams.js';
import { openFeed } from './feed.js';
import { MAX_BUFFERED } from './ws.js';

export const SSE_HEARTBEAT_MS = 15_000;

/** `GET /v1/events`: SSE with `Last-Event-ID` (or `?since=`) resume from the durable log and heartbeats. */
export function sseRoutes(daemon: Daemon, slots: StreamSlots, open?: OpenStreams): Router {
  const r = Router();
  r.get('/events', need('read'), (req, res) => {
    const raw = req.get('last-event-id') ?? (req.query.since as string | undefined);
    const since = raw === undefined ? undefined : Number(raw);
    if (since !== undefined && (!Number.isInteger(since) || since < 0))
      throw new GatewayError({ code: 'bad_request', message: 'Last-Event-ID must be an event id' });
    const jobs = typeof req.query.job === 'string' ? new Set(req.query.job.split(',')) : null;
    const release = slots.acquire(req.principal!.tokenId);
    // Subscribe before the client can see the response, so nothing that happens after it opens is missed.
    const close = openFeed(daemon, {
      since,
      jobs,
      viewer: principalOf(req),
      send: (e) => {
        // A reader that stopped reading is dropped (it resumes from Last-Event-ID) rather than buffered without bound.
        if (res.writableLength > MAX_BUFFERED) return void res.destroy();
        res.write(`${'id' in e ? `id: ${e.id}\n` : ''}event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      },
    });
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    const beat = setInterval(() => res.write(': ping\n\n'), SSE_HEARTBEAT_MS);
    const p = req.principal!;
    const stop = () => (clearInterval(beat), close(), release(), forget?.());
    // Ended, not left to run, when its session signs out or expires or its token is revoked: a clean end of the
    // body, so the client's resume attempt is what learns (401) that its credential is gone.
    const forget = open?.track(streamKeys(p.tokenId, p.sessionId), () => (stop(), res.end()), p.sessionEndsAt);
    req.on('close', stop);
  });
  return r;
}
