// Review of the built daemon: `comfygate start` from a bundle serves the dashboard built with that bundle, not
// another one that happens to sit in `<dist>/dashboard` (where `build:dashboard` and the test setup put theirs).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { makeHome, testConfig } from '../helpers/daemon.js';
import { spawnTs } from '../helpers/process.js';

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
