import type { GatewayEvent, StreamEvent } from '@comfygate/shared';
import type { Daemon } from '../../daemon.js';
import { ownerFilter, type Viewer } from '../../ownership/viewer.js';

const PAGE = 500;

/**
 * Durable events after `since` from the log, then live ones, with no gap and no repeat: live events are
 * buffered from the moment of subscription while the log is replayed. Progress events are live only.
 * Only events of jobs the viewer may see (and of no job: backends), in the replay as live.
 */
export function openFeed(
  daemon: Daemon,
  opts: { since?: number; jobs: Set<string> | null; viewer: Viewer; send(e: StreamEvent): void },
): () => void {
  const wanted = (e: { jobId: string | null }) => opts.jobs === null || (e.jobId !== null && opts.jobs.has(e.jobId));
  let replaying = opts.since !== undefined;
  let cursor = opts.since ?? 0;
  let closed = false;
  const buffered: GatewayEvent[] = [];
  const unsubscribe = daemon.subscribe((e) => {
    if (closed || !wanted(e)) return;
    if ('id' in e && replaying) buffered.push(e);
    else opts.send(e);
  }, opts.viewer);
  const owner = ownerFilter(opts.viewer);
  if (replaying) {
    void (async () => {
      for (;;) {
        const page = await daemon.store.events.after(cursor, PAGE, owner);
        for (const e of page) if (!closed && wanted(e)) opts.send(e);
        if (page.length > 0) cursor = page[page.length - 1]!.id;
        if (page.length < PAGE || closed) break;
      }
      for (const e of buffered) if (e.id > cursor && !closed) opts.send(e);
      buffered.length = 0;
      replaying = false;
    })();
  }
  return () => {
    closed = true;
    unsubscribe();
  };
}
