import express, { type NextFunction, type Request, type Response } from 'express';
import { isSafeNumber, parse } from 'lossless-json';
import { GatewayError } from '../../errors.js';
import { scanJson } from '../limits/json-scan.js';

/**
 * JSON bodies parsed without losing integers above 2^53 (ComfyUI seeds go up to 2^64-1): those become
 * bigint and are written back verbatim when the graph is sent on. text/plain is accepted too, as ComfyUI
 * does (protocol §1.4), for clients that forget the header. Nesting is bounded before parsing.
 */
export function losslessJson(limit: number, maxDepth: number) {
  const text = express.text({ type: ['application/json', 'text/plain', 'application/*+json'], limit });
  return (req: Request, res: Response, next: NextFunction) => {
    text(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (typeof req.body !== 'string') return next();
      if (req.body.trim() === '') {
        req.body = undefined;
        return next();
      }
      const scan = scanJson(req.body, maxDepth);
      if (scan.tooDeep) {
        const message = `JSON nested deeper than ${maxDepth} levels (security.maxJsonDepth)`;
        return next(new GatewayError({ code: 'bad_request', message, details: { maxDepth } }));
      }
      try {
        // Without long numbers the native parser gives the same values, a hundred times faster.
        req.body = !scan.longNumbers
          ? JSON.parse(req.body)
          : parse(req.body, undefined, (value) =>
              isSafeNumber(value) ? Number(value) : /^-?\d+$/.test(value) ? BigInt(value) : Number(value),
            );
        next();
      } catch (e) {
        next(new GatewayError({ code: 'bad_request', message: `malformed JSON body: ${(e as Error).message}` }));
      }
    });
  };
}
