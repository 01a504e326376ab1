// Start-up times of the built CLI and daemon (daemon/bin/comfygate.js), against `node -e 0` measured alternately in
// the same loop, so a busy machine slows both sides alike. Targets: `status` within +300 ms of bare node, daemon
// spawn to /healthz within +700 ms, also on a restart after a kill -9 with jobs in flight (crash recovery).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayClient } from '@comfygate/shared';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { repoRoot } from '../helpers/process.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';
import { bounded, deadUrl } from './common.js';

const BIN = path.join(repoRoot, 'daemon/bin/comfygate.js');
const TARGET = { status: 300, healthz: 700 };
/** Jobs submitted before the kill: a few in flight on the backend, the rest queued, as after a busy crash. */
const QUEUED_AT_KILL = 300;

export interface StartupRow {
  what: string;
  runs: number;
  medianMs: number;
  nodeMedianMs: number;
  addedMs: number;
  targetAddedMs: number;
  met: boolean;
}

export interface StartupResult {
  rows: StartupRow[];
  /** Jobs the crash-restart case had in flight when the daemon was killed. */
  inflightAtKill: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Only COMFYGATE_* the benchmark sets: a developer's shell must not point the daemon elsewhere. */
function env(home: string): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMFYGATE_'))),
    COMFYGATE_HOME: home,
  };
}

function timedExec(args: string[], home: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    execFile(process.execPath, args, { cwd: repoRoot, env: env(home), timeout: 20_000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(performance.now() - t0);
    });
  });
}

interface Started {
  child: ChildProcess;
  url: string;
  ms: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `comfygate start` on port 0 and times spawn -> the first 200 from /healthz. */
async function startDaemon(home: string, backend: string): Promise<Started> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--backend', backend], {
    cwd: repoRoot,
    env: env(home),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const url = await waitFor(() => /ready on (http:\/\/\S+)/.exec(out)?.[1] ?? null, {
      timeoutMs: 20_000,
      intervalMs: 2,
      what: `daemon ready:\n${out}`,
    });
    await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok ?? false, {
      timeoutMs: 5_000,
      intervalMs: 2,
      what: '/healthz',
    });
    return { child, url, ms: performance.now() - t0, stop };
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
}

export async function startup(runs: number, log: (line: string) => void): Promise<StartupResult> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-bench-startup-'));
  const fake = await startFakeComfy({ stepMs: 2_000 });
  const cleanup: Array<() => Promise<void>> = [async () => fake.close()];
  try {
    const home = path.join(tmp, 'home');
    const dead = await deadUrl();
    // The first call rebuilds the bundle if sources changed: a user pays that once, the figures must not.
    await timedExec([BIN, '--help'], home);

    const nodeStatus: number[] = [];
    const status: number[] = [];
    const nodeStart: number[] = [];
    const fresh: number[] = [];
    const d = await startDaemon(home, fake.url);
    cleanup.push(() => d.stop());
    const token = fs.readFileSync(path.join(home, 'token'), 'utf8').trim();
    for (let i = 0; i < runs; i++) {
      nodeStatus.push(await timedExec(['-e', '0'], home));
      status.push(await timedExec([BIN, 'status', '--url', d.url, '--token', token], home));
    }
    await d.stop();

    for (let i = 0; i < runs; i++) {
      nodeStart.push(await timedExec(['-e', '0'], home));
      const s = await startDaemon(path.join(tmp, `fresh-${i}`), dead);
      fresh.push(s.ms);
      await s.stop();
    }

    // A crash with work in flight: jobs dispatched to a slow fake, then kill -9.
    const crashHome = path.join(tmp, 'crash');
    const c = await startDaemon(crashHome, fake.url);
    cleanup.push(() => c.stop('SIGKILL'));
    const client = new GatewayClient({
      baseUrl: c.url,
      token: fs.readFileSync(path.join(crashHome, 'token'), 'utf8').trim(),
    });
    for (let i = 0; i < QUEUED_AT_KILL; i++)
      await client.createJob({ graph: txt2img({ seed: 5000 + i, steps: 10, width: 64, height: 64 }) });
    const inflightAtKill = await waitFor(
      async () => {
        const { jobs } = await client.stats();
        const n = (jobs.dispatched ?? 0) + (jobs.running ?? 0);
        return n > 0 ? n : null;
      },
      { timeoutMs: 10_000, what: 'jobs dispatched' },
    );
    await c.stop('SIGKILL');
    const crash: number[] = [];
    const nodeCrash: number[] = [];
    for (let i = 0; i < runs; i++) {
      nodeCrash.push(await timedExec(['-e', '0'], home));
      const s = await startDaemon(crashHome, fake.url);
      crash.push(s.ms);
      await s.stop('SIGKILL'); // a kill again: the next restart recovers the same in-flight attempts
    }
    log(
      `  status ${status.map(Math.round).join(' ')} ms; fresh start ${fresh.map(Math.round).join(' ')}; ` +
        `after crash ${crash.map(Math.round).join(' ')}`,
    );

    const row = (what: string, xs: number[], base: number[], target: number): StartupRow => {
      const addedMs = median(xs) - median(base);
      return {
        what,
        runs: xs.length,
        medianMs: median(xs),
        nodeMedianMs: median(base),
        addedMs,
        targetAddedMs: target,
        met: addedMs <= target,
      };
    };
    return {
      rows: [
        row('comfygate status', status, nodeStatus, TARGET.status),
        row('daemon start -> /healthz (fresh home)', fresh, nodeStart, TARGET.healthz),
        row(
          `daemon restart after kill -9 -> /healthz (${QUEUED_AT_KILL} jobs, ${inflightAtKill} in flight)`,
          crash,
          nodeCrash,
          TARGET.healthz,
        ),
      ],
      inflightAtKill,
    };
  } finally {
    for (const f of cleanup.reverse()) await bounded(f(), 10_000, 'startup bench cleanup').catch(() => {});
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function startupLines(r: StartupResult): string[] {
  return r.rows.map(
    (x) =>
      `${x.what.padEnd(62)} ${x.medianMs.toFixed(0).padStart(5)} ms vs node -e 0 ${x.nodeMedianMs.toFixed(0).padStart(4)} ms: ` +
      `+${x.addedMs.toFixed(0)} ms (target +${x.targetAddedMs}) ${x.met ? 'met' : 'MISSED'}`,
  );
}
