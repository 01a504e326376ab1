import { describe, expect, it } from 'vitest';
import { waitingReason } from './waiting.js';

describe('waitingReason', () => {
  it("says why a queued job does not run in the daemon's words, pointing at doctor where a person must act", () => {
    expect(waitingReason({ state: 'queued', waiting: 'no backend is up' })).toBe('no backend is up (comfygate doctor)');
    expect(waitingReason({ state: 'queued', waiting: "needs ckpt_name 'x': only on a, which is down" })).toBe(
      "needs ckpt_name 'x': only on a, which is down (comfygate doctor)",
    );
    expect(waitingReason({ state: 'queued', waiting: 'waiting for a free slot on a' })).toBe(
      'waiting for a free slot on a',
    );
    expect(waitingReason({ state: 'queued', waiting: null })).toBeNull();
    expect(waitingReason({ state: 'running', waiting: 'no backend is up' })).toBeNull();
  });
});
