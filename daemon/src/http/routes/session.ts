import { Router, type Request, type Response } from 'express';
import { LOGIN_FRAGMENT_KEY, type SessionInfo, SignIn } from '@comfygate/shared';
import { GatewayError } from '../../errors.js';
import type { Store } from '../../store/types.js';
import { need } from '../middleware/auth.js';
import { rateLimit } from '../middleware/rate-limit.js';
import { SESSION_COOKIE, sameOriginRequest } from '../middleware/session-cookie.js';
import { parseBody } from '../validate.js';
import { type OpenStreams, sessionStreams } from '../security/open-streams.js';
import { SESSION_TTL_MS, type SessionService } from '../security/sessions.js';
import type { TokenService } from '../security/tokens.js';

/** No `Secure`: the daemon is plain HTTP (loopback by default), where browsers would drop a Secure cookie off localhost. */
const cookie = (value: string, maxAgeS: number) =>
  `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}`;

/**
 * Dashboard sessions: `POST /v1/session` exchanges a one-time code (from a printed link) or a pasted token for
 * an HttpOnly cookie; `GET` says who the caller is; `DELETE` signs out. `POST /v1/session/codes` mints a
 * sign-in link for the caller's own token (the CLI's `comfygate dashboard`).
 */
export function sessionRoutes(deps: {
  sessions: SessionService;
  tokens: TokenService;
  store: Store;
  baseUrl: () => string;
  open?: OpenStreams;
}): Router {
  const { sessions, tokens, store } = deps;
  const r = Router();

  // No credentials yet, so a tight limit of its own: guessing 192-bit codes is hopeless, but cheap requests are not free.
  r.post('/session', rateLimit(30), async (req: Request, res: Response) => {
    // Login CSRF: another page must not sign this browser in as someone else, so only the dashboard may call this.
    if (!sameOriginRequest(req))
      throw new GatewayError({ code: 'forbidden', message: 'sign in from the dashboard page itself' });
    const body = parseBody(SignIn, req.body ?? {});
    let tokenId: string | null;
    if ('code' in body) {
      tokenId = sessions.redeem(body.code);
      const message = 'this sign-in link was already used or has expired; print a new one with `comfygate dashboard`';
      if (!tokenId) throw new GatewayError({ code: 'unauthorized', message });
    } else {
      tokenId = (await tokens.authenticate(body.token))?.tokenId ?? null;
      if (!tokenId) throw new GatewayError({ code: 'unauthorized', message: 'unknown or revoked token' });
    }
    const t = (await store.tokens.list()).find((x) => x.id === tokenId);
    if (!t || t.revokedAt !== null)
      throw new GatewayError({ code: 'unauthorized', message: 'the token behind this link was revoked' });
    const s = sessions.open(t.id);
    res.setHeader('Set-Cookie', cookie(s.id, Math.floor(SESSION_TTL_MS / 1000)));
    res.setHeader('Cache-Control', 'no-store');
    const info: SessionInfo = { tokenId: t.id, name: t.name, scope: t.scope, via: 'session', expiresAt: s.expiresAt };
    res.status(201).json(info);
  });

  r.get('/session', need('read'), (req, res) => {
    const p = req.principal!;
    const expiresAt = req.sessionId ? (sessions.lookup(req.sessionId)?.expiresAt ?? null) : null;
    const info: SessionInfo = {
      tokenId: p.tokenId,
      name: p.name,
      scope: p.scope,
      via: req.sessionId ? 'session' : 'token',
      expiresAt,
    };
    res.setHeader('Cache-Control', 'no-store');
    res.json(info);
  });

  r.delete('/session', need('read'), (req, res) => {
    if (req.sessionId) (sessions.close(req.sessionId), deps.open?.end(sessionStreams(req.sessionId)));
    res.setHeader('Set-Cookie', cookie('', 0));
    res.status(204).end();
  });

  r.post('/session/codes', need('read'), (req, res) => {
    // A session minting links for itself would outlive its own expiry; links come from someone holding the token.
    if (req.sessionId) {
      throw new GatewayError({
        code: 'forbidden',
        message: 'sign-in links are made with a token (e.g. `comfygate dashboard`), not a session',
      });
    }
    const { code, expiresAt } = sessions.mintCode(req.principal!.tokenId);
    res.setHeader('Cache-Control', 'no-store');
    res.status(201).json({ code, expiresAt, url: loginUrl(deps.baseUrl(), code) });
  });
  return r;
}

export const loginUrl = (baseUrl: string, code: string): string => `${baseUrl}/#${LOGIN_FRAGMENT_KEY}=${code}`;
