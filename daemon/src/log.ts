import pino, { type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/**
 * Readable lines for a person at a terminal, one JSON object per line for anything that collects logs; never
 * both on one stream. COMFYGATE_LOG_FORMAT forces either.
 */
export function logFormat(env: NodeJS.ProcessEnv = process.env, tty = process.stderr.isTTY === true): LogFormat {
  const forced = env.COMFYGATE_LOG_FORMAT;
  if (forced === 'json' || forced === 'pretty') return forced;
  return tty ? 'pretty' : 'json';
}

/** Synchronous, in this thread: a transport worker would lose the last lines of a crash, and the bundle stays one file. */
function prettyStream(colorize: boolean): DestinationStream {
  return pinoPretty({
    destination: 2,
    sync: true,
    colorize,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
}

/** Logs on stderr; tokens never reach a log line (redacted wherever they might appear). */
export function createLogger(level: string, format: LogFormat = logFormat()): Logger {
  const stream = format === 'pretty' ? prettyStream(process.stderr.isTTY === true) : pino.destination(2);
  return pino(
    {
      level,
      base: { name: 'comfygate' },
      redact: ['req.headers.authorization', 'token', '*.token', 'headers["x-api-key"]'],
    },
    stream,
  );
}
