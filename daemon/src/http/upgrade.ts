import http from 'node:http';
import type { Duplex } from 'node:stream';
import { GatewayError } from '../errors.js';
import { tokenFrom } from './middleware/auth.js';
import type { OriginPolicy } from './middleware/host-origin.js';
import { allows, type Principal, type TokenService } from './security/tokens.js';

export interface SocketRoute {
  handle(req: http.IncomingMessage, socket: Duplex, head: Buffer, principal: Principal): void;
}

const CODES: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 429: 'rate_limited' };

/**
 * WebSocket upgrades (`/v1/ws`, `/comfy/ws`) behind the same Host/Origin/token policy as HTTP. The raw socket gets
 * an `error` listener before anything else: a client that resets the connection instead of reading a refusal
 * (Python's websocket-client does) would otherwise raise an unhandled `'error'` and end the process.
 */
export function upgradeHandler(deps: {
  policy: OriginPolicy;
  tokens: TokenService;
  events: SocketRoute;
  comfy: SocketRoute;
  /** A caller without a bearer token may still be signed in another way (the dashboard's session cookie). */
  fallback?: (req: http.IncomingMessage) => Promise<Principal | null>;
}) {
  return (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, message: string) => {
      if (socket.destroyed) return;
      const body = JSON.stringify({ error: { code: CODES[status] ?? 'bad_request', message } });
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
    };
    void (async () => {
      if (!deps.policy.hostAllowed(req.headers.host)) return refuse(403, 'Host not allowed');
      if (req.headers.origin !== undefined && !deps.policy.originAllowed(req.headers.origin))
        return refuse(403, 'Origin not allowed');
      const principal =
        (await deps.tokens.authenticate(tokenFrom(req, { webSocket: true }))) ?? (await deps.fallback?.(req)) ?? null;
      if (socket.destroyed) return;
      if (!principal) return refuse(401, 'missing or invalid token');
      const path = (req.url ?? '').split('?')[0]!;
      if (path === '/v1/ws') return deps.events.handle(req, socket, head, principal);
      if (path === '/comfy' || path.startsWith('/comfy/')) {
        if (!allows(principal.scope, 'admin')) return refuse(403, "scope 'admin' needed");
        return deps.comfy.handle(req, socket, head, principal);
      }
      refuse(404, 'no WebSocket route here');
    })().catch((err: unknown) => (err instanceof GatewayError ? refuse(err.status, err.message) : socket.destroy()));
  };
}
