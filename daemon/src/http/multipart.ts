import type { IncomingMessage } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import busboy from 'busboy';
import { GatewayError } from '../errors.js';

/**
 * `req.pipe(busboy)` does not pass a client hang-up on: the file stream would never end and its temp file
 * would stay open. Destroy both with `error` when the request closes before it completed.
 */
export function abortOnHangup(
  req: IncomingMessage,
  bb: Writable,
  file: () => Readable | null,
  error: () => Error,
): void {
  req.once('close', () => {
    if (req.complete) return;
    const err = error();
    file()?.destroy(err);
    bb.destroy(err);
  });
}

/** busboy for this request; a multipart Content-Type without a usable boundary is the client's error (busboy throws). */
export function multipartParser(
  req: IncomingMessage,
  limits: busboy.Limits,
  invalid: (message: string) => Error,
): busboy.Busboy {
  try {
    return busboy({ headers: req.headers, limits });
  } catch (err) {
    throw invalid(`malformed multipart body: ${(err as Error).message}`);
  }
}

/**
 * A multipart file part as a byte source whose failures are the client's: a body cut before its closing boundary
 * ends the part with busboy's "Unexpected end of form", which must be a 400, not a storage error (507).
 */
export async function* clientBytes(file: Readable, invalid: (message: string) => Error): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of file) yield chunk as Uint8Array;
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw invalid(`malformed multipart body: ${(err as Error).message}`);
  }
}
