import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect, it } from 'vitest';
import sharp from 'sharp';
import { INTERNAL, openSqliteStore } from '@comfygate/daemon';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { makeHome, startTestDaemon } from '../helpers/daemon.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The API prompt ComfyUI received for a job (its first attempt), from the fake's history. */
async function sentPrompt(g: Awaited<ReturnType<typeof startTestGateway>>, fakeUrl: string, jobId: string) {
  const [attempt] = await g.daemon.store.attempts.forJob(jobId);
  const history = await jsonBody(await fetch(`${fakeUrl}/history/${attempt!.id}`));
  return history[attempt!.id].prompt[2] as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
}

it('a three-step chain (generate -> upscale -> remove background) runs as one unit, each step fed the previous image', async () => {
  await using plain = await startFakeComfy();
  await using special = await startFakeComfy({ extraNodes: ['RemoveBackground'] });
  await using g = await startTestGateway({
    backends: [
      { name: 'plain', url: plain.url },
      { name: 'special', url: special.url },
    ],
  });
  await waitFor(() => g.daemon.backends().every((b) => b.health === 'up' && b.nodes !== null), { what: 'backends up' });
  const first = await g.client.createJob({
    template: 'txt2img',
    params: { prompt: 'a lighthouse', width: 64, height: 48, steps: 4 },
    then: [{ template: 'upscale', params: { width: 128, height: 96 } }, { template: 'remove-background' }],
  });
  const chain = await waitFor(
    async () => {
      const c = await jsonBody(await g.fetch(`/v1/jobs/${first.id}/chain`));
      return c.state !== 'running' ? c : null;
    },
    { timeoutMs: 30_000, what: 'chain done' },
  );
  expect(chain.state).toBe('succeeded');
  expect(chain.steps.map((s: { template: string; state: string }) => [s.template, s.state])).toEqual([
    ['txt2img', 'succeeded'],
    ['upscale', 'succeeded'],
    ['remove-background', 'succeeded'],
  ]);
  expect(chain.pending).toEqual([]);
  const [, up, nobg] = await Promise.all(chain.steps.map((s: { jobId: string }) => g.client.getJob(s.jobId)));
  const upBytes = Buffer.from(await (await g.fetch(`/v1/outputs/${up!.outputs[0]!.id}`)).arrayBuffer());
  expect((await sharp(upBytes).metadata()).width).toBe(128);
  expect(nobg!.backend).toBe('special'); // capability routing: only that backend has the node
  expect(nobg!.parentJobId).toBe(up!.id);
  const sent = await sentPrompt(g, special.url, nobg!.id);
  expect(sent['2']!.class_type).toBe('RemoveBackground');

  const broken = await g.fetch('/v1/jobs', json({ template: 'txt2img', then: [{ template: 'txt2img' }] }));
  expect([broken.status, (await jsonBody(broken)).error.message]).toEqual([
    400,
    "chain step 'txt2img' has no image parameter to take the previous output",
  ]);
});

it('style presets and prompt enhancement rewrite the prompt; a failing enhancer falls back with a warning', async () => {
  let fail = false;
  const llm = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (fail) return void res.writeHead(500).end('model not loaded');
      const user = JSON.parse(body).messages.find((m: { role: string }) => m.role === 'user').content;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: `${user}, golden hour, 35mm` } }] }));
    });
  });
  await new Promise<void>((r) => llm.listen(0, '127.0.0.1', r));
  try {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    g.daemon.config.enhancer = {
      url: `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`,
      model: 'llama3',
      timeoutMs: 5_000,
      system: 'improve',
    };
    expect(
      (
        await g.fetch(
          '/v1/presets',
          json({ name: 'noir', prefix: 'film noir', suffix: 'high contrast', negative: 'colour' }),
        )
      ).status,
    ).toBe(201);

    const job = await g.client.waitForJob(
      (
        await g.client.createJob({
          template: 'txt2img',
          params: { prompt: 'a detective', negative: 'blurry', width: 64, height: 64, steps: 4 },
          preset: 'noir',
          enhance: true,
        })
      ).id,
    );
    expect(job.state).toBe('succeeded');
    const sent = await sentPrompt(g, fake.url, job.id);
    expect(sent['6']!.inputs.text).toBe('film noir, a detective, golden hour, 35mm, high contrast');
    expect(sent['7']!.inputs.text).toBe('blurry, colour');
    expect(job.metadata.prompt).toMatchObject({
      original: 'a detective',
      enhanced: 'a detective, golden hour, 35mm',
      preset: 'noir',
    });

    fail = true;
    const fallback = await g.client.waitForJob(
      (
        await g.client.createJob({
          template: 'txt2img',
          params: { prompt: 'a cat', width: 64, height: 64, steps: 4 },
          enhance: true,
        })
      ).id,
    );
    expect(fallback.state).toBe('succeeded');
    expect((await sentPrompt(g, fake.url, fallback.id))['6']!.inputs.text).toBe('a cat');
    const events = (await g.daemon.store.events.after(0, 10_000)).filter(
      (e) => e.jobId === fallback.id && e.type === 'job:warning',
    );
    expect(String(events[0]?.data.message)).toContain('prompt enhancement failed');
    expect((await g.fetch('/v1/jobs', json({ template: 'txt2img', preset: 'nope' }))).status).toBe(404);
  } finally {
    llm.close();
  }
});

