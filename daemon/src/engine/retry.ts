import type { Failure } from '../comfy/classify.js';

export interface RetryPolicy {
  retryBaseMs: number;
  retryMaxMs: number;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/**
 * The one retry decision: permanent failures never retry; transient ones retry while attempts remain, with
 * exponential backoff and "equal jitter" (half fixed, half random) so a fleet of jobs does not retry in step.
 */
export function decideRetry(
  failure: Failure,
  attemptsMade: number,
  maxAttempts: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): RetryDecision {
  if (failure.kind === 'permanent' || attemptsMade >= maxAttempts) return { retry: false };
  const exp = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** Math.max(0, attemptsMade - 1));
  return { retry: true, delayMs: Math.round(exp / 2 + random() * (exp / 2)) };
}
