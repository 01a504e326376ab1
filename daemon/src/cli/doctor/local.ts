import fs from 'node:fs';
import net from 'node:net';
import { type Backend, isGatewayClientError } from '@comfygate/shared';
import { type Ctx, tokenFile } from '../context.js';
import { ANSWER_MS, type Check, fail, ok, portOf, reason, warn, withTimeout } from './types.js';

/** The data directory and the admin token file: present, writable, private. */
export function checkHome(home: string): Check[] {
  const label = 'data dir';
  const stat = fs.statSync(home, { throwIfNoEntry: false });
  if (!stat)
    return [
      warn(label, `${home} does not exist yet`, '`comfygate start` creates it (or set COMFYGATE_HOME to where it is)'),
    ];
  if (!stat.isDirectory())
    return [fail(label, `${home} is not a directory`, `move it away or set COMFYGATE_HOME to another path`)];
  try {
    fs.accessSync(home, fs.constants.W_OK);
  } catch {
    return [fail(label, `${home} is not writable`, `chmod u+w ${home} (or set COMFYGATE_HOME to a writable dir)`)];
  }
  return [ok(label, `${home} exists and is writable`), checkTokenFile()];
}

function checkTokenFile(): Check {
  const file = tokenFile();
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) return warn('token file', `${file} does not exist yet`, '`comfygate start` writes it');
  // Windows has no POSIX modes; the file lives in the user's profile there.
  if (process.platform === 'win32') return ok('token file', file);
  const mode = stat.mode & 0o777;
  if (mode & 0o077)
    return fail(
      'token file',
      `${file} is readable by others (mode ${mode.toString(8).padStart(4, '0')})`,
      `chmod 600 ${file}`,
    );
  return ok('token file', `${file} has mode 0600`);
}

/** Can something listen where the daemon would? Tells "daemon down" from "port taken by someone else". */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '0.0.0.0']);

async function checkNotRunning(url: URL, err: unknown): Promise<Check> {
  const label = 'daemon';
  const port = portOf(url);
  if (!LOCAL_HOSTS.has(url.hostname))
    return fail(
      label,
      `cannot reach ${url.origin} (${reason(err)})`,
      'check --url / COMFYGATE_URL, or start comfygate on that machine',
    );
  if (await portFree(url.hostname.replace(/^\[|\]$/g, ''), port)) {
    return warn(
      label,
      `comfygate is not running at ${url.origin} (port ${port} is free to start on)`,
      'start it with `comfygate start` or `pnpm start`',
    );
  }
  return fail(
    label,
    `port ${port} is taken but comfygate does not answer there (${reason(err)})`,
    `stop the program on port ${port}, or run \`comfygate start --port <other>\` and pass --url`,
  );
}

/** Daemon reachable and our token accepted; yields its backends for the ComfyUI checks when it can. */
export async function checkDaemon(ctx: Ctx): Promise<{ checks: Check[]; backends: Backend[] | null }> {
  const url = new URL(ctx.url);
  try {
    await ctx.client.request('GET', '/healthz', { signal: AbortSignal.timeout(ANSWER_MS) });
  } catch (err) {
    return { checks: [await checkNotRunning(url, err)], backends: null };
  }
  const running = ok('daemon', `comfygate is running at ${url.origin}`);
  try {
    const backends = await withTimeout(ctx.client.backends(), ANSWER_MS, 'GET /v1/backends');
    return { checks: [running, ok('token', `accepted (from ${ctx.tokenSource})`)], backends };
  } catch (err) {
    const refused = isGatewayClientError(err) && (err.code === 'unauthorized' || err.code === 'forbidden');
    const check = refused
      ? fail(
          'token',
          `the daemon refused it: ${err.message}`,
          `pass --token, set COMFYGATE_TOKEN, or check ${tokenFile()}`,
        )
      : fail('daemon', `GET /v1/backends failed: ${(err as Error).message}`, 'look at the daemon log');
    return { checks: [running, check], backends: null };
  }
}
