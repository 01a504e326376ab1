// HTTP plumbing on plain node:http so status codes, headers and bodies match aiohttp's exactly: the /api
// alias, the origin-only middleware (§4.1), OPTIONS, 404/405/413/500 bodies, injected route failures.
import { createReadStream, statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { normalizeRoutePath, type Faults } from './faults.js';
import { dumpJson } from './pyjson.js';
import { MAX_UPLOAD_SIZE } from './ws.js';

export interface Req {
  method: string;
  /** Path with any /api prefix removed, percent-decoded per segment by the router. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: IncomingMessage;
  body(): Promise<Buffer>;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** aiohttp FileResponse: streamed with Range and conditional GET support. */
  file?: string;
  /** Run once the reply is flushed (e.g. down() requested over the control route). */
  after?: () => void;
}

export type Handler = (req: Req) => Promise<Reply> | Reply;

export class HttpError extends Error {
  constructor(readonly reply: Reply) {
    super(`HTTP ${reply.status}`);
  }
}

const TEXT = 'text/plain; charset=utf-8';

export const reply = {
  json: (value: unknown, status = 200): Reply => ({
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: dumpJson(value),
  }),
  /** web.Response(status=...) with no body. */
  empty: (status = 200): Reply => ({ status, headers: { 'Content-Type': 'application/octet-stream' }, body: '' }),
  text: (status: number, text: string): Reply => ({ status, headers: { 'Content-Type': TEXT }, body: text }),
  /** aiohttp's HTTPException body: "<code>: <reason>". */
  status: (status: number): Reply =>
    status === 500 ? reply.serverError() : reply.text(status, `${status}: ${STATUS_CODES[status] ?? 'Unknown'}`),
  serverError: (): Reply => reply.text(500, '500 Internal Server Error\n\nServer got itself in trouble'),
};

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, segments: pattern.split('/'), handler });
    return this;
  }

  private static params(route: Route, parts: string[]): Record<string, string> | undefined {
    if (route.segments.length !== parts.length) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const seg = route.segments[i] as string;
      const part = parts[i] as string;
      if (seg.startsWith('{') && seg.endsWith('}')) {
        if (part === '') return undefined;
        params[seg.slice(1, -1)] = part;
      } else if (seg !== part) return undefined;
    }
    return params;
  }

  /** The handler for method+path, 'method' if only the method is wrong (405), else undefined (404). */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    const parts = path.split('/').map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
    let wrongMethod = false;
    for (const route of this.routes) {
      const params = Router.params(route, parts);
      if (!params) continue;
      if (route.method === method || (route.method === 'GET' && method === 'HEAD'))
        return { handler: route.handler, params };
      wrongMethod = true;
    }
    return wrongMethod ? 'method' : undefined;
  }
}

// ---------- origin-only middleware ----------

const loopbackCache = new Map<string, boolean>();

