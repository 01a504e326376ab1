// The CLI's progress display through an image-only job (no sampler steps anywhere): on a terminal (a pty from
// util-linux `script`) the bar moves node by node; in a pipe, the lines do.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { repoRoot } from '../helpers/process.js';
import { imageOnly } from '../helpers/graphs.js';

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const cliMain = path.join(repoRoot, 'daemon/src/cli/main.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-cli-progress-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hasScript = fs.existsSync('/usr/bin/script');
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

function run(file: string, args: string[], home: string): Promise<{ code: number | null; stdout: string }> {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMFYGATE_'))),
    COMFYGATE_HOME: home,
  };
  return new Promise((resolve) => {
    execFile(file, args, { cwd: repoRoot, env, timeout: 60_000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout });
    });
  });
}

function submitArgs(g: TestGateway, graphFile: string, out: string): string[] {
  return [tsxCli, cliMain, '--url', g.url, '--token', g.token, 'submit', '--graph', graphFile, '--out', out];
}

/** Every "NN% Class" the display showed, in order, repeats dropped. */
function shown(text: string): { pct: number; cls: string }[] {
  // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is parsed here
  const plain = text.replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, '\n'); // each redraw of the bar starts with a cursor move
  const all = [...plain.matchAll(/(\d{1,3})% ?([A-Za-z]*)/g)].map((m) => ({ pct: Number(m[1]), cls: m[2]! }));
  return all.filter((x, i) => i === 0 || x.pct !== all[i - 1]!.pct || x.cls !== all[i - 1]!.cls);
}

describe('CLI progress through an image-only job', { timeout: 120_000 }, () => {
  it.skipIf(!hasScript)('the bar on a terminal moves node by node to 100%', async () => {
    await using fake = await startFakeComfy({ nodeMs: 300, cacheOutputs: false });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const graphFile = path.join(tmp, 'bar.json');
    fs.writeFileSync(graphFile, JSON.stringify(imageOnly(11)));
    const cmd = [process.execPath, ...submitArgs(g, graphFile, tmp)].map(quote).join(' ');
    const r = await run('/usr/bin/script', ['-qec', cmd, '/dev/null'], g.home);
    expect(r.code).toBe(0);
    const steps = shown(r.stdout);
    const middle = steps.filter((s) => s.pct > 0 && s.pct < 100);
    expect(new Set(middle.map((s) => s.pct)).size).toBeGreaterThanOrEqual(3);
    expect(middle.some((s) => s.cls === 'ImageBlur')).toBe(true);
    expect(steps.map((s) => s.pct)).toEqual([...steps.map((s) => s.pct)].sort((a, b) => a - b));
    expect(steps.at(-1)!.pct).toBe(100);
  });

  it('in a pipe, one line per change (at most a second apart) shows the same movement', async () => {
    await using fake = await startFakeComfy({ nodeMs: 400, cacheOutputs: false });
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    const graphFile = path.join(tmp, 'lines.json');
    fs.writeFileSync(graphFile, JSON.stringify(imageOnly(12)));
    const r = await run(process.execPath, submitArgs(g, graphFile, tmp), g.home);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => /^\s+\d+% /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const pcts = lines.map((l) => Number(/(\d+)%/.exec(l)![1]));
    expect(pcts).toEqual([...pcts].sort((a, b) => a - b));
    expect(pcts.some((p) => p > 0 && p < 100)).toBe(true);
  });
});
