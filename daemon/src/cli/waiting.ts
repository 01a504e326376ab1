import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend, GatewayClient } from '@comfygate/shared';

export const WAITING_CHECK_MS = 2_000;

/** Why a queued job is not running yet, in words a person can act on; null when it is simply next in line. */
export function waitingReason(backends: Backend[]): string | null {
  if (backends.length === 0) return 'no backend is configured (comfygate backends add <name> <url>)';
  if (!backends.some((b) => b.health === 'up')) return 'no backend is up (comfygate doctor)';
  if (backends.every((b) => b.health !== 'up' || b.draining))
    return 'every backend that is up is draining (comfygate backends)';
  return null;
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
    const [job, backends] = await Promise.all([
      client.getJob(id).catch(() => null),
      client.backends().catch(() => null),
    ]);
    if (signal.aborted) return;
    if (job && backends) {
      const reason = job.state === 'queued' ? waitingReason(backends) : null;
      if (reason !== last) report((last = reason));
    }
    await sleep(WAITING_CHECK_MS, undefined, { signal }).catch(() => {});
  }
}
