import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Job } from '@comfygate/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type FakeComfy, startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { repoRoot } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

/** The bin users run: the bundled CLI, rebuilt first if a source changed (see build.test.ts). */
const cliBin = path.join(repoRoot, 'daemon/bin/comfygate.js');
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const tmpDirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-cli-'));
  tmpDirs.push(d);
  return d;
};

/** The child sees only what the test passes: no COMFYGATE_* from the developer's shell, a throwaway home. */
function cliEnv(home: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMFYGATE_')));
  return { ...env, COMFYGATE_HOME: home };
}

/** Runs the real CLI in a child process, bounded by a timeout. */
function cli(args: string[], opts: { home?: string; timeoutMs?: number; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliBin, ...args],
      { cwd: opts.cwd ?? repoRoot, env: cliEnv(opts.home ?? tmpDir()), timeout: opts.timeoutMs ?? 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const auth = (g: TestGateway) => ['--url', g.url, '--token', g.token];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const backendHealth = async (g: TestGateway, want: string) =>
  waitFor(async () => (await g.client.backends())[0]?.health === want, { timeoutMs: 15_000, what: `backend ${want}` });

afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('cli against a running daemon', { timeout: 120_000 }, () => {
  let fake: FakeComfy;
  let g: TestGateway;

  beforeAll(async () => {
    fake = await startFakeComfy();
    g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    await backendHealth(g, 'up');
  });
  afterAll(async () => {
    await g?.close();
    await fake?.close();
  });

  it('submit writes the output PNG into --out and exits 0', async () => {
    const out = tmpDir();
    const r = await cli(
      [...auth(g), 'submit', 'a red fox', '--steps', '4', '--width', '64', '--height', '64', '--out', out],
      { home: g.home },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = fs.readdirSync(out);
    expect(files).toHaveLength(1);
    const id = /job (\S+) queued/.exec(r.stdout)?.[1];
    expect(files[0]).toBe(`txt2img-${id!.slice(0, 8)}-1.png`);
    expect(r.stdout).toContain(path.join(out, files[0]!));
    expect(fs.readFileSync(path.join(out, files[0]!)).subarray(0, 8)).toEqual(PNG_MAGIC);
  });

  it('run: a template with typed name=value params, an uploaded @file, and a batch of increment-seeded variations', async () => {
    const out = tmpDir();
    const photo = path.join(out, 'in.png');
    fs.writeFileSync(
      photo,
      await sharp({ create: { width: 40, height: 30, channels: 3, background: '#804020' } })
        .png()
        .toBuffer(),
    );
    const up = await cli([
      ...auth(g),
      'run',
      'upscale',
      `image=@${photo}`,
      'width=100',
      'height=0',
      '--out',
      out,
      '--json',
    ]);
    expect([up.code, up.stderr]).toEqual([0, '']);
    const upFile = JSON.parse(up.stdout).files[0];
    expect(await sharp(upFile).metadata()).toMatchObject({ width: 100, height: 75 });

    const many = await cli([
      ...auth(g),
      'run',
      'txt2img',
      'steps=2',
      'width=64',
      'height=64',
      'seed=40',
      '-n',
      '2',
      '--seed',
      'increment',
      '--vary',
      'prompt=a fox, at dusk',
      '--vary',
      'prompt=an owl',
      '--out',
      out,
      '--json',
    ]);
    expect([many.code, many.stderr]).toEqual([0, '']);
    const result = JSON.parse(many.stdout);
    const used = (j: { job: Job }) => j.job.metadata.params as { prompt: string; seed: number };
    expect(result.jobs.map((j: { job: Job }) => [used(j).prompt, used(j).seed])).toEqual([
      ['a fox, at dusk', 40],
      ['a fox, at dusk', 41],
      ['an owl', 40],
      ['an owl', 41],
    ]);
    expect(
      result.jobs.flatMap((j: { files: string[] }) => j.files).filter((f: string) => fs.existsSync(f)),
    ).toHaveLength(4);
    // Named by template, job, variation and seed, so the files of a run sort together and say what made them.
    for (const j of result.jobs as { job: Job; files: string[] }[]) {
      const v = (j.job.metadata.variation as { index: number }).index;
      expect(j.files.map((f) => path.basename(f))).toEqual([
        `txt2img-${j.job.id.slice(0, 8)}-v${v}-s${used(j).seed}-1.png`,
      ]);
    }

    const bad = await cli([...auth(g), 'run', 'txt2img', 'steps=0']);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('steps: 0 is below the minimum 1')]);
    const noImage = await cli([...auth(g), 'run', 'img2img', 'prompt=a fox']);
    expect([noImage.code, noImage.stderr]).toEqual([
      1,
      'comfygate: image: required; give a file as image=@photo.png\n',
    ]);
    const typo = await cli([...auth(g), 'run', 'txt2img', 'stpes=3']);
    expect(typo.stderr).toContain("stpes: unknown parameter (did you mean 'steps'?)");
  });

  it('outputs go to ./comfygate-out by default; --variant and --postprocess add post-processed files beside them', async () => {
    const cwd = tmpDir();
    const plain = await cli([...auth(g), 'run', 'txt2img', 'prompt=a fox', 'steps=1', 'width=64', 'height=64'], {
      cwd,
    });
    expect([plain.code, plain.stderr]).toEqual([0, '']);
    const made = fs.readdirSync(path.join(cwd, 'comfygate-out'));
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(/^txt2img-[0-9a-f]{8}-1\.png$/);
    expect(fs.readdirSync(cwd)).toEqual(['comfygate-out']); // nothing loose in the current folder

    const spec = path.join(cwd, 'pp.json');
    fs.writeFileSync(spec, JSON.stringify({ variants: { small: { ops: [{ op: 'resize', width: 32 }] } } }));
    const out = path.join(cwd, 'pp');
    const pp = await cli([
      ...auth(g),
      'run',
      'txt2img',
      'steps=1',
      'width=64',
      'height=64',
      '--postprocess',
      spec,
      '--variant',
      'web={"ops":[{"op":"format","format":"webp"}]}',
      '--out',
      out,
      '--json',
    ]);
    expect([pp.code, pp.stderr]).toEqual([0, '']);
    const names = fs.readdirSync(out).sort();
    expect(names).toHaveLength(3);
    expect(names.find((n) => n.endsWith('.web.webp'))).toBeDefined();
    const small = names.find((n) => n.endsWith('.small.png'));
    expect(await sharp(path.join(out, small!)).metadata()).toMatchObject({ width: 32, height: 32 });

    fs.writeFileSync(spec, '{"variants": ');
    const broken = await cli([...auth(g), 'run', 'txt2img', '--postprocess', spec]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`--postprocess: ${spec} is not valid JSON`);
  });

  it('templates import (an API graph), list, show; gc --dry-run reports', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'my graph.json');
    fs.writeFileSync(file, JSON.stringify(txt2img()));
    const imported = await cli([...auth(g), 'templates', 'import', file]);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/imported 'my-graph' with parameters: .*prompt/);
    const list = await cli([...auth(g), 'templates']);
    expect(list.stdout).toMatch(/^txt2img \(built in\): prompt, negative, seed/m);
    expect(list.stdout).toMatch(/^my-graph: /m);
    // Every parameter `templates show` has, the built-in's own ones (upscale's scale) included.
    expect(list.stdout).toMatch(/^upscale \(built in\): image, model, width, height, .*\bscale$/m);
    const schema = JSON.parse((await cli([...auth(g), 'templates', 'show', 'txt2img'])).stdout);
    expect(schema.properties.steps.minimum).toBe(1);
    const gc = await cli([...auth(g), 'gc', '--dry-run']);
    expect([gc.code, gc.stdout.trim()]).toEqual([
      0,
      'would remove 0 job(s), 0 upload handle(s), 0 file(s) (0.0 MB), 0 retired webhook(s), 0 webhook delivery record(s)',
    ]);
  });

  it('status lists the backend as up', async () => {
    const r = await cli([...auth(g), 'status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`comfygate is running at ${g.url}`);
    expect(r.stdout).toMatch(new RegExp(`^a\\s+${fake.url.replace(/[.:/]/g, '\\$&')}\\S*\\s+up\\s`, 'm'));
    const json = JSON.parse((await cli([...auth(g), '--json', 'status'])).stdout);
    expect(json.backends[0]).toMatchObject({ name: 'a', health: 'up' });
  });

  it('jobs lists a job with its state', async () => {
    const job = await g.client.createJob({ graph: txt2img({ seed: 3 }) });
    await waitFor(async () => (await g.client.getJob(job.id)).state === 'succeeded', { timeoutMs: 20_000 });
    const r = await cli([...auth(g), 'jobs', '--limit', '50']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ID\s+STATE\s+BACKEND\s+ATTEMPTS\s+CREATED\s+ERROR$/m);
    expect(r.stdout).toMatch(new RegExp(`^${job.id}\\s+succeeded\\s+a\\s+1/`, 'm'));
  });

  it('batches lists batches with done/total and owner; a submit token lists only its own', async () => {
    const graphs = [5, 6].map((seed) => ({ graph: txt2img({ seed }) }));
    const b = await g.client.createBatch({ name: 'cli batch', jobs: graphs });
    await waitFor(async () => (await g.client.getBatch(b.id)).done === 2, { timeoutMs: 20_000 });
    const r = await cli([...auth(g), 'batches']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ID\s+NAME\s+DONE\s+COUNTS\s+OWNER\s+CREATED$/m);
    expect(r.stdout).toMatch(
      new RegExp(`^${b.id}\\s+cli batch\\s+2/2\\s+-\\s+local admin \\(token file\\)\\s+\\d+s ago$`, 'm'),
    );
    const json = await cli([...auth(g), '--json', 'batches', '--state', 'done']);
    expect(JSON.parse(json.stdout).batches.map((x: { id: string }) => x.id)).toContain(b.id);
    expect((await cli([...auth(g), 'batches', '--state', 'active'])).stdout).not.toContain(b.id);
    const other = await g.client.createToken({ name: 'batcher', scope: 'submit' });
    const own = await cli(['--url', g.url, '--token', other.token, 'batches']);
    expect(own.code).toBe(0);
    expect(own.stdout.trim()).toBe('no batches yet');
  });

  it('token create prints a token once, and that token works with status', async () => {
    const created = await cli([...auth(g), '--json', 'token', 'create', 'ci-reader', '--scope', 'read']);
    expect(created.code).toBe(0);
    const { token, scope } = JSON.parse(created.stdout) as { token: string; scope: string };
    expect(scope).toBe('read');
    const r = await cli(['--url', g.url, '--token', token, 'status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('comfygate is running');
    const list = await cli([...auth(g), 'token', 'list']);
    expect(list.stdout).toContain('ci-reader');
    expect(list.stdout).not.toContain(token);
  });

  it("token create --see-all makes a reader that lists every token's jobs; a plain reader lists only its own", async () => {
    const job = await g.client.createJob({ graph: txt2img({ seed: 41 }) });
    const created = await cli([
      ...auth(g),
      '--json',
      'token',
      'create',
      'team-dashboard',
      '--scope',
      'read',
      '--see-all',
    ]);
    expect(created.code).toBe(0);
    const dash = JSON.parse(created.stdout) as { token: string; scope: string; seeAll: boolean };
    expect([dash.scope, dash.seeAll]).toEqual(['read', true]);
    const made = await cli([...auth(g), '--json', 'token', 'create', 'plain-reader', '--scope', 'read']);
    const plain = JSON.parse(made.stdout) as { token: string; seeAll: boolean };
    expect(plain.seeAll).toBe(false);
    const listed = (token: string) => cli(['--url', g.url, '--token', token, 'jobs', '--limit', '500']);
    expect((await listed(dash.token)).stdout).toContain(job.id);
    expect((await listed(plain.token)).stdout).not.toContain(job.id);
    expect((await cli([...auth(g), 'token', 'list'])).stdout).toMatch(/team-dashboard\s+read, sees all/);
  });

  it('pair lists a pending request and confirms it by code', async () => {
    const started = await g.client.startPairing('Figma test');
    const listed = await cli([...auth(g), 'pair']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^CODE\s+NAME\s+ORIGIN\s+ADDRESS\s+USER AGENT\s+ASKED\s+EXPIRES$/m);
    // No Origin (not a browser), the loopback address, the client's user agent and how long ago it asked.
    expect(listed.stdout).toMatch(
      new RegExp(`^${started.code}\\s+Figma test\\s+-\\s+\\S*127\\.0\\.0\\.1\\s+\\S.*\\s+\\d+s ago\\s+in \\d+m`, 'm'),
    );
    const confirmed = await cli([...auth(g), 'pair', started.code]);
    expect(confirmed.code).toBe(0);
    expect(confirmed.stdout).toContain("paired 'Figma test'");
    const status = await g.client.pairingStatus(started.pairingId);
    expect(status.state).toBe('confirmed');
  });

  it('a UI-format workflow is refused with a hint to export in API format', async () => {
    const file = path.join(tmpDir(), 'ui.json');
    fs.writeFileSync(file, JSON.stringify({ nodes: [], links: [], version: 0.4 }));
    const r = await cli([...auth(g), 'submit', '--graph', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "this is a UI (editor) workflow, not an API-format graph: export it with 'Export (API)'",
    );
    expect(r.stderr).toContain('comfygate templates import file.json');
  });
});

describe('comfygate start', { timeout: 120_000 }, () => {
  /** Starts the daemon through the bin on a free port with a dead backend; resolves with its output once it logged that backend down. */
  async function startAndLog(extraEnv: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
    const home = tmpDir();
    const child = spawn(
      process.execPath,
      [cliBin, 'start', '--port', '0', '--backend', `http://127.0.0.1:${await freePort()}`],
      {
        cwd: repoRoot,
        env: { ...cliEnv(home), ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise((r) => child.on('exit', r));
    try {
      await waitFor(() => stderr.includes('backend local is down'), {
        timeoutMs: 30_000,
        what: `the down backend logged:\n${stdout}${stderr}`,
      });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    return { stdout, stderr };
  }

  it('prints where it runs on stdout and logs JSON lines on stderr when that is no terminal', async () => {
    const { stdout, stderr } = await startAndLog({});
    expect(stdout).toMatch(/^comfygate ready on http:\/\/127\.0\.0\.1:\d+\n {2}API: /);
    expect(stdout).toMatch(
      /\n {2}try: {6}COMFYGATE_HOME=\S+ COMFYGATE_URL=http:\/\/127\.0\.0\.1:\d+ pnpm comfygate run txt2img /,
    );
    const lines = stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
  });

  it('logs readable lines with COMFYGATE_LOG_FORMAT=pretty (what a terminal gets)', async () => {
    const { stderr } = await startAndLog({ COMFYGATE_LOG_FORMAT: 'pretty' });
    const line = stderr.split('\n').find((l) => l.includes('backend local is down'))!;
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: backend local is down /);
    expect(stderr).not.toMatch(/^\{/m);
  });
});

describe('cli when a backend or the daemon is down', { timeout: 120_000 }, () => {
  let fake: FakeComfy;
  let g: TestGateway;

  beforeAll(async () => {
    // Down before the daemon starts: its first probe fails, so jobs wait in the queue (an idle backend that
    // goes away later is only noticed when a job or probe touches it).
    fake = await startFakeComfy();
    await fake.control.down();
    g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    await backendHealth(g, 'down');
  });
  afterAll(async () => {
    await g?.close();
    await fake?.close();
  });

  it('cancel cancels a queued job and prints its state', async () => {
    const job = await g.client.createJob({ graph: txt2img() });
    expect(job.state).toBe('queued');
    const r = await cli([...auth(g), 'cancel', job.id]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${job.id} canceled`);
    expect((await g.client.getJob(job.id)).state).toBe('canceled');
    const unknown = await cli([...auth(g), 'cancel', 'no-such-job']);
    expect(unknown.code).toBe(1);
  });

  it('Ctrl-C while submit waits cancels the job and exits 130', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [cliBin, ...auth(g), 'submit', 'a slow owl', '--out', tmpDir()],
      {
        cwd: repoRoot,
        env: cliEnv(g.home),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // A failed wait must not leave the CLI running after the test.
    onTestFinished(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const id = await waitFor(() => /job (\S+) queued/.exec(out)?.[1], {
      timeoutMs: 20_000,
      what: 'submit to print its job id',
    });
    // Not silence: the CLI says why nothing runs.
    await waitFor(() => out.includes('waiting: no backend is up (comfygate doctor)'), {
      timeoutMs: 20_000,
      what: 'the waiting reason',
    });
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
    if (code === 'timeout') child.kill('SIGKILL');
    expect(code, out).toBe(130);
    expect((await g.client.getJob(id)).state).toBe('canceled');
    // The final state, once.
    expect(out.match(/interrupted/g), out).toHaveLength(1);
    expect(out).toContain(`comfygate: interrupted: job ${id} canceled\n`);
  });

  it('a batch says why it waits too, and Ctrl-C cancels what is left', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [cliBin, ...auth(g), 'run', 'txt2img', 'steps=1', '-n', '2', '--out', tmpDir()],
      {
        cwd: repoRoot,
        env: cliEnv(g.home),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // A failed wait must not leave the CLI running after the test.
    onTestFinished(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const id = await waitFor(() => /batch (\S+): 2 jobs queued/.exec(out)?.[1], {
      timeoutMs: 20_000,
      what: 'the batch id',
    });
    await waitFor(() => out.includes('  waiting: no backend is up (comfygate doctor)'), {
      timeoutMs: 20_000,
      what: 'the waiting reason',
    });
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
    if (code === 'timeout') child.kill('SIGKILL');
    expect(code, out).toBe(130);
    expect(out).toContain(`interrupted; batch ${id} canceled with 0 of 2 done`);
    expect((await g.client.getBatch(id)).counts.canceled).toBe(2);
  });

  it('doctor exits 1 and names the down backend and how to fix it', async () => {
    const r = await cli([...auth(g), 'doctor'], { home: g.home });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(fake.url);
    expect(r.stdout).toMatch(/\[FAIL\] ComfyUI 'a': not reachable/);
    expect(r.stdout).toContain('start ComfyUI (python main.py --port');
    expect(r.stdout).toMatch(/\[ok\] daemon: comfygate is running/);
  });

  it('status against a port with nothing listening exits 1 with a hint to start the daemon', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await cli(['--url', url, '--token', 'x', 'status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `comfygate is not running at ${url}; start it with \`comfygate start\` or \`pnpm start\``,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack
  });
});
