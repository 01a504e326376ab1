import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
/**
 * tsx's loader, preloaded with --import. Not the tsx CLI: that runs the entry in a grandchild and only relays
 * signals, so a SIGKILL killed the wrapper and left the real process running (two daemons on one database).
 */
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Runs a TypeScript entry point in a child node process through tsx; resolves once `readyLine` is printed. */
export async function spawnTs(
  entry: string,
  args: string[],
  opts: { readyLine: RegExp; env?: NodeJS.ProcessEnv; timeoutMs?: number },
) {
  const child: ChildProcess = spawn(process.execPath, ['--import', tsxLoader, entry, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} not ready in time:\n${out}`)), opts.timeoutMs ?? 30_000);
    const check = () => {
      if (opts.readyLine.test(out)) (clearTimeout(timer), resolve());
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => (clearTimeout(timer), reject(new Error(`${entry} exited with ${code}:\n${out}`))));
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
