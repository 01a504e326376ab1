import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayClient, Job } from '@comfygate/shared';

export const WAITING_CHECK_MS = 2_000;

/** Reasons a person fixes outside the queue (a backend down, a model missing) point at `comfygate doctor`. */
const SELF_RESOLVING = /^(waiting for a free slot|retrying in)/;

/**
 * Why a queued job is not running yet, in the daemon's words (`Job.waiting`: the same reading of capabilities
 * and health as its routing), with the command that helps; null when it is simply next in line.
 */
export function waitingReason(job: Pick<Job, 'state' | 'waiting'>): string | null {
  if (job.state !== 'queued' || !job.waiting) return null;
  return SELF_RESOLVING.test(job.waiting) ? job.waiting : `${job.waiting} (comfygate doctor)`;
}

/**
 * While the job sits in `queued`, asks the daemon every few seconds why, and tells `report` each time the answer
 * changes (null once it runs or has no reason to wait). Stops when `signal` aborts; a failed check is skipped.
 */
export async function explainWaiting(
  client: GatewayClient,
  id: string,
  report: (reason: string | null) => void,
  signal: AbortSignal,
): Promise<void> {
  let last: string | null = null;
  while (!signal.aborted) {
    const job = await client.getJob(id).catch(() => null);
    if (signal.aborted) return;
    if (job) {
      const reason = waitingReason(job);
      if (reason !== last) report((last = reason));
    }
    await sleep(WAITING_CHECK_MS, undefined, { signal }).catch(() => {});
  }
}
