// README.md's HTTP example, pasted into bash as a reader would: a template job, followed to its end, its image
// downloaded. The block is read from the README itself, so the two cannot drift apart.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeComfy, startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { repoRoot } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
let fake: FakeComfy;
let g: TestGateway;
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-readme-'));

beforeAll(async () => {
  fake = await startFakeComfy();
  g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  await waitFor(async () => (await g.client.backends())[0]?.health === 'up', { timeoutMs: 15_000, what: 'backend up' });
});
afterAll(async () => {
  await g?.close();
  await fake?.close();
  fs.rmSync(cwd, { recursive: true, force: true });
});

/** The first ```sh block after `marker` in README.md. */
function readmeBlock(marker: string): string {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  expect(at, `README.md has no '${marker}'`).toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block, `no sh block after '${marker}'`).not.toBeNull();
  return block![1]!;
}

describe('README', { timeout: 60_000 }, () => {
  it('the curl example makes a job, follows it and downloads its image', async () => {
    const script = readmeBlock('A template job, followed to its end');
    expect(script).toContain('{"template":"txt2img","params":{"prompt":"a red fox"}}');
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMFYGATE_'))),
      COMFYGATE_URL: g.url,
      COMFYGATE_HOME: g.home,
    };
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, timeout: 45_000 }, (err, _out, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
      ),
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(fs.readFileSync(path.join(cwd, 'fox.png')).subarray(0, 8)).toEqual(PNG_MAGIC);
    const jobs = (await g.client.listJobs()).jobs;
    expect(jobs.map((j) => [j.state, (j.metadata.params as { prompt?: string }).prompt])).toEqual([
      ['succeeded', 'a red fox'],
    ]);
  });
});
