import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON logs on stderr; tokens never reach a log line (redacted wherever they might appear). */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: { name: 'comfygate' }, redact: ['req.headers.authorization', 'token', '*.token', 'headers["x-api-key"]'] },
    pino.destination(2),
  );
}
