import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { type TokenScope, WS_TOKEN_PROTOCOL_PREFIX } from '@comfygate/shared';
import { GatewayError } from '../../errors.js';
import { allows, type Principal, type TokenService } from '../security/tokens.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

/**
 * The token from `Authorization: Bearer`, `X-API-Key` (Comfy API v2 clients), or, on a WebSocket upgrade only, a
 * subprotocol entry: browsers cannot set headers on a WebSocket, but any page can send that header with fetch.
 */
export function tokenFrom(req: IncomingMessage, opts: { webSocket?: boolean } = {}): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  const key = req.headers['x-api-key'];
  if (typeof key === 'string') return key.trim();
  const protocols = req.headers['sec-websocket-protocol'];
  if (opts.webSocket && typeof protocols === 'string') {
    const entry = protocols
      .split(',')
      .map((p) => p.trim())
      .find((p) => p.startsWith(WS_TOKEN_PROTOCOL_PREFIX));
    if (entry) return entry.slice(WS_TOKEN_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

/** Resolves the caller once per request; routes then state the scope they need with `need(scope)`. */
export function authenticate(tokens: TokenService) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const principal = await tokens.authenticate(tokenFrom(req));
    if (principal) req.principal = principal;
    next();
  };
}

/** The scope a route needs; the middleware carries it as `scope` so the route table can be checked against the OpenAPI document. */
export function need(scope: TokenScope) {
  const check = (req: Request, _res: Response, next: NextFunction) => {
    if (!req.principal)
      return next(
        new GatewayError({ code: 'unauthorized', message: 'missing or invalid token (Authorization: Bearer <token>)' }),
      );
    if (!allows(req.principal.scope, scope)) {
      return next(
        new GatewayError({
          code: 'forbidden',
          message: `this token has scope '${req.principal.scope}'; '${scope}' is needed`,
        }),
      );
    }
    next();
  };
  return Object.assign(check, { scope });
}

/**
 * The caller of a route behind `need(...)`, as the viewer its ownership checks are made against. Fails closed
 * (401) on a route mounted without `need`, rather than letting an absent caller pass for anyone.
 */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new GatewayError({ code: 'unauthorized', message: 'missing or invalid token' });
  return req.principal;
}
