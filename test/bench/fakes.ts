// Where the benchmark's fakes run: in a child process by default (their timers then measure GPU time
// without waiting on the daemon's event loop), or in this process with --in-process (the e2e tests' way).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import type { FakeComfyOptions, FakeStats } from '../fake-comfyui/src/types.js';

export interface FakePool {
  urls: string[];
  stats(): Promise<FakeStats[]>;
  close(): Promise<void>;
}

let mode: 'child' | 'in-process' = 'child';
export const setFakeMode = (m: typeof mode) => (mode = m);
export const fakeMode = () => mode;

const HOST = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-host.ts');

async function inProcess(n: number, opts: FakeComfyOptions): Promise<FakePool> {
  const fakes = await Promise.all(
    Array.from({ length: n }, () => startFakeComfy({ ...opts, port: 0, host: '127.0.0.1' })),
  );
  return {
    urls: fakes.map((f) => f.url),
    stats: async () => fakes.map((f) => f.control.stats()),
    close: async () => void (await Promise.allSettled(fakes.map((f) => f.close()))),
  };
}

/** The fake's own HTTP control route, POST /__fake/control, made for fakes running as processes. */
async function remoteStats(url: string): Promise<FakeStats> {
  const res = await request(`${url}/__fake/control`, { method: 'POST', body: JSON.stringify({ action: 'stats' }) });
  const body = (await res.body.json()) as { ok: boolean; result: FakeStats; error?: string };
  if (!body.ok) throw new Error(`fake stats failed: ${body.error}`);
  return body.result;
}

async function inChild(n: number, opts: FakeComfyOptions): Promise<FakePool> {
  // execArgv carries tsx's loader flags, so the child runs the TypeScript host directly.
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, HOST, JSON.stringify({ n, opts })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([once(lines, 'line'), exited.then(() => [null])]);
  lines.close();
  if (!first[0]) throw new Error('fake host exited before listening');
  const { urls } = JSON.parse(String(first[0])) as { urls: string[] };
  return {
    urls,
    stats: () => Promise.all(urls.map(remoteStats)),
    async close() {
      child.stdin!.end();
      // Last resort only: a killed host cannot remove its fakes' temp dirs, so say so when it happens.
      const killer = setTimeout(() => {
        console.error('warning: fake host did not exit within 15 s; killing it (its temp dirs may remain)');
        child.kill('SIGKILL');
      }, 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Runs `fn` with n fresh fakes and closes them whatever happens. */
export async function withFakes<T>(n: number, opts: FakeComfyOptions, fn: (pool: FakePool) => Promise<T>): Promise<T> {
  const pool = mode === 'child' ? await inChild(n, opts) : await inProcess(n, opts);
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}
