import { describe, expect, it } from 'vitest';
import { LOGIN_CODE_TTL_MS, SESSION_TTL_MS, SessionService } from './sessions.js';

describe('SessionService', () => {
  it('a login code works once and only within its minutes', () => {
    let now = 1_000_000;
    const s = new SessionService(() => now);
    const a = s.mintCode('t1');
    expect(a.expiresAt).toBe(now + LOGIN_CODE_TTL_MS);
    expect(s.redeem(a.code)).toBe('t1');
    expect(s.redeem(a.code)).toBeNull();
    const b = s.mintCode('t2');
    now += LOGIN_CODE_TTL_MS;
    expect(s.redeem(b.code)).toBeNull();
    expect(s.redeem('made-up')).toBeNull();
  });

  it('a session lasts its TTL and ends when closed', () => {
    let now = 0;
    const s = new SessionService(() => now);
    const one = s.open('t1');
    const two = s.open('t1');
    expect(one.id).not.toBe(two.id);
    expect(s.lookup(one.id)?.tokenId).toBe('t1');
    expect(s.close(one.id)).toBe(true);
    expect(s.lookup(one.id)).toBeNull();
    now = SESSION_TTL_MS - 1;
    expect(s.lookup(two.id)?.tokenId).toBe('t1');
    now = SESSION_TTL_MS;
    expect(s.lookup(two.id)).toBeNull();
  });
});
