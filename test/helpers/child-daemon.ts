import fs from 'node:fs';
import path from 'node:path';
import type { ConfigInput } from '@comfygate/daemon';
import { makeHome, testConfig } from './daemon.js';
import { spawnTs } from './process.js';

export interface ChildDaemon extends AsyncDisposable {
  url: string;
  port: number;
  token: string;
  home: string;
  pid: number;
  /** null while it runs; its exit code (or signal) once it ended, with its output. */
  exited(): { code: number | null; output: string } | null;
  output(): string;
  /** The daemon process's resident set size, from /proc (Linux). */
  rssBytes(): number;
  close(): Promise<void>;
}

/**
 * The real `comfygate start` in a child process on 127.0.0.1:0 and a temp home: a crash (an unhandled 'error')
 * shows as an exit here instead of taking the test runner down, and its memory is measured apart from the tests'.
 */
export async function startChildDaemon(opts: {
  backends: ConfigInput['backends'];
  security?: ConfigInput['security'];
  /** An existing home, kept on close (default: a fresh temp home, removed). */
  home?: string;
  logLevel?: ConfigInput['logLevel'];
}): Promise<ChildDaemon> {
  const home = opts.home ?? makeHome();
  const config = testConfig(home, opts.backends);
  if (opts.security) Object.assign(config.security, opts.security);
  if (opts.logLevel) config.logLevel = opts.logLevel;
  const configFile = path.join(fs.mkdtempSync(path.join(home, '..', 'comfygate-config-')), 'config.json');
  fs.writeFileSync(configFile, JSON.stringify(config));
  const proc = await spawnTs('daemon/src/cli/main.ts', ['start', '--config', configFile], {
    readyLine: /comfygate ready on http:\/\/\S+:\d+/,
  });
  const url = /comfygate ready on (http:\/\/\S+)/.exec(proc.output())![1]!;
  let ended: { code: number | null; output: string } | null = null;
  void proc.exited.then(
    (code) => (ended = { code: code ?? (proc.child.signalCode as unknown as number), output: proc.output() }),
  );
  const close = async () => {
    await proc.kill('SIGTERM');
    fs.rmSync(path.dirname(configFile), { recursive: true, force: true });
    if (!opts.home) fs.rmSync(home, { recursive: true, force: true });
  };
  return {
    url,
    port: Number(new URL(url).port),
    token: fs.readFileSync(path.join(home, 'token'), 'utf8').trim(),
    home,
    pid: proc.child.pid!,
    exited: () => ended,
    output: () => proc.output(),
    rssBytes: () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${proc.child.pid}/status`, 'utf8'))![1]) * 1024,
    close,
    [Symbol.asyncDispose]: close,
  };
}
