import { describe, expect, it } from 'vitest';
import { GatewayError, INTERNAL } from '@comfygate/daemon';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';

const backend = (name: string, url: string, inflight = 2) => ({ name, url, inflight });

describe('engine against fake ComfyUI', () => {
  it('runs a job end to end and stores its output by content hash', async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    const events: string[] = [];
    t.daemon.subscribe((e) => e.jobId && events.push(e.type), INTERNAL);
    const { job } = await t.daemon.submit({ graph: txt2img({ seed: 7 }) }, { viewer: INTERNAL });
    const done = await t.waitForState(job.id, ['succeeded', 'failed']);
    expect(done.state).toBe('succeeded');
    expect(done.outputs).toHaveLength(1);
    expect(done.outputs[0]).toMatchObject({
      nodeId: '9',
      contentType: 'image/png',
      kind: 'output',
      width: 64,
      height: 64,
    });
    expect(await t.daemon.files.has(done.outputs[0]!.sha256)).toBe(true);
    const durable = events.filter((e) => e !== 'job:progress');
    expect(durable).toEqual(['job:queued', 'job:dispatched', 'job:running', 'job:postprocessing', 'job:succeeded']);
    expect(events).toContain('job:progress');
    expect(fake.control.stats().executed).toHaveLength(1);
  });

  it('same seed and prompt give identical bytes; a different seed differs', async () => {
    await using fake = await startFakeComfy({ cacheOutputs: false });
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    const ids = [];
    for (const seed of [11, 11, 12])
      ids.push((await t.daemon.submit({ graph: txt2img({ seed, text: 'owl' }) }, { viewer: INTERNAL })).job.id);
    const [a, b, c] = await Promise.all(ids.map((id) => t.waitForState(id, 'succeeded')));
    expect(a!.outputs[0]!.sha256).toBe(b!.outputs[0]!.sha256);
    expect(a!.outputs[0]!.sha256).not.toBe(c!.outputs[0]!.sha256);
  });

  it('pipelines: keeps a second prompt waiting in the backend queue', async () => {
    await using fake = await startFakeComfy({ stepMs: 5 });
    await using t = await startTestDaemon({ backends: [backend('a', fake.url, 2)] });
    const ids = [];
    for (let i = 0; i < 8; i++)
      ids.push((await t.daemon.submit({ graph: txt2img({ seed: i }) }, { viewer: INTERNAL })).job.id);
    await Promise.all(ids.map((id) => t.waitForState(id, 'succeeded')));
    expect(fake.control.stats().maxQueueDepth).toBe(2);
  });

  it('shares 60 jobs across 3 backends, each prompt executed exactly once', async () => {
    const fakes = await Promise.all([0, 1, 2].map(() => startFakeComfy({ stepMs: 2 })));
    try {
      await using t = await startTestDaemon({ backends: fakes.map((f, i) => backend(`b${i}`, f.url)) });
      const ids = [];
      for (let i = 0; i < 60; i++)
        ids.push(
          (await t.daemon.submit({ graph: txt2img({ seed: i, text: `job ${i}` }) }, { viewer: INTERNAL })).job.id,
        );
      const jobs = await Promise.all(ids.map((id) => t.waitForState(id, ['succeeded', 'failed'], 60_000)));
      expect(jobs.every((j) => j.state === 'succeeded')).toBe(true);
      const executed = fakes.flatMap((f) => f.control.stats().executed);
      expect(executed).toHaveLength(60);
      expect(new Set(executed).size).toBe(60);
      for (const f of fakes) expect(f.control.stats().executed.length).toBeGreaterThan(5);
    } finally {
      await Promise.all(fakes.map((f) => f.close()));
    }
  });

  it('routes a job needing a model only one backend has to that backend', async () => {
    await using plain = await startFakeComfy();
    await using special = await startFakeComfy({
      models: { checkpoints: ['v1-5-pruned-emaonly.safetensors', 'special.safetensors'] },
    });
    await using t = await startTestDaemon({ backends: [backend('plain', plain.url), backend('special', special.url)] });
    await waitFor(() => t.daemon.backends().every((b) => b.health === 'up'), { what: 'backends up' });
    const ids = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        (await t.daemon.submit({ graph: txt2img({ seed: i, ckpt: 'special.safetensors' }) }, { viewer: INTERNAL })).job
          .id,
      );
    const jobs = await Promise.all(ids.map((id) => t.waitForState(id, 'succeeded')));
    expect(jobs.map((j) => j.backend)).toEqual(['special', 'special', 'special', 'special']);
    expect(plain.control.stats().received).toHaveLength(0);
  });

  it('fails fast naming the model and node class no backend has', async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    await waitFor(() => t.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
    const graph = { ...txt2img({ ckpt: 'nope.safetensors' }), '10': { class_type: 'MysteryNode', inputs: {} } };
    const err = await t.daemon.submit({ graph }, { viewer: INTERNAL }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('no_capable_backend');
    expect((err as GatewayError).message).toContain("ckpt_name 'nope.safetensors'");
    expect((err as GatewayError).message).toContain('node class MysteryNode');
  });

  it('reports ComfyUI validation errors with node_errors kept', async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    const graph = txt2img();
    graph['3'].inputs.steps = 0; // below KSampler's min of 1
    const { job } = await t.daemon.submit({ graph }, { viewer: INTERNAL });
    const failed = await t.waitForState(job.id, ['failed', 'succeeded']);
    expect(failed.state).toBe('failed');
    expect(failed.error?.code).toBe('comfy_validation');
    expect(failed.error?.message).toContain('KSampler (node 3)');
    expect(failed.attempts).toBe(1);
  });

  it("a node exception fails the job with ComfyUI's message; no retry", async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    fake.control.failNode('VAEDecode', { exceptionType: 'RuntimeError', message: 'shape mismatch\n' });
    const { job } = await t.daemon.submit({ graph: txt2img() }, { viewer: INTERNAL });
    const failed = await t.waitForState(job.id, ['failed', 'succeeded']);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'comfy_execution' });
    expect(failed.error!.message).toContain('VAEDecode (node 8) failed: RuntimeError: shape mismatch');
    expect(failed.attempts).toBe(1);
  });

  it('retries a 503 from POST /prompt and succeeds', async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)], engine: { breakerThreshold: 3 } });
    await waitFor(() => t.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
    fake.control.failRoute('POST', '/prompt', 503, 1);
    const { job } = await t.daemon.submit({ graph: txt2img() }, { viewer: INTERNAL });
    const done = await t.waitForState(job.id, ['succeeded', 'failed']);
    expect(done.state).toBe('succeeded');
    expect(done.attempts).toBe(2);
  });

  it('waits while the only backend is down at submit time, then runs', async () => {
    await using fake = await startFakeComfy();
    await fake.control.down();
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    const { job } = await t.daemon.submit({ graph: txt2img() }, { viewer: INTERNAL });
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.daemon.get(job.id, INTERNAL)).state).toBe('queued');
    await fake.control.up();
    expect((await t.waitForState(job.id, ['succeeded', 'failed'])).state).toBe('succeeded');
  });

  it('fails over when a backend crashes mid-job', async () => {
    await using a = await startFakeComfy({ stepMs: 50 });
    await using b = await startFakeComfy({ stepMs: 5 });
    await using t = await startTestDaemon({ backends: [backend('a', a.url, 1), backend('b', b.url, 1)] });
    await waitFor(() => t.daemon.backends().every((x) => x.health === 'up'), { what: 'backends up' });
    const { job } = await t.daemon.submit({ graph: txt2img({ steps: 40 }), backend: undefined }, { viewer: INTERNAL });
    const running = await t.waitForState(job.id, 'running');
    const victim = running.backend === 'a' ? a : b;
    await victim.control.crash();
    const done = await t.waitForState(job.id, ['succeeded', 'failed']);
    expect(done.state).toBe('succeeded');
    expect(done.attempts).toBe(2);
  });

  it('finishes a job whose WebSocket dropped mid-run, through /history', async () => {
    await using fake = await startFakeComfy({ stepMs: 10 });
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    await waitFor(() => t.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
    fake.control.dropSocketsAfterSteps(2);
    const { job } = await t.daemon.submit({ graph: txt2img({ steps: 10 }) }, { viewer: INTERNAL });
    const done = await t.waitForState(job.id, ['succeeded', 'failed']);
    expect(done.state).toBe('succeeded');
    expect(done.attempts).toBe(1);
    expect(fake.control.stats().executed).toHaveLength(1);
  });

  it('waits for a late history entry instead of failing', async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    fake.control.delayHistory(400);
    const { job } = await t.daemon.submit({ graph: txt2img() }, { viewer: INTERNAL });
    const done = await t.waitForState(job.id, ['succeeded', 'failed']);
    expect(done.state).toBe('succeeded');
    expect(done.attempts).toBe(1);
  });

  it('runs higher priority first', async () => {
    await using fake = await startFakeComfy({ stepMs: 20 });
    await using t = await startTestDaemon({ backends: [backend('a', fake.url, 1)] });
    await waitFor(() => t.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
    const blocker = (await t.daemon.submit({ graph: txt2img({ seed: 0, steps: 10 }) }, { viewer: INTERNAL })).job;
    await t.waitForState(blocker.id, ['dispatched', 'running']);
    const low = (await t.daemon.submit({ graph: txt2img({ seed: 1 }), priority: 0 }, { viewer: INTERNAL })).job;
    const high = (await t.daemon.submit({ graph: txt2img({ seed: 2 }), priority: 10 }, { viewer: INTERNAL })).job;
    await Promise.all([low, high].map((j) => t.waitForState(j.id, 'succeeded')));
    const finishedLow = (await t.daemon.get(low.id, INTERNAL)).finishedAt!;
    const finishedHigh = (await t.daemon.get(high.id, INTERNAL)).finishedAt!;
    expect(finishedHigh).toBeLessThan(finishedLow);
  });

  it('shares a busy backend fairly between a batch and a single job', async () => {
    await using fake = await startFakeComfy({ stepMs: 5 });
    await using t = await startTestDaemon({ backends: [backend('a', fake.url, 1)] });
    await waitFor(() => t.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
    const batch = [];
    for (let i = 0; i < 12; i++)
      batch.push(
        (await t.daemon.submit({ graph: txt2img({ seed: i }), client: 'pipeline' }, { viewer: INTERNAL })).job.id,
      );
    const single = (await t.daemon.submit({ graph: txt2img({ seed: 99 }), client: 'designer' }, { viewer: INTERNAL }))
      .job.id;
    await t.waitForState(single, 'succeeded');
    const stillQueued = (await Promise.all(batch.map((id) => t.daemon.get(id, INTERNAL)))).filter(
      (j) => j.state === 'queued',
    );
    expect(stillQueued.length).toBeGreaterThan(5);
  });

  it('idempotency key: same body returns the same job, a different body is refused', async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    const a = await t.daemon.submit({ graph: txt2img({ seed: 5 }) }, { viewer: INTERNAL, idempotencyKey: 'k' });
    const b = await t.daemon.submit({ graph: txt2img({ seed: 5 }) }, { viewer: INTERNAL, idempotencyKey: 'k' });
    expect(b).toMatchObject({ created: false, job: { id: a.job.id } });
    const err = await t.daemon
      .submit({ graph: txt2img({ seed: 6 }) }, { viewer: INTERNAL, idempotencyKey: 'k' })
      .catch((e: GatewayError) => e);
    expect((err as GatewayError).code).toBe('idempotency_mismatch');
  });

  it('rejects bad input with typed errors', async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    const codes = await Promise.all([
      t.daemon.submit({ graph: {} }, { viewer: INTERNAL }).catch((e: GatewayError) => e.code),
      t.daemon.submit({ graph: txt2img(), priority: 'high' }, { viewer: INTERNAL }).catch((e: GatewayError) => e.code),
      t.daemon
        .submit({ graph: txt2img(), backend: 'nowhere' }, { viewer: INTERNAL })
        .catch((e: GatewayError) => e.code),
      t.daemon.get('no-such-job', INTERNAL).catch((e: GatewayError) => e.code),
    ]);
    expect(codes).toEqual(['validation_failed', 'validation_failed', 'bad_request', 'not_found']);
  });
});

