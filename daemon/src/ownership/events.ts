import type { GatewayEvent, ProgressEvent } from '@comfygate/shared';
import type { JobsRepo } from '../store/types.js';
import { ownerFilter, type Viewer } from './viewer.js';

/** Jobs whose owner a subscription remembers; past it the memory starts over (a lookup brings entries back). */
const REMEMBERED = 10_000;
const ENDS = new Set(['job:succeeded', 'job:failed', 'job:canceled', 'job:deleted']);

export interface EventFilter {
  /** A committed event with its job's owner (null: an event of no job, e.g. a backend's, which everyone sees). */
  durable(e: GatewayEvent, owner: string | null): boolean;
  /** Calls `send` if the viewer may see the job; may be later (after a lookup): progress is live-only and lossy anyway. */
  progress(e: ProgressEvent, send: (e: ProgressEvent) => void): void;
}

const ALL: EventFilter = { durable: () => true, progress: (e, send) => send(e) };

/**
 * What one subscriber may see of the event stream. Durable events carry their job's owner from the store;
 * progress events do not, so the owners learnt from durable events are remembered, and a job not seen yet
 * (a subscriber that joined mid-job) is looked up once.
 */
export function eventFilter(viewer: Viewer, jobs: Pick<JobsRepo, 'get'>): EventFilter {
  const me = ownerFilter(viewer);
  if (me === undefined) return ALL;
  const mine = new Map<string, boolean>();
  const learn = (jobId: string, yes: boolean) => {
    if (mine.size >= REMEMBERED) mine.clear();
    mine.set(jobId, yes);
  };
  return {
    durable(e, owner) {
      if (e.jobId === null) return true;
      const yes = owner === me;
      if (ENDS.has(e.type)) mine.delete(e.jobId);
      else learn(e.jobId, yes);
      return yes;
    },
    progress(e, send) {
      const known = mine.get(e.jobId);
      if (known !== undefined) return void (known && send(e));
      void jobs.get(e.jobId).then(
        (r) => {
          if (!r) return;
          learn(e.jobId, r.owner === me);
          if (r.owner === me) send(e);
        },
        () => {},
      );
    },
  };
}
