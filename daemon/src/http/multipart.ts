import type { IncomingMessage } from 'node:http';
import type { Readable, Writable } from 'node:stream';

/**
 * `req.pipe(busboy)` does not pass a client hang-up on: the file stream would never end and its temp file
 * would stay open. Destroy both with `error` when the request closes before it completed.
 */
export function abortOnHangup(req: IncomingMessage, bb: Writable, file: () => Readable | null, error: () => Error): void {
  req.once('close', () => {
    if (req.complete) return;
    const err = error();
    file()?.destroy(err);
    bb.destroy(err);
  });
}
