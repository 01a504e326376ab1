import { setTimeout as sleep } from 'node:timers/promises';
import { type GatewayClient, isTerminal, type Job } from '@comfygate/shared';
import type { Reporter } from './progress.js';
import { explainWaiting } from './waiting.js';

export const BACKSTOP_POLL_MS = 2_000;

/**
 * A slow poll beside the event stream. waitForJob reads the job and then opens the stream; a job that ends
 * between the two would otherwise be waited on forever. Resolves only with a terminal job.
 */
async function backstop(client: GatewayClient, id: string, signal: AbortSignal): Promise<Job> {
  for (;;) {
    await sleep(BACKSTOP_POLL_MS, undefined, { signal });
    const job = await client.getJob(id).catch(() => null);
    if (job && isTerminal(job.state)) return job;
  }
}

/** Resolves on the first SIGINT (Ctrl-C); `off` removes the handler so a later Ctrl-C behaves normally. */
function onInterrupt(): { interrupted: Promise<'interrupted'>; off(): void } {
  let handler = () => {};
  const interrupted = new Promise<'interrupted'>((resolve) => (handler = () => resolve('interrupted')));
  process.once('SIGINT', handler);
  return { interrupted, off: () => void process.off('SIGINT', handler) };
}

/** Follows the job to a terminal state, feeding the reporter; 'interrupted' when the person pressed Ctrl-C. */
export async function waitForJob(client: GatewayClient, id: string, reporter: Reporter): Promise<Job | 'interrupted'> {
  const ac = new AbortController();
  const sigint = onInterrupt();
  const following = client.waitForJob(id, { signal: ac.signal, onEvent: (e) => reporter.event(e) });
  const polling = backstop(client, id, ac.signal);
  const explaining = explainWaiting(client, id, (reason) => reporter.waiting(reason), ac.signal);
  // Once one side wins the others are aborted; their rejections are expected and dropped here.
  following.catch(() => {});
  polling.catch(() => {});
  explaining.catch(() => {});
  try {
    return await Promise.race([following, polling, sigint.interrupted]);
  } finally {
    sigint.off();
    ac.abort();
    reporter.stop();
  }
}
