import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { GatewayError, toGatewayError } from '../../errors.js';

/** Body-parser errors carry an http-errors `type`; map them onto our codes so clients always get our shape. */
function fromHttpError(err: unknown): GatewayError | null {
  if (err instanceof GatewayError) return err;
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed')
    return new GatewayError({ code: 'bad_request', message: `malformed JSON body: ${e.message}` });
  if (e?.type === 'entity.too.large')
    return new GatewayError({ code: 'payload_too_large', message: 'request body too large' });
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return new GatewayError({ code: 'unsupported_media_type', message: e.message ?? 'unsupported encoding' });
  if (e?.status === 404)
    return new GatewayError({ code: 'not_found', message: 'the stored file is gone (removed by retention?)' });
  if (e?.status === 416)
    return new GatewayError({ code: 'range_not_satisfiable', message: 'requested range not satisfiable' });
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500)
    return new GatewayError({ code: 'bad_request', message: e.message ?? 'bad request' });
  return null;
}

/** The only place an error becomes a response: always JSON `{error: {code, message, details}}`. */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const g = fromHttpError(err) ?? toGatewayError(err);
    if (g.status >= 500) log.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return res.destroy();
    if (g.retryAfterSec !== undefined) res.setHeader('Retry-After', String(g.retryAfterSec));
    // Internal errors keep their cause in the log only: messages may name files or SQL.
    const body =
      g.code === 'internal' ? { error: { code: g.code, message: 'internal error; see the daemon log' } } : g.toBody();
    res.status(g.status).json(body);
  };
}

export function notFound(req: Request, _res: Response, next: NextFunction) {
  next(new GatewayError({ code: 'not_found', message: `no route ${req.method} ${req.path}` }));
}
