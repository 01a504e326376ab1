import { GatewayError } from '../../errors.js';

/**
 * Long-lived streams (WebSockets, SSE) held per token. Counted per token, not globally: one token holding many
 * must not starve everyone else's dashboards and plugins.
 */
export class StreamSlots {
  private readonly held = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** A release function, or null when this token already holds `max` streams. Release is idempotent. */
  tryAcquire(tokenId: string): (() => void) | null {
    const n = this.held.get(tokenId) ?? 0;
    if (n >= this.max) return null;
    this.held.set(tokenId, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(tokenId) ?? 1) - 1;
      if (left <= 0) this.held.delete(tokenId);
      else this.held.set(tokenId, left);
    };
  }

  /** Like tryAcquire, but a refusal is a 429 naming the limit. */
  acquire(tokenId: string): () => void {
    const release = this.tryAcquire(tokenId);
    if (release) return release;
    throw new GatewayError({
      code: 'rate_limited',
      message: `this token already holds ${this.max} event streams (security.maxStreamsPerToken); close one first`,
      retryAfterSec: 5,
      details: { limit: this.max },
    });
  }
}

/** A token bucket refilled continuously: `perMinute` per minute, a burst of the same size. */
export function messageBudget(perMinute: number, now: () => number = Date.now): () => boolean {
  let tokens = perMinute;
  let at = now();
  return () => {
    const t = now();
    tokens = Math.min(perMinute, tokens + ((t - at) * perMinute) / 60_000);
    at = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}