it("a chain's step values are checked at submit; a step that cannot be made ends the chain, visibly", async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    security: { maxPixels: 100_000 },
  });
  const refused = async (then: unknown[]) => {
    const res = await g.fetch(
      '/v1/jobs',
      json({ template: 'txt2img', params: { width: 64, height: 64, steps: 1 }, then }),
    );
    return [res.status, (await jsonBody(res)).error.message];
  };
  expect(await refused([{ template: 'img2img', params: { steps: 'abc' } }])).toEqual([
    400,
    "chain step 1 ('img2img'): steps: expected an integer, got 'abc'",
  ]);
  expect(
    await refused([
      { template: 'upscale', params: { width: 128, height: 96 } },
      { template: 'img2img', params: { denoise: 5 } },
    ]),
  ).toEqual([400, "chain step 2 ('img2img'): denoise: 5 is above the maximum 1"]);
  expect(await refused([{ template: 'img2img', params: { nope: 1 } }])).toEqual([
    400,
    expect.stringMatching(/^chain step 1 \('img2img'\): nope: unknown parameter/),
  ]);
  expect((await g.client.listJobs()).jobs).toEqual([]);

  // What depends on the previous image, its size, is checked when the step is made: 128×128 × 4 is over 100,000 pixels.
  const job = await g.client.createJob({
    template: 'txt2img',
    params: { prompt: 'a lighthouse', width: 128, height: 128, steps: 2 },
    then: [{ template: 'upscale', params: { scale: 4 } }, { template: 'img2img' }],
  });
  const chain = await waitFor(
    async () => {
      const c = await g.client.chain(job.id);
      return c.state !== 'running' ? c : null;
    },
    { timeoutMs: 20_000, what: 'chain ended' },
  );
  expect(chain).toMatchObject({
    steps: [{ jobId: job.id, state: 'succeeded', template: 'txt2img' }],
    pending: [],
    state: 'failed',
  });
  expect(chain.stoppedReason).toMatch(/^chain stopped before 'upscale': .*512×512.*100000/);
  const warnings = (await g.daemon.store.events.after(0, 10_000)).filter(
    (e) => e.jobId === job.id && e.type === 'job:warning',
  );
  expect(warnings.map((e) => e.data)).toEqual([{ message: chain.stoppedReason, chainStopped: true }]);
  expect(await g.daemon.store.jobs.children(job.id)).toEqual([]);
});