function isLoopbackIp(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

/** server.is_loopback(): a loopback literal, or a name whose every address is loopback. */
async function isLoopback(host: string | undefined): Promise<boolean> {
  if (!host) return false;
  if (isIP(host)) return isLoopbackIp(host);
  const known = loopbackCache.get(host);
  if (known !== undefined) return known;
  let result: boolean;
  try {
    const addrs = await lookup(host, { all: true });
    result = addrs.length > 0 && addrs.every((a) => isLoopbackIp(a.address));
  } catch {
    result = false;
  }
  loopbackCache.set(host, result);
  return result;
}

/** urllib.parse netloc/hostname/port, enough for Host and Origin values. */
function splitNetloc(netloc: string): { netloc: string; hostname: string | undefined; port: string | undefined } {
  const hostPort = netloc.slice(netloc.lastIndexOf('@') + 1);
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
  const rawHost = m?.[1] ?? hostPort;
  const hostname = rawHost.replace(/^\[|\]$/g, '').toLowerCase() || undefined;
  return { netloc, hostname, port: m?.[2] ? m[2] : undefined };
}

/** The check of create_origin_only_middleware(); false means 403 with an empty body. */
export async function originAllowed(headers: IncomingHttpHeaders): Promise<boolean> {
  const hostHeader = headers.host;
  const originHeader = headers.origin;
  if (hostHeader === undefined || originHeader === undefined) return true;
  const host = splitNetloc(hostHeader.toLowerCase());
  const originNetloc = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(originHeader)?.[1]?.toLowerCase() ?? '';
  const origin = splitNetloc(originNetloc);
  const loopback = await isLoopback(host.hostname);
  let hostDomain: string | undefined = host.netloc;
  let originDomain: string | undefined = origin.netloc;
  if (origin.port === undefined) hostDomain = host.hostname;
  if (host.port === undefined) originDomain = origin.hostname;
  if (loopback && hostDomain && originDomain && hostDomain !== originDomain) return false;
  return true;
}

// ---------- request / response ----------

/** The whole body, or 413 past --max-upload-size (it applies to every request in aiohttp). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const tooLarge = (n: number): HttpError =>
    new HttpError(reply.text(413, `Maximum request body size ${MAX_UPLOAD_SIZE} exceeded, actual body size ${n}`));
  if (declared > MAX_UPLOAD_SIZE) throw tooLarge(declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_UPLOAD_SIZE) throw tooLarge(size);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendFile(req: IncomingMessage, res: ServerResponse, r: Reply & { file: string }): void {
  const st = statSync(r.file);
  const etag = `"${Math.floor(st.mtimeMs * 1e6).toString(16)}-${st.size.toString(16)}"`;
  const lastModified = st.mtime.toUTCString();
  const headers: Record<string, string> = {
    ...r.headers,
    'Last-Modified': lastModified,
    ETag: etag,
    'Accept-Ranges': 'bytes',
  };
  const notModified =
    req.headers['if-none-match'] === etag ||
    (req.headers['if-modified-since'] !== undefined &&
      Date.parse(req.headers['if-modified-since']) >= Math.floor(st.mtimeMs / 1000) * 1000);
  if (notModified) {
    res.writeHead(304, headers).end();
    return;
  }
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (range && (range[1] || range[2])) {
    start = range[1] ? Number(range[1]) : Math.max(0, st.size - Number(range[2]));
    end = range[1] && range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1;
    if (start > end || start >= st.size) {
      res.writeHead(416, { 'Content-Range': `bytes */${st.size}` }).end();
      return;
    }
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
  }
  headers['Content-Length'] = String(end - start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD') res.end();
  else
    createReadStream(r.file, { start, end })
      .on('error', () => res.destroy())
      .pipe(res);
}

const SERVER_HEADER = 'Python/3.12 aiohttp/3.11.18';

export function send(req: IncomingMessage, res: ServerResponse, r: Reply): void {
  if (res.headersSent || res.destroyed) return;
  res.setHeader('Server', SERVER_HEADER);
  if (r.after) res.once('finish', r.after);
  if (r.file) {
    sendFile(req, res, r as Reply & { file: string });
    return;
  }
  const body = typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : (r.body ?? Buffer.alloc(0));
  res.writeHead(r.status, { ...r.headers, 'Content-Length': String(body.length) });
  res.end(body);
}

export interface FrontOptions {
  router: Router;
  faults: Faults;
  /** Routes outside ComfyUI's table (the fake's control route), exact path -> handler. */
  extra: Map<string, Handler>;
}

/** Middleware order: origin check, OPTIONS, fake control route, injected failures, routing. */
export async function handleRequest(opts: FrontOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const r = await route(opts, req);
    send(req, res, r);
  } catch (e) {
    send(req, res, e instanceof HttpError ? e.reply : reply.serverError());
  }
}

async function route(opts: FrontOptions, req: IncomingMessage): Promise<Reply> {
  if (!(await originAllowed(req.headers))) return reply.empty(403);
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'OPTIONS') return reply.empty(200);
  const url = new URL(req.url ?? '/', 'http://fake');
  const extra = opts.extra.get(url.pathname);
  const base: Omit<Req, 'path' | 'params'> = {
    method,
    query: url.searchParams,
    headers: req.headers,
    raw: req,
    body: () => readBody(req),
  };
  if (extra) return extra({ ...base, path: url.pathname, params: {} });
  const injected = opts.faults.takeRouteFailure(method, url.pathname);
  if (injected !== undefined) return reply.status(injected);
  const path = url.pathname === '/api' ? '/api' : normalizeRoutePath(url.pathname);
  const found = opts.router.match(method, path);
  if (found === undefined) return reply.status(404);
  if (found === 'method') return reply.status(405);
  return found.handler({ ...base, path, params: found.params });
}

/** Refuse a WebSocket upgrade with a plain HTTP response. */
export function refuseUpgrade(socket: Duplex, status: number): void {
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = status === 403 ? '' : `${status}: ${reason}`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${TEXT}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
