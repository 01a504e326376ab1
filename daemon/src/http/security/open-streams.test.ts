import { afterEach, describe, expect, it, vi } from 'vitest';
import { OpenStreams, sessionStreams, streamKeys, tokenStreams } from './open-streams.js';

describe('open streams', () => {
  afterEach(() => void vi.useRealTimers());

  it("ends a session's streams on sign-out and a token's (its sessions' included) on revoke, nobody else's", () => {
    const open = new OpenStreams();
    const ended: string[] = [];
    open.track(streamKeys('t1', 's1'), () => ended.push('t1 via s1'));
    open.track(streamKeys('t1', undefined), () => ended.push('t1 bearer'));
    open.track(streamKeys('t2', 's2'), () => ended.push('t2 via s2'));
    open.end(sessionStreams('s1'));
    expect(ended).toEqual(['t1 via s1']);
    open.end(tokenStreams('t1'));
    expect(ended).toEqual(['t1 via s1', 't1 bearer']); // each stream ends once
    open.end(tokenStreams('t1'));
    open.end(sessionStreams('s2'));
    expect(ended).toEqual(['t1 via s1', 't1 bearer', 't2 via s2']);
  });

  it('ends a session stream when the session expires, unless it closed first', () => {
    vi.useFakeTimers();
    const open = new OpenStreams();
    const ended: string[] = [];
    open.track(['session:a'], () => ended.push('a'), Date.now() + 60_000);
    const forgetB = open.track(['session:b'], () => ended.push('b'), Date.now() + 60_000);
    forgetB();
    vi.advanceTimersByTime(59_999);
    expect(ended).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ended).toEqual(['a']);
  });
});
