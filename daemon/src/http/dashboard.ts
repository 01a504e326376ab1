import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../errors.js';

/**
 * Everything the dashboard loads comes from here: scripts, styles and images from this origin only, no inline
 * script, no framing (clickjacking an Approve button), no form posts elsewhere. `blob:` images are the
 * reference image a person drops or pastes, shown before it is uploaded.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/**
 * A bundled daemon serves the dashboard built beside it (dist/<build>/dashboard), the code it runs; from source,
 * daemon/dist/dashboard (`build:dashboard`). The bundle's own comes first: the other may be older than it.
 */
export function dashboardDir(): string {
  if (process.env.COMFYGATE_DASHBOARD_DIR) return process.env.COMFYGATE_DASHBOARD_DIR;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    path.resolve(here, 'dashboard'),
    path.resolve(here, '../../dist/dashboard'),
    path.resolve(here, '../dashboard'),
  ];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? candidates[0]!;
}

interface Entry {
  body: Buffer;
  br?: Buffer;
  gz?: Buffer;
  type: string;
  immutable: boolean;
  etag: string;
}

/** Reads the build once (it is small) so each request is a lookup; a missing build is a clear 404, not a crash. */
function load(dir: string): Map<string, Entry> | null {
  if (!fs.existsSync(path.join(dir, 'index.html'))) return null;
  const files = new Map<string, Entry>();
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.posix.join(rel, d.name);
      if (d.isDirectory()) walk(r);
      else if (d.isFile() && !/\.(br|gz)$/.test(d.name)) {
        const abs = path.join(dir, r);
        const read = (ext: string) => (fs.existsSync(abs + ext) ? fs.readFileSync(abs + ext) : undefined);
        const body = fs.readFileSync(abs);
        files.set('/' + r, {
          body,
          etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
          br: read('.br'),
          gz: read('.gz'),
          type: TYPES[path.extname(d.name)] ?? 'application/octet-stream',
          // Bundles carry a content hash in their name (assets/app-3F2A.js): cache them for good.
          immutable: r.startsWith('assets/'),
        });
      }
    }
  };
  walk('');
  return files;
}

/** Serves the dashboard at `/` (no token: the page holds no data; every call it makes needs a session). */
export function dashboardStatic(dir = dashboardDir()) {
  let files = load(dir);
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const p = req.path === '/' || req.path === '/index.html' ? '/index.html' : req.path;
    if (p !== '/index.html' && !p.startsWith('/assets/') && p !== '/favicon.svg') return next();
    files ??= load(dir); // built after the daemon started
    if (!files) {
      return next(
        new GatewayError({
          code: 'not_found',
          message: `the dashboard is not built (no ${path.join(dir, 'index.html')}): run \`pnpm --filter @comfygate/daemon build:dashboard\``,
        }),
      );
    }
    const f = files.get(p);
    if (!f) return next();
    const accept = String(req.headers['accept-encoding'] ?? '');
    const [body, encoding] =
      f.br && /\bbr\b/.test(accept) ? [f.br, 'br'] : f.gz && /\bgzip\b/.test(accept) ? [f.gz, 'gzip'] : [f.body, null];
    res.setHeader('Content-Type', f.type);
    res.setHeader('Vary', 'Accept-Encoding');
    if (encoding) res.setHeader('Content-Encoding', encoding);
    res.setHeader('Cache-Control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('ETag', f.etag);
    if (req.headers['if-none-match'] === f.etag) return void res.status(304).end();
    res.setHeader('Content-Length', String(body.length));
    res.status(200).end(req.method === 'HEAD' ? undefined : body);
  };
}
