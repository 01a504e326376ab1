import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../../errors.js';
import type { SecurityConfig } from '../../config/schema.js';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];

/** Host name from a Host header, without port; IPv6 literals keep their brackets. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.replace(/:\d+$/, '');
}

export interface OriginPolicy {
  hostAllowed(host: string | undefined): boolean;
  originAllowed(origin: string): boolean;
}

/**
 * DNS rebinding is defeated by refusing any Host we were not told about (no name is resolved); CSRF from
 * web pages by refusing any Origin that is not the dashboard's own (same host names, same port), a VS Code webview, Figma's `null`
 * (which still needs a token) or a configured one. As in the fixes for Ollama CVE-2024-28224 and
 * ComfyUI CVE-2024-10481.
 */
export function originPolicy(sec: SecurityConfig, bindHost: string, ownPort: () => number): OriginPolicy {
  const names = new Set([...LOOPBACK_NAMES, ...sec.allowedHosts.map((h) => h.toLowerCase())]);
  if (bindHost !== '0.0.0.0' && bindHost !== '::') names.add(hostName(bindHost));
  const extra = new Set(sec.allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, '')));
  return {
    hostAllowed: (host) => host !== undefined && names.has(hostName(host)),
    originAllowed(origin) {
      const o = origin.toLowerCase();
      if (o === 'null' || o.startsWith('vscode-webview://') || extra.has(o)) return true;
      try {
        // Our own origin only (the dashboard): another local port is another program, as ComfyUI also holds.
        const u = new URL(o);
        const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
        return (u.protocol === 'http:' || u.protocol === 'https:') && names.has(hostName(u.host)) && port === ownPort();
      } catch {
        return false;
      }
    },
  };
}

export const ALLOWED_HEADERS = 'authorization, content-type, idempotency-key, last-event-id, x-api-key, comfy-user';
const EXPOSED_HEADERS = 'etag, content-disposition, location, content-range, accept-ranges';

const hostRefused = (req: Request) =>
  new GatewayError({
    code: 'forbidden',
    message: `Host '${req.headers.host ?? ''}' is not allowed; add it to security.allowedHosts`,
  });

/** The Host check alone, for routes open to any Origin (`/healthz`): a rebound DNS name still learns nothing. */
export function hostOnly(policy: OriginPolicy) {
  return (req: Request, _res: Response, next: NextFunction) =>
    next(policy.hostAllowed(req.headers.host) ? undefined : hostRefused(req));
}

export function hostAndOrigin(policy: OriginPolicy) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!policy.hostAllowed(req.headers.host)) return next(hostRefused(req));
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    if (!policy.originAllowed(origin)) {
      return next(
        new GatewayError({
          code: 'forbidden',
          message: `Origin '${origin}' is not allowed; add it to security.allowedOrigins`,
        }),
      );
    }
    if (answerCors(req, res, origin)) return;
    next();
  };
}

/** CORS headers for an origin already allowed; true when this was a preflight, now answered. */
export function answerCors(req: Request, res: Response, origin: string): boolean {
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  if (req.method !== 'OPTIONS' || !req.headers['access-control-request-method']) return false;
  res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
  res.setHeader('Access-Control-Max-Age', '600');
  if (req.headers['access-control-request-private-network'] === 'true')
    res.setHeader('Access-Control-Allow-Private-Network', 'true');
  res.status(204).end();
  return true;
}
