import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { canSee, checkOwner, INTERNAL, ownerFilter, seesAll, tokenOf, type Viewer } from './viewer.js';

const token = (tokenId: string, scope: 'read' | 'submit' | 'admin', seeAll = false): Viewer => ({
  kind: 'token',
  tokenId,
  scope,
  seeAll,
});
const codeOf = (f: () => void): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    return (e as GatewayError).code;
  }
};

describe('viewer', () => {
  it('INTERNAL (the daemon itself) sees and acts on everything and owns nothing itself', () => {
    expect(seesAll(INTERNAL)).toBe(true);
    expect(ownerFilter(INTERNAL)).toBeUndefined();
    expect(canSee(INTERNAL, 'anyone')).toBe(true);
    expect(codeOf(() => checkOwner(INTERNAL, 'anyone', 'job j', true))).toBeNull();
    expect(tokenOf(INTERNAL)).toBeUndefined();
    expect(Object.isFrozen(INTERNAL)).toBe(true);
  });

  it('a submit or read token sees its own only; another token is a 404 to read or change', () => {
    for (const scope of ['submit', 'read'] as const) {
      const me = token('me', scope);
      expect(seesAll(me)).toBe(false);
      expect(ownerFilter(me)).toBe('me');
      expect(canSee(me, 'me')).toBe(true);
      expect(canSee(me, 'other')).toBe(false);
      expect(codeOf(() => checkOwner(me, 'me', 'job j', true))).toBeNull();
      expect(codeOf(() => checkOwner(me, 'other', 'job j'))).toBe('not_found');
      expect(codeOf(() => checkOwner(me, 'other', 'job j', true))).toBe('not_found');
      expect(tokenOf(me)).toBe('me');
    }
  });

  it('an admin token sees and acts on every owner', () => {
    const admin = token('boss', 'admin');
    expect(seesAll(admin)).toBe(true);
    expect(ownerFilter(admin)).toBeUndefined();
    expect(canSee(admin, 'other')).toBe(true);
    expect(codeOf(() => checkOwner(admin, 'other', 'job j', true))).toBeNull();
    expect(tokenOf(admin)).toBe('boss');
  });

  it('a see-all token reads every owner but changing another is a 403', () => {
    const wall = token('wall', 'submit', true);
    expect(seesAll(wall)).toBe(true);
    expect(ownerFilter(wall)).toBeUndefined();
    expect(canSee(wall, 'other')).toBe(true);
    expect(codeOf(() => checkOwner(wall, 'other', 'job j'))).toBeNull();
    expect(codeOf(() => checkOwner(wall, 'other', 'job j', true))).toBe('forbidden');
    expect(codeOf(() => checkOwner(wall, 'wall', 'job j', true))).toBeNull();
  });

  it('a token named like an internal caller is still a token', () => {
    // Only `kind` makes a viewer internal: no token id or scope can pass for the daemon itself.
    const odd = token('internal', 'read');
    expect(seesAll(odd)).toBe(false);
    expect(canSee(odd, 'other')).toBe(false);
  });
});
