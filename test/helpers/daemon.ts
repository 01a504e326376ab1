import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config, type ConfigInput, createDaemon, type Daemon, type DaemonOptions, INTERNAL } from '@comfygate/daemon';
import type { Job, JobState } from '@comfygate/shared';
import { waitFor } from './wait.js';

/** Engine timings shrunk so fault paths resolve in a test's lifetime. */
export const FAST_ENGINE = {
  retryBaseMs: 20,
  retryMaxMs: 200,
  pollMs: 100,
  probeMs: 50,
  probeMaxMs: 200,
  failoverAfterMs: 400,
  breakerThreshold: 1,
  progressThrottleMs: 20,
  historyConfirmMs: 5_000,
} satisfies ConfigInput['engine'];

export interface TestDaemon extends AsyncDisposable {
  daemon: Daemon;
  home: string;
  waitForState(id: string, states: JobState | JobState[], timeoutMs?: number): Promise<Job>;
  close(): Promise<void>;
}

export function makeHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-test-'));
}

export function testConfig(
  home: string,
  backends: ConfigInput['backends'],
  engine: ConfigInput['engine'] = {},
): Config {
  return Config.parse({ home, port: 0, backends, engine: { ...FAST_ENGINE, ...engine }, logLevel: 'silent' });
}

/** A real daemon (engine + store) in this process, on a temp home removed on close. */
export async function startTestDaemon(opts: {
  backends: ConfigInput['backends'];
  engine?: ConfigInput['engine'];
  home?: string;
  runEngine?: boolean;
  postprocess?: DaemonOptions['postprocess'];
}): Promise<TestDaemon> {
  const home = opts.home ?? makeHome();
  const daemon = await createDaemon(testConfig(home, opts.backends, opts.engine), {
    runEngine: opts.runEngine,
    postprocess: opts.postprocess,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await daemon.close();
    if (!opts.home) fs.rmSync(home, { recursive: true, force: true });
  };
  return {
    daemon,
    home,
    async waitForState(id, states, timeoutMs = 20_000) {
      const want = Array.isArray(states) ? states : [states];
      return waitFor(
        async () => {
          const j = await daemon.get(id, INTERNAL);
          return want.includes(j.state) ? j : null;
        },
        { timeoutMs, what: `job ${id} to reach ${want.join('|')}` },
      );
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
