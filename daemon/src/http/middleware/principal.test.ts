import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { Principal } from '../security/tokens.js';
import { principalOf } from './auth.js';

describe('principalOf', () => {
  it("is the request's token", () => {
    const p: Principal = { kind: 'token', tokenId: 't', name: 'n', scope: 'read', seeAll: false, dailyQuota: null };
    expect(principalOf({ principal: p } as Request)).toBe(p);
  });

  it('fails closed (401) on a request no token authenticated, never passing for an internal caller', () => {
    let err: unknown;
    try {
      principalOf({} as Request);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('unauthorized');
  });
});
