import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './process.js';

/**
 * code-server (VS Code in the browser) for the extension's end-to-end tests. `test/vscode/install-code-server.sh`
 * installs it outside the workspace; COMFYGATE_CODE_SERVER names another binary.
 */
export const CODE_SERVER_VERSION = '4.100.3';
export const codeServerBin = (): string =>
  process.env.COMFYGATE_CODE_SERVER ??
  path.join(os.homedir(), '.cache/comfygate', `code-server-${CODE_SERVER_VERSION}`, 'node_modules/.bin/code-server');

export const vsixPath = (): string => {
  const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'vscode-extension/package.json'), 'utf8')) as {
    version: string;
  };
  return path.join(repoRoot, 'vscode-extension/dist', `comfygate-${version}.vsix`);
};

const run = promisify(execFile);

/** Builds the .vsix exactly as a person would (`pnpm --filter comfygate-vscode package`). */
export async function packageExtension(): Promise<string> {
  await run('pnpm', ['--filter', 'comfygate-vscode', 'package'], { cwd: repoRoot, timeout: 120_000 });
  return vsixPath();
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface CodeServer extends AsyncDisposable {
  url: string;
  /** Where VS Code keeps user data (settings, logs), removed on close. */
  userDataDir: string;
  output(): string;
  close(): Promise<void>;
}

/**
 * Installs the .vsix into a fresh extensions folder and starts code-server on 127.0.0.1 with no auth, telemetry or
 * update checks, `settings` as the user's settings, and `env` added to its environment (the extension host inherits it).
 */
export async function startCodeServer(o: {
  vsix: string;
  settings: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}): Promise<CodeServer> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-code-server-'));
  const userDataDir = path.join(base, 'data');
  const extensionsDir = path.join(base, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User/settings.json'), JSON.stringify(o.settings, null, 2));
  const bin = codeServerBin();
  const env = { ...process.env, ...o.env };
  fs.writeFileSync(path.join(base, 'config.yaml'), 'auth: none\n');
  const dirs = [
    '--config',
    path.join(base, 'config.yaml'),
    '--extensions-dir',
    extensionsDir,
    '--user-data-dir',
    userDataDir,
  ];
  await run(bin, [...dirs, '--install-extension', o.vsix], { env, timeout: 120_000 });
  const port = await freePort();
  const child: ChildProcess = spawn(
    bin,
    [
      ...dirs,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not start:\n${out}`)), 60_000);
    const check = () => /HTTP server listening on/.test(out) && (clearTimeout(timer), resolve());
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`code-server exited with ${code}:\n${out}`))));
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    // Its own process group: code-server forks the extension host and file watchers, all ended together.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    fs.rmSync(base, { recursive: true, force: true });
  };
  return { url: `http://127.0.0.1:${port}`, userDataDir, output: () => out, close, [Symbol.asyncDispose]: close };
}
