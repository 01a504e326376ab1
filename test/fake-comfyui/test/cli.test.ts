// Process mode: src/cli.ts run as a process, the listening line, the control route, clean SIGTERM/SIGINT exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson, until } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.join(here, '..', 'src', 'cli.ts');
// `node --import tsx` rather than the tsx CLI: the CLI relays signals through a 30 ms handshake and
// SIGKILLs its child when a loaded machine misses it, which would test tsx instead of our shutdown.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function start(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', tsxLoader, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no listening line; stdout=${out} stderr=${err}`)), 30_000);
    child.stderr?.on('data', (d) => (err += String(d)));
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /fake ComfyUI listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] as string });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited early (${code}): ${err}`));
    });
  });
}

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const reachable = (url: string): Promise<boolean> =>
  fetch(`${url}/queue`).then(
    (r) => r.status === 200,
    () => false,
  );

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

describe('cli', () => {
  it('starts, serves, obeys POST /__fake/control and exits cleanly on SIGTERM', async () => {
    const { child, url } = await start(['--port', '0', '--step-ms', '2', '--models', 'a.safetensors,b.safetensors']);
    const stats = (await (await fetch(`${url}/system_stats`)).json()) as { devices: Array<{ type: string }> };
    expect(stats.devices[0]?.type).toBe('cpu');
    expect(await (await fetch(`${url}/models/checkpoints`)).json()).toEqual(['a.safetensors', 'b.safetensors']);

    const ctl = await postJson(url, '/__fake/control', { action: 'failRoute', args: ['GET', '/queue', 503, 1] });
    expect(ctl.json).toEqual({ ok: true, result: null });
    expect((await fetch(`${url}/api/queue`)).status).toBe(503);
    expect((await fetch(`${url}/queue`)).status).toBe(200);
    const s = await postJson(url, '/__fake/control', { action: 'stats' });
    expect(s.json.result).toMatchObject({ received: [], executed: [], maxQueueDepth: 0 });
    expect((await postJson(url, '/__fake/control', { action: 'bogus' })).status).toBe(400);

    // down over HTTP with an auto-up delay (nothing else could reach a downed process)
    expect((await postJson(url, '/__fake/control', { action: 'down', args: [1000] })).json).toEqual({ ok: true });
    await until(async () => !(await reachable(url)), 'fake down');
    await until(() => reachable(url), 'fake back up', 20_000);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('keeps the control route reachable on --admin-port while the fake is down', async () => {
    const adminPort = await freePort();
    const { child, url } = await start(['--port', '0', '--admin-port', String(adminPort)]);
    const admin = `http://127.0.0.1:${adminPort}`;
    expect((await postJson(admin, '/__fake/control', { action: 'down' })).status).toBe(200);
    await until(async () => !(await reachable(url)), 'fake down');
    expect((await postJson(admin, '/__fake/control', { action: 'up' })).json).toEqual({ ok: true, result: null });
    expect((await fetch(`${url}/queue`)).status).toBe(200);
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
  });
});
