import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { INTERNAL, createDaemon } from '@comfygate/daemon';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { makeHome, testConfig } from '../helpers/daemon.js';
import { txt2img } from '../helpers/graphs.js';
import { spawnTs } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const JOBS = 50;

it('SIGKILL mid-batch over 2 backends: after restart every job succeeds exactly once, nothing runs twice', async () => {
  await using a = await startFakeComfy({ stepMs: 10 });
  await using b = await startFakeComfy({ stepMs: 10 });
  const home = makeHome();
  try {
    const config = testConfig(home, [
      { name: 'a', url: a.url },
      { name: 'b', url: b.url },
    ]);
    const configFile = path.join(home, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(config));

    // Jobs go in through the daemon's own API with the engine off; the child process runs them.
    const submitter = await createDaemon(config, { runEngine: false });
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++)
      ids.push(
        (await submitter.submit({ graph: txt2img({ seed: 1000 + i, text: `crash ${i}` }) }, { viewer: INTERNAL })).job
          .id,
      );

    const entry = 'daemon/src/cli/main.ts';
    const first = await spawnTs(entry, ['start', '--config', configFile], { readyLine: /comfygate ready/ });
    const done = () => a.control.stats().completed.length + b.control.stats().completed.length;
    await waitFor(() => done() >= 15, { timeoutMs: 30_000, what: '15 prompts completed' });
    await first.kill('SIGKILL');

    const second = await spawnTs(entry, ['start', '--config', configFile], { readyLine: /comfygate ready/ });
    try {
      const jobs = await waitFor(
        async () => {
          const all = await Promise.all(ids.map((id) => submitter.get(id, INTERNAL)));
          return all.every((j) => ['succeeded', 'failed', 'canceled'].includes(j.state)) ? all : null;
        },
        { timeoutMs: 60_000, what: 'all jobs terminal' },
      );
      expect(jobs.map((j) => j.state)).toEqual(ids.map(() => 'succeeded'));

      const executed = [...a.control.stats().executed, ...b.control.stats().executed];
      expect(new Set(executed).size).toBe(executed.length); // no prompt id executed twice
      expect(executed.length).toBe(JOBS); // and no job executed under two prompt ids

      const succeededEvents = (await submitter.store.events.after(0, 100_000)).filter(
        (e) => e.type === 'job:succeeded',
      );
      expect(succeededEvents.map((e) => e.jobId).sort()).toEqual([...ids].sort());

      // Each job has its own output: 50 distinct images, one per (seed, prompt).
      const shas = jobs.map((j) => j.outputs[0]?.sha256);
      expect(new Set(shas).size).toBe(JOBS);
    } finally {
      await second.kill('SIGTERM');
      await submitter.close();
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