describe('cancel', () => {
  it('cancels a queued job at once', async () => {
    await using fake = await startFakeComfy();
    await fake.control.down();
    await using t = await startTestDaemon({ backends: [backend('a', fake.url)] });
    const { job } = await t.daemon.submit({ graph: txt2img() }, { viewer: INTERNAL });
    expect((await t.daemon.cancel(job.id, INTERNAL)).state).toBe('canceled');
    expect((await t.daemon.cancel(job.id, INTERNAL)).state).toBe('canceled');
  });

  it('cancels a dispatched job by deleting it from the backend queue; it never runs', async () => {
    await using fake = await startFakeComfy({ stepMs: 20 });
    await using t = await startTestDaemon({ backends: [backend('a', fake.url, 2)] });
    await waitFor(() => t.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
    const first = (await t.daemon.submit({ graph: txt2img({ seed: 1, steps: 20 }) }, { viewer: INTERNAL })).job;
    await t.waitForState(first.id, 'running');
    const second = (await t.daemon.submit({ graph: txt2img({ seed: 2 }) }, { viewer: INTERNAL })).job;
    await waitFor(() => fake.control.stats().received.length === 2, { what: 'second prompt at the backend' });
    await t.daemon.cancel(second.id, INTERNAL);
    expect((await t.waitForState(second.id, ['canceled', 'succeeded'])).state).toBe('canceled');
    expect((await t.waitForState(first.id, ['succeeded', 'failed'])).state).toBe('succeeded');
    expect(fake.control.stats().executed).toHaveLength(1);
  });

  it('cancels a running job with a targeted interrupt, leaving others alone', async () => {
    await using fake = await startFakeComfy({ stepMs: 20 });
    await using t = await startTestDaemon({ backends: [backend('a', fake.url, 2)] });
    await waitFor(() => t.daemon.backends()[0]!.health === 'up', { what: 'backend up' });
    const victim = (await t.daemon.submit({ graph: txt2img({ seed: 1, steps: 50 }) }, { viewer: INTERNAL })).job;
    const bystander = (await t.daemon.submit({ graph: txt2img({ seed: 2 }) }, { viewer: INTERNAL })).job;
    await t.waitForState(victim.id, 'running');
    await t.daemon.cancel(victim.id, INTERNAL);
    expect((await t.waitForState(victim.id, ['canceled', 'succeeded', 'failed'])).state).toBe('canceled');
    expect((await t.waitForState(bystander.id, ['succeeded', 'failed'])).state).toBe('succeeded');
    expect(fake.control.stats().completed).not.toContain(victim.id);
  });
});
