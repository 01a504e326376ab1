// Review of the built daemon: `comfygate start` from a bundle serves the dashboard built with that bundle, not
// another one that happens to sit in `<dist>/dashboard` (where `build:dashboard` and the test setup put theirs).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { makeHome, testConfig } from '../helpers/daemon.js';
import { repoRoot, spawnTs } from '../helpers/process.js';

const home = makeHome();
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

it('the bundled daemon serves the dashboard of its own build', { timeout: 120_000 }, async () => {
  const dist = path.join(home, 'x', 'dist');
  // What an older `build:dashboard` left where the bundle's `../../dist/dashboard` points.
  fs.mkdirSync(path.join(dist, 'dashboard'), { recursive: true });
  fs.writeFileSync(path.join(dist, 'dashboard', 'index.html'), '<!doctype html><title>stale dashboard</title>');
  const configFile = path.join(home, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify(testConfig(path.join(home, 'h'), [])));
  fs.mkdirSync(path.join(home, 'h'), { mode: 0o700 });
  const proc = await spawnTs('daemon/bin/comfygate.js', ['start', '--config', configFile], {
    readyLine: /comfygate ready on http:\/\/\S+:\d+/,
    env: { COMFYGATE_DIST: dist, COMFYGATE_HOME: path.join(home, 'h') },
    timeoutMs: 90_000,
  });
  try {
    const url = /comfygate ready on (http:\/\/\S+)/.exec(proc.output())![1]!;
    const manifest = JSON.parse(fs.readFileSync(path.join(dist, 'manifest.json'), 'utf8')) as { id: string };
    const own = fs.readFileSync(path.join(dist, manifest.id, 'dashboard', 'index.html'), 'utf8');
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).not.toContain('stale dashboard');
    expect(body).toBe(own);
  } finally {
    await proc.kill('SIGTERM');
  }
});

// `pnpm comfygate -- status` (the npm habit) hands the bin a leading `--`, which commander took for a command.
it('a leading -- before the command is dropped, as after start', { timeout: 120_000 }, async () => {
  const dist = path.join(home, 'x', 'dist'); // built by the test above, or now
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMFYGATE_')));
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [path.join(repoRoot, 'daemon/bin/comfygate.js'), ...args],
        { cwd: repoRoot, env: { ...env, COMFYGATE_DIST: dist, COMFYGATE_HOME: path.join(home, 'h') }, timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      ),
    );
  const plain = await run(['--version']);
  const dashed = await run(['--', '--version']);
  expect(dashed).toEqual(plain);
  expect(dashed.code).toBe(0);
  const help = await run(['--', 'templates', '--help']);
  expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('Usage: comfygate templates')]);
});