it('a step that succeeds while the daemon shuts down gets its next step at the next start, exactly once', async () => {
  await using fake = await startFakeComfy();
  const backends = [{ name: 'a', url: fake.url }];
  const home = makeHome();
  try {
    // The first step is held in post-processing until the daemon is shutting down: it succeeds after the daemon
    // stopped listening for chains (as with a crash between the two), so no daemon made the next step.
    let entered!: () => void;
    let release!: () => void;
    const inPostprocess = new Promise<void>((r) => (entered = r));
    const released = new Promise<void>((r) => (release = r));
    const first = await startTestDaemon({ home, backends, postprocess: async () => (entered(), await released) });
    const { job } = await first.daemon.submit(
      {
        template: 'txt2img',
        params: { prompt: 'a lighthouse', width: 64, height: 48, steps: 2 },
        then: [{ template: 'upscale', params: { width: 128, height: 96 } }],
      },
      { viewer: INTERNAL },
    );
    await inPostprocess;
    const closing = first.close();
    setTimeout(release, 300);
    await closing;
    const store = openSqliteStore(path.join(home, 'comfygate.db'));
    expect([(await store.jobs.get(job.id))!.state, await store.jobs.children(job.id)]).toEqual(['succeeded', []]);
    await store.close();

    await using second = await startTestGateway({ home, backends });
    const chain = await waitFor(
      async () => {
        const c = await second.client.chain(job.id);
        return c.state !== 'running' ? c : null;
      },
      { timeoutMs: 20_000, what: 'chain done after the restart' },
    );
    expect([chain.state, chain.steps.map((s) => [s.template, s.state]), chain.stoppedReason]).toEqual([
      'succeeded',
      [
        ['txt2img', 'succeeded'],
        ['upscale', 'succeeded'],
      ],
      null,
    ]);
    await second.close();

    await using third = await startTestGateway({ home, backends });
    expect((await third.daemon.store.jobs.children(job.id)).map((j) => j.id)).toEqual([chain.steps[1]!.jobId]);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});

it('a batch enhances each distinct prompt once; a reply over 64 KB or slower overall than the timeout falls back', async () => {
  let calls = 0;
  let mode: 'ok' | 'huge' | 'trickle' = 'ok';
  const llm = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls++;
      const user = JSON.parse(body).messages.find((m: { role: string }) => m.role === 'user').content;
      const reply = (content: string) => JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] });
      res.setHeader('content-type', 'application/json');
      if (mode === 'huge') return void res.end(reply(`${user}, ${'very '.repeat(20_000)}detailed`));
      if (mode === 'trickle') {
        // A byte every 50 ms for 2 s, then a good answer: each byte comes well within the timeout, the whole does not.
        res.flushHeaders();
        let n = 0;
        const t = setInterval(
          () => (++n < 40 ? res.write(' ') : (clearInterval(t), res.end(reply(`${user}, slowly`)))),
          50,
        );
        res.on('close', () => clearInterval(t));
        return;
      }
      res.end(reply(`${user}, take ${calls}`)); // every call answers differently
    });
  });
  await new Promise<void>((r) => llm.listen(0, '127.0.0.1', r));
  try {
    await using fake = await startFakeComfy();
    await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
    g.daemon.config.enhancer = {
      url: `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`,
      model: 'llama3',
      timeoutMs: 500,
      system: 'improve',
    };
    const prompts = async (jobIds: string[]) =>
      Promise.all(
        jobIds.map(
          async (id) =>
            (await g.client.getJob(id)).metadata.prompt as {
              original: string;
              enhanced?: string;
              final: string;
              enhancerError?: string;
            },
        ),
      );

    const variations = await jsonBody(
      await g.fetch(
        '/v1/batches',
        json({
          variations: {
            job: { template: 'txt2img', params: { width: 64, height: 64, steps: 1 }, enhance: true },
            count: 3,
            vary: { prompt: ['a cat', 'a dog'] },
          },
        }),
      ),
    );
    expect(variations.total).toBe(6);
    expect(calls).toBe(2);
    const varied = await prompts(variations.jobIds);
    for (const original of ['a cat', 'a dog']) {
      const same = varied.filter((p) => p.original === original);
      expect(same).toHaveLength(3);
      expect(new Set(same.map((p) => p.enhanced)).size).toBe(1); // the variations compare like for like
    }

    const job = (prompt: string) => ({
      template: 'txt2img',
      params: { prompt, width: 64, height: 64, steps: 1 },
      enhance: true,
    });
    const listed = await jsonBody(
      await g.fetch('/v1/batches', json({ jobs: [job('a fox'), job('a fox'), job('a cat'), job('a fox')] })),
    );
    expect(calls).toBe(4); // a new request asks again, once per distinct prompt
    expect((await prompts(listed.jobIds)).map((p) => p.enhanced)).toEqual([
      'a fox, take 3',
      'a fox, take 3',
      'a cat, take 4',
      'a fox, take 3',
    ]);

    mode = 'huge';
    const [huge] = await prompts([(await g.client.createJob(job('a heron'))).id]);
    expect(huge).toMatchObject({
      original: 'a heron',
      final: 'a heron',
      enhancerError: 'enhancer reply is over 64 KB',
    });
    expect(huge!.enhanced).toBeUndefined();

    mode = 'trickle';
    const started = Date.now();
    const [slow] = await prompts([(await g.client.createJob(job('an owl'))).id]);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(slow).toMatchObject({
      original: 'an owl',
      final: 'an owl',
      enhancerError: 'enhancer gave no full answer within 500 ms',
    });
    const warned = (await g.daemon.store.events.after(0, 100_000))
      .filter((e) => e.type === 'job:warning')
      .map((e) => String(e.data.message));
    expect(warned.filter((m) => m.startsWith('prompt enhancement failed'))).toHaveLength(2);
  } finally {
    llm.closeAllConnections();
    llm.close();
  }
});
