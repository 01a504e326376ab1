import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeComfy, startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { repoRoot } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { generateAssets } from '@comfygate/shared/manifest';

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const cliMain = path.join(repoRoot, 'daemon/src/cli/main.ts');

/** `comfygate assets` in a child process, in the manifest's folder, with only the daemon's URL and token. */
function cli(
  cwd: string,
  g: TestGateway,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMFYGATE_')));
  return new Promise((resolve) => {
    const argv = [tsxCli, cliMain, '--url', g.url, '--token', g.token, ...args];
    execFile(process.execPath, argv, { cwd, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

const entry = (name: string, prompt: string) => ({
  output: `img/${name}.png`,
  prompt,
  seed: 5,
  width: 64,
  height: 64,
  params: { steps: 1 },
});

describe('comfygate assets', () => {
  let fake: FakeComfy;
  let g: TestGateway;
  let dir: string;
  const jobCount = async () => (await g.client.listJobs({ limit: 500 })).jobs.length;
  const write = (assets: unknown[]) =>
    fs.writeFileSync(path.join(dir, 'comfygate.assets.json'), JSON.stringify({ assets }, null, 2));

  beforeAll(async () => {
    fake = await startFakeComfy();
    g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-assets-cli-'));
  });
  afterAll(async () => {
    await g?.close();
    await fake?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('generates what is missing, skips what the lock says is fresh, regenerates exactly the changed entry; --check gates CI', async () => {
    const small = { output: 'img/c-small.png', ops: [{ op: 'resize', width: 16 }] };
    const assets = [
      entry('a', 'a fox'),
      entry('b', 'an owl'),
      { ...entry('c', 'a hare'), output: 'img/c.webp', variants: { small } },
    ];
    write(assets);
    const before = await cli(dir, g, ['assets', '--check']);
    expect(before.code, before.stderr).toBe(1);
    expect(before.stdout).toContain('new      img/a.png');
    expect(before.stderr).toContain('3 of 3 assets are missing or stale');
    expect(await jobCount()).toBe(0);

    const first = await cli(dir, g, ['assets']);
    expect(first.code, first.stderr).toBe(0);
    expect(await jobCount()).toBe(3);
    expect((await sharp(path.join(dir, 'img/c.webp')).metadata()).format).toBe('webp');
    expect((await sharp(path.join(dir, 'img/c-small.png')).metadata()).width).toBe(16);
    expect((await sharp(path.join(dir, 'img/a.png')).metadata()).format).toBe('png');
    const lock = JSON.parse(fs.readFileSync(path.join(dir, 'comfygate.assets.lock.json'), 'utf8'));
    expect(Object.keys(lock.assets)).toEqual(['img/a.png', 'img/b.png', 'img/c.webp']);
    expect(lock.assets['img/a.png'].seed).toBe('5');
    expect(lock.assets['img/c.webp'].variants.small.output).toBe('img/c-small.png');

    expect((await cli(dir, g, ['assets', '--check'])).code).toBe(0);
    const again = await cli(dir, g, ['assets']);
    expect(again.stdout).toContain('all 3 assets are up to date');
    expect(await jobCount()).toBe(3);

    write([assets[0], { ...assets[1], prompt: 'a snowy owl' }, assets[2]]);
    const stale = await cli(dir, g, ['assets', '--check', '--json']);
    expect(stale.code).toBe(1);
    expect(JSON.parse(stale.stdout).assets.map((a: { state: string }) => a.state)).toEqual([
      'fresh',
      'changed',
      'fresh',
    ]);
    const changed = await cli(dir, g, ['assets']);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toMatch(/: 1 jobs queued\n/);
    expect(changed.stdout.trim().split('\n').slice(1)).toEqual([path.join('img', 'b.png')]);
    expect(await jobCount()).toBe(4);

    fs.rmSync(path.join(dir, 'img/a.png'));
    expect((await cli(dir, g, ['assets', '--check'])).stdout).toContain('missing  img/a.png');
  });

  it("aborting Generate Assets cancels its batch on the daemon and locks nothing (the extension's Cancel)", async () => {
    const abortDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-assets-abort-'));
    try {
      const manifest = path.join(abortDir, 'comfygate.assets.json');
      const slow = [entry('x', 'slow one'), entry('y', 'slow two')].map((e) => ({ ...e, params: { steps: 30 } }));
      fs.writeFileSync(manifest, JSON.stringify({ assets: slow }));
      fake.control.setStepMs(200);
      const ac = new AbortController();
      let batchId = '';
      const onBatch = (b: { id: string }) => ((batchId = b.id), ac.abort());
      const run = generateAssets(g.client, manifest, { source: 'test', signal: ac.signal, pollMs: 50, onBatch });
      await expect(run).rejects.toThrow(/canceled/);
      const batch = await g.client.getBatch(batchId);
      expect(batch.canceledAt).not.toBeNull();
      const jobs = await Promise.all(batch.jobIds.map((id) => g.client.getJob(id)));
      await waitFor(
        async () =>
          (await Promise.all(batch.jobIds.map((id) => g.client.getJob(id)))).every((j) => j.state === 'canceled'),
        {
          what: 'every job of the batch canceled',
        },
      );
      expect(jobs.length).toBe(2);
      expect(fs.existsSync(path.join(abortDir, 'comfygate.assets.lock.json'))).toBe(false);
    } finally {
      fake.control.setStepMs(1);
      fs.rmSync(abortDir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown template or parameter before submitting anything, in words', async () => {
    const jobs = await jobCount();
    write([
      { output: 'x.png', template: 'no-such-template' },
      { output: 'y.png', params: { stepz: 1 } },
    ]);
    const r = await cli(dir, g, ['assets']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no template 'no-such-template'");
    expect(r.stderr).toContain("has no parameter 'stepz'");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    write([{ output: '../outside.png' }]);
    const outside = await cli(dir, g, ['assets']);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('without ..');
    expect(await jobCount()).toBe(jobs);
  });
});
