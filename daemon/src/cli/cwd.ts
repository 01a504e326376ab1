import path from 'node:path';

/** Root scripts that run the CLI or the daemon: `pnpm comfygate`, `pnpm start`, `pnpm demo`. */
const OUR_SCRIPTS = new Set(['comfygate', 'start', 'demo']);

/**
 * The folder the person typed the command in. pnpm runs a script in its package's folder and keeps the original
 * one in INIT_CWD; relative paths a person gives (--home, --config, --out) mean the latter.
 */
export function invocationDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.INIT_CWD && env.npm_lifecycle_event && OUR_SCRIPTS.has(env.npm_lifecycle_event)
    ? env.INIT_CWD
    : process.cwd();
}

/** A file or folder the person named (--graph, --postprocess, image=@file, a watched folder): from their folder. */
export const fromInvocation = (p: string, env: NodeJS.ProcessEnv = process.env): string =>
  path.resolve(invocationDir(env), p);
