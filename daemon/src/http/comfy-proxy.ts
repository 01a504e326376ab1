import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { WS_PROTOCOL } from '@comfygate/shared';
import type { Daemon } from '../daemon.js';
import { GatewayError } from '../errors.js';
import { type OpenStreams, streamKeys } from './security/open-streams.js';
import type { Principal } from './security/tokens.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and our own credentials never travel to ComfyUI. */
const DROP_REQUEST = new Set([
  'host',
  'origin',
  'referer',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'authorization',
  'x-api-key',
  'cookie',
]);
/** Client messages to ComfyUI are small JSON (the feature-flag handshake): bound them. */
const MAX_MESSAGE = 1024 * 1024;
const MAX_EARLY = 16;
/** Also no cookies: ComfyUI sets none, and a backend must not plant or overwrite the dashboard's session cookie. */
const DROP_RESPONSE = new Set([
  'set-cookie',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'access-control-allow-origin',
  'access-control-allow-credentials',
]);

/** `/comfy/...` goes to the first healthy backend; `/comfy/@name/...` to a named one. */
export function resolveTarget(daemon: Daemon, url: string): { base: string; path: string } {
  const rest = url.replace(/^\/comfy/, '') || '/';
  // `//host/…` would resolve as a protocol-relative URL to another host: never leave the backend's origin.
  if (/^(\/@[^/]*)?\/\//.test(rest) || rest.includes('\\'))
    throw new GatewayError({ code: 'bad_request', message: 'invalid ComfyUI path' });
  const named = /^\/@([A-Za-z0-9_.-]+)(\/.*|$)/.exec(rest);
  const backends = daemon.backends();
  const b = named
    ? backends.find((x) => x.name === named[1])
    : (backends.find((x) => x.health === 'up') ?? backends[0]);
  if (!b)
    throw new GatewayError({
      code: named ? 'not_found' : 'backend_unavailable',
      message: named ? `no backend '${named[1]}'` : 'no backend configured',
    });
  return { base: b.url, path: named ? named[2] || '/' : rest };
}

/** The backend URL for a passthrough path, checked to stay on the backend's own origin. */
function targetUrl(t: { base: string; path: string }): URL {
  const base = new URL(t.base);
  const u = new URL(t.path.startsWith('/') ? t.path : `/${t.path}`, base.origin);
  if (u.origin !== base.origin) throw new GatewayError({ code: 'bad_request', message: 'invalid ComfyUI path' });
  return u;
}

/**
 * HTTP passthrough, streamed both ways (no buffering of large files). Origin and Host are rewritten to
 * the backend's own, so ComfyUI's loopback origin check (protocol §4.1) passes for browser callers that
 * our own Origin policy already let in.
 */
export async function proxyHttp(daemon: Daemon, req: Request, res: Response): Promise<void> {
  const target = resolveTarget(daemon, req.originalUrl);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !DROP_REQUEST.has(k)) headers[k] = v;
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const url = targetUrl(target);
  let upstream;
  try {
    upstream = await request(url, {
      method: req.method as 'GET',
      headers,
      body: hasBody ? req : undefined,
    });
  } catch (err) {
    throw new GatewayError({
      code: 'backend_unavailable',
      message: `ComfyUI at ${target.base} is unreachable: ${(err as Error).message}`,
    });
  }
  res.status(upstream.statusCode);
  for (const [k, v] of Object.entries(upstream.headers))
    if (v !== undefined && !DROP_RESPONSE.has(k)) res.setHeader(k, v);
  await pipeline(upstream.body, res).catch(() => res.destroy());
}

/** WebSocket passthrough: our client's socket is bridged to `/ws` on the backend, frames kept binary or text. */
export function comfySocketProxy(daemon: Daemon, open?: OpenStreams) {
  // Browsers send the token as a subprotocol entry beside `comfygate.v1`, which we select.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE,
    handleProtocols: (p) => (p.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  const bridge = (client: WebSocket, upstreamUrl: string, principal?: Principal) => {
    const upstream = new WebSocket(upstreamUrl, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    // Like the event streams: revoking the token (or ending the session) that opened the bridge closes it.
    const forget = principal
      ? open?.track(
          streamKeys(principal.tokenId, principal.sessionId),
          () => (client.close(1008, 'signed out, session expired or token revoked'), upstream.terminate()),
          principal.sessionEndsAt,
        )
      : undefined;
    const early: [WebSocket.RawData, boolean][] = [];
    client.on('error', () => client.terminate());
    client.on('message', (data, isBinary) => {
      if (upstream.readyState === WebSocket.OPEN) return upstream.send(data, { binary: isBinary });
      if (early.length >= MAX_EARLY) return client.terminate(); // nothing is forwarded yet: do not hoard
      early.push([data, isBinary]);
    });
    upstream.on('open', () => early.splice(0).forEach(([d, b]) => upstream.send(d, { binary: b })));
    upstream.on(
      'message',
      (data, isBinary) => client.readyState === WebSocket.OPEN && client.send(data, { binary: isBinary }),
    );
    const closeBoth = () => (client.close(), upstream.terminate());
    upstream.on('close', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', () => (upstream.terminate(), forget?.()));
  };
  return {
    handle(req: IncomingMessage, socket: Duplex, head: Buffer, principal?: Principal) {
      const target = resolveTarget(daemon, req.url ?? '/');
      const url = targetUrl(target);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      wss.handleUpgrade(req, socket, head, (ws) => bridge(ws, url.toString(), principal));
    },
    close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
