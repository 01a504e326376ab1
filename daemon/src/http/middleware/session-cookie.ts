import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Store } from '../../store/types.js';
import type { SessionService } from '../security/sessions.js';
import type { Principal } from '../security/tokens.js';

export const SESSION_COOKIE = 'comfygate_session';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set when the caller is a dashboard session (cookie) rather than a bearer token. */
      sessionId?: string;
    }
  }
}

export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * A cookie rides along on every request the browser makes to this origin, including ones another page
 * triggers (SameSite=Strict does not separate ports: 127.0.0.1:3000 is the same site as :8288). So the cookie
 * counts only on requests the dashboard itself made: `Sec-Fetch-Site: same-origin` (or `none`, a person
 * typing or opening a link), or an `Origin` equal to the Host it was sent to. Bearer tokens are not
 * affected: pages cannot attach them.
 */
export function sameOriginRequest(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return false;
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && u.host === req.headers.host?.toLowerCase();
  } catch {
    return false;
  }
}

/** The principal of a live session, read fresh from the store so a revoked token ends its sessions too. */
export async function sessionPrincipal(
  req: IncomingMessage,
  sessions: SessionService,
  store: Store,
): Promise<{ id: string; principal: Principal } | null> {
  const id = cookieValue(req, SESSION_COOKIE);
  if (!id || id.length > 100 || !sameOriginRequest(req)) return null;
  const s = sessions.lookup(id);
  if (!s) return null;
  const t = (await store.tokens.list()).find((x) => x.id === s.tokenId);
  if (!t || t.revokedAt !== null) return null;
  return {
    id,
    principal: {
      kind: 'token',
      tokenId: t.id,
      name: t.name,
      scope: t.scope,
      dailyQuota: t.dailyQuota,
      seeAll: t.seeAll,
      sessionId: id,
      sessionEndsAt: s.expiresAt,
    },
  };
}

/**
 * Pages a ComfyUI backend serves through `/comfy` (its web UI, an SVG from `/view`) would run in the dashboard's
 * origin; with the session cookie, their scripts could call the API as the signed-in admin. So through `/comfy` the
 * cookie counts only for the dashboard's own script fetches (`Sec-Fetch-Dest: empty`), never for a document, frame or
 * any other load a browser makes. A bearer token is not affected: a page cannot attach one.
 */
export function cookieMayReach(req: IncomingMessage): boolean {
  const path = (req.url ?? '').split('?')[0]!;
  if (path !== '/comfy' && !path.startsWith('/comfy/')) return true;
  return req.headers['sec-fetch-dest'] === 'empty';
}

/** After `authenticate`: a request without a bearer token may still be a dashboard session. */
export function sessionAuth(sessions: SessionService, store: Store) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    if (req.principal || !cookieMayReach(req)) return next();
    const s = await sessionPrincipal(req, sessions, store);
    if (s) ((req.principal = s.principal), (req.sessionId = s.id));
    next();
  };
}
