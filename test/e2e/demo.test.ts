// `pnpm demo` as a newcomer meets it: the block it prints, and its `try:` line pasted as is (with --home too).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnTs } from '../helpers/process.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-demo-'));
const stops: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const stop of stops) await stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const env = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMFYGATE_') && k !== 'INIT_CWD'));

describe('pnpm demo', { timeout: 120_000 }, () => {
  it('prints where everything is and a next command that works with --home', async () => {
    const home = path.join(tmp, 'my data');
    const demo = await spawnTs(
      path.join(repoRoot, 'test/demo.ts'),
      ['--port', '0', '--comfy-port', '0', '--home', home, '--step-ms', '1'],
      {
        readyLine: /try: .*\n/,
        env: env(),
      },
    );
    stops.push(() => demo.kill());
    const out = demo.output();
    const url = /comfygate ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(url, out).toBeDefined();
    expect(out).toContain(`data:     ${home}\n`);
    expect(out).toContain(`token:    ${path.join(home, 'token')}\n`);
    expect(out).toMatch(/ComfyUI: {2}a fake one on http:\/\/127\.0\.0\.1:\d+/);
    const tryLine = /try: {6}(.*)\n/.exec(out)![1]!;
    expect(tryLine).toContain(`COMFYGATE_HOME='${home}'`);
    expect(tryLine).toContain(`COMFYGATE_URL=${url}`);

    // Pasted into a shell elsewhere; `pnpm comfygate` is the repo's bin, called directly to keep pnpm out of the test.
    const cwd = fs.mkdtempSync(path.join(tmp, 'shell-'));
    const line = tryLine.replace(
      'pnpm comfygate',
      `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(repoRoot, 'daemon/bin/comfygate.js'))}`,
    );
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile('sh', ['-c', line], { cwd, env: env(), timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      ),
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    const files = fs.readdirSync(path.join(cwd, 'comfygate-out'));
    expect(files).toHaveLength(1);
    // Demo images are no flat colour: a gradient with the prompt written on it.
    const stats = await sharp(path.join(cwd, 'comfygate-out', files[0]!)).stats();
    expect(stats.isOpaque).toBe(true);
    expect(Math.max(...stats.channels.map((c) => c.stdev))).toBeGreaterThan(5);
  });
});
