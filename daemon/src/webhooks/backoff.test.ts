import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';
import { BackoffConfig, WEBHOOK_DEFAULTS } from './config.js';

describe('webhook retry backoff', () => {
  const b = WEBHOOK_DEFAULTS.backoff;

  it('defaults to 1 s, doubling, capped at 5 min, 20 % jitter; 10 s timeout; disable after 3 days', () => {
    expect(b).toEqual({ baseMs: 1_000, factor: 2, maxMs: 300_000, jitter: 0.2 });
    expect(WEBHOOK_DEFAULTS.timeoutMs).toBe(10_000);
    expect(WEBHOOK_DEFAULTS.disableAfterMs).toBe(3 * 24 * 3600 * 1000);
  });

  it('doubles from the base up to the cap (no jitter drawn)', () => {
    const schedule = Array.from({ length: 12 }, (_, i) => backoffDelay(i + 1, b, () => 0));
    expect(schedule).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000,
    ]);
    expect(backoffDelay(10_000, b, () => 0)).toBe(300_000); // no overflow after days of failures
  });

  it('jitters downwards only, within the configured fraction', () => {
    expect(backoffDelay(1, b, () => 1)).toBe(800);
    expect(backoffDelay(20, b, () => 1)).toBe(240_000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, b);
      expect(d).toBeGreaterThanOrEqual(3_200);
      expect(d).toBeLessThanOrEqual(4_000);
    }
  });

  it('takes overrides (tests use milliseconds)', () => {
    const fast = BackoffConfig.parse({ baseMs: 10, maxMs: 40, jitter: 0 });
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, fast))).toEqual([10, 20, 40, 40, 40]);
  });
});
