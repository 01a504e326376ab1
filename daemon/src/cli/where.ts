import path from 'node:path';
import { DEFAULT_HOME } from '../config/home.js';
import { DEFAULT_URL } from './context.js';

export interface Running {
  /** The daemon's API (and dashboard) URL. */
  url: string;
  home: string;
  backends: { name: string; url: string }[];
  /** `pnpm demo`: the fake ComfyUI standing in for a GPU. */
  fakeComfy?: string;
  /** A one-time dashboard sign-in link (`/#login=<code>`). */
  loginLink?: string;
}

/** Single-quoted for sh when it holds anything a shell would read. */
const shq = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/**
 * A command to paste next that reaches this daemon: the CLI finds the daemon and its token through
 * COMFYGATE_URL and COMFYGATE_HOME, so those are spelled out whenever they are not the defaults.
 */
export function tryCommand(r: Pick<Running, 'url' | 'home'>): string {
  const env: string[] = [];
  if (path.resolve(r.home) !== DEFAULT_HOME) env.push(`COMFYGATE_HOME=${shq(path.resolve(r.home))}`);
  if (r.url !== DEFAULT_URL) env.push(`COMFYGATE_URL=${r.url}`);
  return [...env, 'pnpm comfygate run txt2img prompt="a lighthouse at dusk"'].join(' ');
}

/** The "what is running where" block `comfygate start` and `pnpm demo` print once the daemon listens. */
export function whereBlock(r: Running): string {
  const home = path.resolve(r.home);
  const lines = [
    `comfygate ready on ${r.url}`,
    `  API:      ${r.url}/v1 (OpenAPI at ${r.url}/v1/openapi.json)`,
    `  data:     ${home}`,
    `  token:    ${path.join(home, 'token')}`,
    `  backends: ${r.backends.map((b) => `${b.name}=${b.url}`).join(', ')}`,
  ];
  if (r.loginLink) {
    lines.push(
      `  dashboard: ${r.loginLink}`,
      `            (one-time sign-in link, valid 5 minutes; \`comfygate dashboard\` prints a new one)`,
    );
  }
  if (r.fakeComfy) lines.push(`  ComfyUI:  a fake one on ${r.fakeComfy} (demo images: your prompt on a gradient)`);
  lines.push(`  try:      ${tryCommand(r)}`, `  stop:     Ctrl-C`);
  return `${lines.join('\n')}\n`;
}
