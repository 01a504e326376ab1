import type { BackoffConfig } from './config.js';

/**
 * Delay before the retry that follows `failures` consecutive failures (1 = the first failure):
 * base × factor^(failures−1), capped, then reduced by up to `jitter` of itself. Never above the cap.
 */
export function backoffDelay(failures: number, b: BackoffConfig, random: () => number = Math.random): number {
  const exponent = Math.max(0, failures - 1);
  const raw = Math.min(b.maxMs, b.baseMs * b.factor ** exponent);
  return Math.round(raw * (1 - b.jitter * random()));
}
