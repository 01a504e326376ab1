// The built CLI: `daemon/bin/comfygate.js` bundles on first use, reuses a current bundle, and rebuilds when a
// source it was built from is newer (daemon/bin/fresh.js). Builds go to a temp COMFYGATE_DIST, not the repo's.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/process.js';
// @ts-expect-error plain JavaScript module without types
import { staleReason } from '../../daemon/bin/fresh.js';

const bin = path.join(repoRoot, 'daemon/bin/comfygate.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-build-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], dist: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMFYGATE_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: repoRoot, env: { ...env, COMFYGATE_DIST: dist, COMFYGATE_HOME: tmp }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

const manifestOf = (dist: string) => JSON.parse(fs.readFileSync(path.join(dist, 'manifest.json'), 'utf8'));

describe('the built CLI', { timeout: 120_000 }, () => {
  it('builds into an empty dist, reuses a current build, rebuilds a stale one', async () => {
    const dist = path.join(tmp, 'dist');
    const first = await run(['--help'], dist);
    expect([first.code, first.stderr]).toEqual([0, '']);
    expect(first.stdout).toContain('Usage: comfygate');
    const built = manifestOf(dist);
    expect(fs.existsSync(path.join(dist, built.entry))).toBe(true);
    // Every daemon and shared source it bundled is watched; no dependency file is (too many to stat).
    const inputs = built.inputs.map((f: string) => path.resolve(dist, f));
    expect(inputs).toContain(path.join(repoRoot, 'daemon/src/cli/main.ts'));
    expect(inputs).toContain(path.join(repoRoot, 'shared/src/client.ts'));
    expect(built.inputs.some((f: string) => f.includes('node_modules'))).toBe(false);
    // The daemon (SQLite, sharp) is a chunk of its own, loaded by `start` only.
    const entry = fs.readFileSync(path.join(dist, built.entry), 'utf8');
    expect(entry).not.toMatch(/from ['"](better-sqlite3|sharp)['"]|require\(['"](better-sqlite3|sharp)['"]\)/);
    expect(fs.readdirSync(path.join(dist, built.id)).some((f) => /^run-.*\.js$/.test(f))).toBe(true);

    const again = await run(['--help'], dist);
    expect(again.code).toBe(0);
    expect(manifestOf(dist).id).toBe(built.id);

    // As if every source were saved after the build began.
    fs.writeFileSync(path.join(dist, 'manifest.json'), JSON.stringify({ ...built, builtAt: 0 }));
    const rebuilt = await run(['--url', 'http://127.0.0.1:1', '--token', 'x', 'status'], dist);
    expect(rebuilt.code).toBe(1);
    expect(rebuilt.stderr).toContain('comfygate is not running at http://127.0.0.1:1');
    expect(manifestOf(dist).id).not.toBe(built.id);
    expect(staleReason(dist)).toBeNull();
  });

  it('staleReason names what makes a build unusable', () => {
    const dist = path.join(tmp, 'synthetic');
    fs.mkdirSync(path.join(dist, 'b-1'), { recursive: true });
    expect(staleReason(dist)).toBe('no build yet');
    const src = path.join(tmp, 'a.ts');
    fs.writeFileSync(src, 'export {}');
    const old = Date.now() - 60_000;
    fs.utimesSync(src, old / 1000, old / 1000);
    const manifest = { id: 'b-1', entry: 'b-1/x.js', builtAt: old + 1_000, inputs: [path.relative(dist, src)] };
    fs.writeFileSync(path.join(dist, 'manifest.json'), JSON.stringify(manifest));
    expect(staleReason(dist)).toBe('the build is incomplete');
    fs.writeFileSync(path.join(dist, 'b-1/x.js'), '');
    expect(staleReason(dist)).toBeNull();
    fs.utimesSync(src, new Date(), new Date());
    expect(staleReason(dist)).toBe(`${src} changed`);
    fs.rmSync(src);
    expect(staleReason(dist)).toBe(`${src} was removed`);
  });
});
