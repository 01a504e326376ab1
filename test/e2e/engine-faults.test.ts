import { describe, expect, it } from 'vitest';
import { GatewayError, INTERNAL } from '@comfygate/daemon';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';

const upAll = (t: Awaited<ReturnType<typeof startTestDaemon>>) =>
  waitFor(() => t.daemon.backends().every((b) => b.health === 'up' && b.nodes !== null), { what: 'backends up' });

describe("faults injected after the daemon learned a backend's capabilities", () => {
  it("a node class that vanished fails with ComfyUI's invalid_prompt when no other backend has it", async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [{ name: 'a', url: fake.url }] });
    await upAll(t);
    fake.control.hideNode('VAEDecode');
    const { job } = await t.daemon.submit({ graph: txt2img() }, { viewer: INTERNAL });
    const failed = await t.waitForState(job.id, ['failed', 'succeeded']);
    expect(failed.state).toBe('failed');
    expect(failed.error?.code).toBe('comfy_validation');
    expect(failed.error?.message).toContain('VAEDecode does not exist');
    // The stale capabilities were refreshed: the next such job is refused at submit, naming the class.
    await waitFor(() => t.daemon.backends()[0]!.nodes !== null);
    const err = await t.daemon
      .submit({ graph: txt2img({ seed: 2 }) }, { viewer: INTERNAL })
      .catch((e: GatewayError) => e);
    expect((err as GatewayError).code).toBe('no_capable_backend');
    expect((err as GatewayError).message).toContain('node class VAEDecode');
  });

  it('a model that vanished on one backend: refresh its capabilities and run on the other', async () => {
    const models = { checkpoints: ['v1-5-pruned-emaonly.safetensors', 'shared.safetensors'] };
    await using a = await startFakeComfy({ models });
    await using b = await startFakeComfy({ models });
    await using t = await startTestDaemon({
      backends: [
        { name: 'a', url: a.url },
        { name: 'b', url: b.url },
      ],
    });
    await upAll(t);
    a.control.hideModel('shared.safetensors');
    const ids = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        (await t.daemon.submit({ graph: txt2img({ seed: i, ckpt: 'shared.safetensors' }) }, { viewer: INTERNAL })).job
          .id,
      );
    const jobs = await Promise.all(ids.map((id) => t.waitForState(id, ['succeeded', 'failed'])));
    expect(jobs.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(jobs.every((j) => j.backend === 'b')).toBe(true);
    expect(a.control.stats().executed).toEqual([]);
  });

  it('a slow /view only delays the job', async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [{ name: 'a', url: fake.url }] });
    fake.control.slowView(300);
    const { job } = await t.daemon.submit({ graph: txt2img() }, { viewer: INTERNAL });
    const done = await t.waitForState(job.id, ['succeeded', 'failed']);
    expect(done.state).toBe('succeeded');
    expect(done.attempts).toBe(1);
  });

  it("a job waiting for its down backend does not block the same client's other jobs", async () => {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({
      backends: [
        { name: 'up', url: fake.url },
        { name: 'down', url: 'http://127.0.0.1:9' },
      ],
    });
    const stuck = (
      await t.daemon.submit({ graph: txt2img({ seed: 1 }), backend: 'down', client: 'me' }, { viewer: INTERNAL })
    ).job;
    const next = (await t.daemon.submit({ graph: txt2img({ seed: 2 }), client: 'me' }, { viewer: INTERNAL })).job;
    expect((await t.waitForState(next.id, ['succeeded', 'failed'])).state).toBe('succeeded');
    expect((await t.daemon.get(stuck.id, INTERNAL)).state).toBe('queued');
  });

  it('refuses new jobs with 429 once the queue holds maxQueued', async () => {
    await using fake = await startFakeComfy();
    await fake.control.down();
    await using t = await startTestDaemon({ backends: [{ name: 'a', url: fake.url }], engine: { maxQueued: 3 } });
    for (let i = 0; i < 3; i++) await t.daemon.submit({ graph: txt2img({ seed: i }) }, { viewer: INTERNAL });
    const err = await t.daemon
      .submit({ graph: txt2img({ seed: 9 }) }, { viewer: INTERNAL })
      .catch((e: GatewayError) => e);
    expect((err as GatewayError).code).toBe('rate_limited');
    expect((err as GatewayError).status).toBe(429);
  });
});
