import fs from 'node:fs';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { GatewayClient, isGatewayClientError } from '@comfygate/shared';
import { DEFAULT_HOME } from '../config/home.js';
import { nodeFetch } from './node-fetch.js';

export const DEFAULT_URL = 'http://127.0.0.1:8288';

/** An error meant for a person: main.ts prints its message (never a stack) and exits with its code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface GlobalFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

/** What every command gets: where the daemon is, how to authenticate, how to print. */
export interface Ctx {
  url: string;
  token: string | undefined;
  /** Where the token came from, for error hints ("--token", "COMFYGATE_TOKEN" or the file path). */
  tokenSource: string | null;
  home: string;
  json: boolean;
  tty: boolean;
  client: GatewayClient;
  print(text: string): void;
  printJson(value: unknown): void;
}

export function registerGlobalOptions(program: Command): void {
  program
    .option('--url <url>', `daemon URL (default $COMFYGATE_URL or ${DEFAULT_URL})`)
    .option(
      '--token <token>',
      'API token (default $COMFYGATE_TOKEN, else the token file in $COMFYGATE_HOME or ~/.comfygate)',
    )
    .option('--json', 'machine-readable output');
}

export const homeDir = (env = process.env): string => env.COMFYGATE_HOME || DEFAULT_HOME;
export const tokenFile = (env = process.env): string => path.join(homeDir(env), 'token');

/** Flag, then env, then the daemon's admin token file; a missing file is not an error until the daemon says so. */
export function resolveToken(
  flag: string | undefined,
  env = process.env,
): { token: string | undefined; source: string | null } {
  if (flag) return { token: flag, source: '--token' };
  if (env.COMFYGATE_TOKEN) return { token: env.COMFYGATE_TOKEN, source: 'COMFYGATE_TOKEN' };
  const file = tokenFile(env);
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    return token ? { token, source: file } : { token: undefined, source: null };
  } catch {
    return { token: undefined, source: null };
  }
}

export function contextFrom(cmd: Command): Ctx {
  const flags = cmd.optsWithGlobals<GlobalFlags>();
  const url = (flags.url || process.env.COMFYGATE_URL || DEFAULT_URL).replace(/\/+$/, '');
  if (!URL.canParse(url)) throw new CliError(`'${url}' is not a URL; pass --url like ${DEFAULT_URL}`);
  const { token, source } = resolveToken(flags.token);
  return {
    url,
    token,
    tokenSource: source,
    home: homeDir(),
    json: flags.json === true,
    tty: process.stdout.isTTY === true,
    client: new GatewayClient({ baseUrl: url, token, fetch: nodeFetch }),
    print: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    printJson: (value) => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

export const notRunningMessage = (url: string): string =>
  `comfygate is not running at ${url}; start it with \`comfygate start\` or \`pnpm start\``;

/** Rewrites the errors people hit first (daemon down, token missing or too weak) into what to do about them. */
export function explain(err: unknown, ctx: Pick<Ctx, 'url' | 'tokenSource'>): unknown {
  if (!isGatewayClientError(err)) return err;
  if (err.code === 'unavailable' && err.status === 0) return new CliError(notRunningMessage(ctx.url));
  if (err.code === 'unauthorized' || err.status === 401) {
    const where = ctx.tokenSource ? `the token from ${ctx.tokenSource} was refused` : 'no token found';
    return new CliError(
      `${where}; pass --token, set COMFYGATE_TOKEN, or run on the daemon's machine (token file ${tokenFile()})`,
    );
  }
  // 403 also answers a Host/Origin refusal; only a scope refusal is about which token to use.
  if (err.status === 403 && err.message.includes('scope'))
    return new CliError(`${err.message} (the admin token is in ${tokenFile()} on the daemon's machine)`);
  return err;
}

/**
 * Wraps a commander action: builds the context from the command (always the last argument commander
 * passes) and turns client errors into messages for people.
 */
export function action<A extends unknown[]>(fn: (ctx: Ctx, ...args: A) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const ctx = contextFrom(args[args.length - 1] as Command);
    try {
      await fn(ctx, ...(args.slice(0, -1) as A));
    } catch (err) {
      throw explain(err, ctx);
    }
  };
}

/** commander parser for integer options, so `--steps abc` fails before anything is sent. */
export function intOption(min = Number.MIN_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('not an integer.');
    if (n < min) throw new InvalidArgumentError(`must be at least ${min}.`);
    return n;
  };
}

/** `name=value` split at the first `=` (values may hold more); null when there is no name before it. */
export function splitAssignment(text: string): [string, string] | null {
  const eq = text.indexOf('=');
  return eq < 1 ? null : [text.slice(0, eq), text.slice(eq + 1)];
}
