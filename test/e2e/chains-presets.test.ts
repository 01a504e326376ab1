import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import sharp from 'sharp';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The API prompt ComfyUI received for a job (its first attempt), from the fake's history. */
async function sentPrompt(g: Awaited<ReturnType<typeof startTestGateway>>, fakeUrl: string, jobId: string) {
  const [attempt] = await g.daemon.store.attempts.forJob(jobId);
  const history = await jsonBody(await fetch(`${fakeUrl}/history/${attempt!.id}`));
  return history[attempt!.id].prompt[2] as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
}

it('a three-step chain (generate -> upscale -> remove background) runs as one unit, each step fed the previous image', async () => {
  await using plain = await startFakeComfy();
  await using special = await startFakeComfy({ extraNodes: ['RemoveBackground'] });
  await using g = await startTestGateway({ backends: [{ name: 'plain', url: plain.url }, { name: 'special', url: special.url }] });
  await waitFor(() => g.daemon.backends().every((b) => b.health === 'up' && b.nodes !== null), { what: 'backends up' });
  const first = await g.client.createJob({
    template: 'txt2img',
    params: { prompt: 'a lighthouse', width: 64, height: 48, steps: 4 },
    then: [{ template: 'upscale', params: { width: 128, height: 96 } }, { template: 'remove-background' }],
  });
  const chain = await waitFor(async () => {
    const c = await jsonBody(await g.fetch(`/v1/jobs/${first.id}/chain`));
    return c.state !== 'running' ? c : null;
  }, { timeoutMs: 30_000, what: 'chain done' });
  expect(chain.state).toBe('succeeded');
  expect(chain.steps.map((s: { template: string; state: string }) => [s.template, s.state])).toEqual([
    ['txt2img', 'succeeded'], ['upscale', 'succeeded'], ['remove-background', 'succeeded'],
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
  expect([broken.status, (await jsonBody(broken)).error.message]).toEqual([400, "chain step 'txt2img' has no image parameter to take the previous output"]);
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
    g.daemon.config.enhancer = { url: `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`, model: 'llama3', timeoutMs: 5_000, system: 'improve' };
    expect((await g.fetch('/v1/presets', json({ name: 'noir', prefix: 'film noir', suffix: 'high contrast', negative: 'colour' }))).status).toBe(201);

    const job = await g.client.waitForJob((await g.client.createJob({ template: 'txt2img', params: { prompt: 'a detective', negative: 'blurry', width: 64, height: 64, steps: 4 }, preset: 'noir', enhance: true })).id);
    expect(job.state).toBe('succeeded');
    const sent = await sentPrompt(g, fake.url, job.id);
    expect(sent['6']!.inputs.text).toBe('film noir, a detective, golden hour, 35mm, high contrast');
    expect(sent['7']!.inputs.text).toBe('blurry, colour');
    expect(job.metadata.prompt).toMatchObject({ original: 'a detective', enhanced: 'a detective, golden hour, 35mm', preset: 'noir' });

    fail = true;
    const fallback = await g.client.waitForJob((await g.client.createJob({ template: 'txt2img', params: { prompt: 'a cat', width: 64, height: 64, steps: 4 }, enhance: true })).id);
    expect(fallback.state).toBe('succeeded');
    expect((await sentPrompt(g, fake.url, fallback.id))['6']!.inputs.text).toBe('a cat');
    const events = (await g.daemon.store.events.after(0, 10_000)).filter((e) => e.jobId === fallback.id && e.type === 'job:warning');
    expect(String(events[0]?.data.message)).toContain('prompt enhancement failed');
    expect((await g.fetch('/v1/jobs', json({ template: 'txt2img', preset: 'nope' }))).status).toBe(404);
  } finally {
    llm.close();
  }
});
