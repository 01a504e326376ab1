import sharp from 'sharp';
import { expect, it } from 'vitest';
import { expectedColor, startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;
const post = (g: Gateway, body: unknown) =>
  g.fetch('/v1/batches', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function topLeft(g: Gateway, outputId: string) {
  const { data } = await sharp(Buffer.from(await (await g.fetch(`/v1/outputs/${outputId}`)).arrayBuffer()))
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { r: data[0]!, g: data[1]!, b: data[2]! };
}

it('template variations: increment seeds per prompt, each image drawn with the seed it records', async () => {
  const fake = await startFakeComfy({ stepMs: 1 });
  try {
    await using g = await startTestGateway({ backends: [{ name: 'b0', url: fake.url }] });
    const res = await post(g, {
      name: 'pets',
      variations: {
        job: { template: 'txt2img', params: { seed: 1000, steps: 2, width: 64, height: 64 } },
        count: 3,
        seed: 'increment',
        vary: { prompt: ['a fox', 'an owl'] },
      },
    });
    expect(res.status).toBe(201);
    const batch = await jsonBody(res);
    expect(batch.total).toBe(6);
    await waitFor(async () => (await jsonBody(await g.fetch(`/v1/batches/${batch.id}`))).done === 6, {
      timeoutMs: 30_000,
      what: 'batch done',
    });

    const jobs = await Promise.all(batch.jobIds.map(async (id: string) => jsonBody(await g.fetch(`/v1/jobs/${id}`))));
    expect(
      jobs.map((j) => [j.state, j.metadata.params.prompt, j.metadata.params.seed, j.metadata.variation.index]),
    ).toEqual([
      ['succeeded', 'a fox', 1000, 0],
      ['succeeded', 'a fox', 1001, 1],
      ['succeeded', 'a fox', 1002, 2],
      ['succeeded', 'an owl', 1000, 0],
      ['succeeded', 'an owl', 1001, 1],
      ['succeeded', 'an owl', 1002, 2],
    ]);
    for (const j of jobs) {
      const image = j.outputs.find((o: { nodeId: string }) => o.nodeId === '9');
      expect(await topLeft(g, image.id)).toEqual(expectedColor(j.metadata.params.seed, j.metadata.params.prompt));
    }
    expect(fake.control.stats().completed.length).toBe(6);
  } finally {
    await fake.close();
  }
});

it('fixed and random seed modes, and variations that would be identical are refused', async () => {
  const fake = await startFakeComfy({ stepMs: 1 });
  try {
    await using g = await startTestGateway({ backends: [{ name: 'b0', url: fake.url }] });
    const seedsOf = async (body: unknown) => {
      const res = await post(g, body);
      expect(res.status).toBe(201);
      const batch = await jsonBody(res);
      return Promise.all(
        batch.jobIds.map(async (id: string) => (await jsonBody(await g.fetch(`/v1/jobs/${id}`))).metadata.params.seed),
      );
    };
    const fixed = await seedsOf({
      variations: { job: { template: 'txt2img', params: { prompt: 'a', steps: 1 } }, count: 3, seed: 'fixed' },
    });
    expect(new Set(fixed).size).toBe(1);
    const random = await seedsOf({
      variations: { job: { template: 'txt2img', params: { prompt: 'a', steps: 1 } }, count: 3 },
    });
    expect(new Set(random).size).toBe(3);

    const same = await post(g, { variations: { job: { template: 'txt2img', params: { seed: 5 } }, count: 4 } });
    expect([same.status, (await jsonBody(same)).error.message]).toEqual([
      400,
      expect.stringContaining("'seed' is given, so every variation would be the same image"),
    ]);
    const unknown = await post(g, { variations: { job: { template: 'txt2img' }, vary: { colour: ['red'] } } });
    expect((await jsonBody(unknown)).error.message).toContain("vary names 'colour'");
    const noTemplate = await post(g, {
      variations: { job: { graph: { 1: { class_type: 'X', inputs: {} } } }, count: 2 },
    });
    expect([noTemplate.status, JSON.stringify((await jsonBody(noTemplate)).error)]).toEqual([
      400,
      expect.stringContaining('give `job.template`'),
    ]);
    const badValue = await post(g, { variations: { job: { template: 'txt2img' }, vary: { steps: [10, 0] } } });
    expect((await jsonBody(badValue)).error.message).toContain('steps: 0 is below the minimum 1');
    expect((await jsonBody(await g.fetch('/v1/jobs?limit=100'))).jobs ?? []).toHaveLength(6); // nothing of the refused batches exists
  } finally {
    await fake.close();
  }
});
