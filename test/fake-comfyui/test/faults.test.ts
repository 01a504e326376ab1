// Control API: lifecycle faults (down/up/crash/socket drops) and injected failures.
import { describe, expect, it } from 'vitest';
import { startFakeComfy } from '../src/index.js';
import { fake, getJson, postJson, runPrompt, txt2img, until, viewBytes, WsClient } from './helpers.js';

const refused = async (url: string): Promise<boolean> =>
  fetch(`${url}/system_stats`).then(
    () => false,
    () => true,
  );

describe('lifecycle faults', () => {
  it('down() refuses connections and pauses the worker; up() listens on the same port and resumes', async () => {
    const f = await fake({ stepMs: 10 });
    const ws = await WsClient.connect(f.url);
    const before = await runPrompt(f.url, ws, txt2img({ seed: 1 }));
    await postJson(f.url, '/prompt', {
      prompt: txt2img({ seed: 2, steps: 40 }),
      client_id: ws.sid,
      prompt_id: 'during',
    });
    await postJson(f.url, '/prompt', { prompt: txt2img({ seed: 3, steps: 2 }), prompt_id: 'pending' });
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === 'during', 'first step');
    await f.control.down();
    expect(await refused(f.url)).toBe(true);
    await until(() => ws.closed, 'socket closed by down()');
    await new Promise((r) => setTimeout(r, 150));
    expect(f.control.stats().completed).toEqual([before.promptId]); // paused, not finished
    await f.control.up();
    expect(await refused(f.url)).toBe(false);
    await until(async () => (await getJson(f.url, '/history/pending')).pending, 'pending prompt done after up()');
    const h = await getJson(f.url, '/history');
    expect(Object.keys(h)).toEqual([before.promptId, 'during', 'pending']);
    expect(f.control.stats().executed).toEqual([before.promptId, 'during', 'pending']);
  });

  it('crash() drops queue, running prompt and history, keeps files, restarts on the same port', async () => {
    const f = await fake({ stepMs: 10 });
    const ws = await WsClient.connect(f.url);
    const done = await runPrompt(f.url, ws, txt2img({ seed: 1 }));
    await postJson(f.url, '/prompt', {
      prompt: txt2img({ seed: 2, steps: 500 }),
      client_id: ws.sid,
      prompt_id: 'victim',
    });
    await postJson(f.url, '/prompt', { prompt: txt2img({ seed: 3 }), prompt_id: 'lost' });
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === 'victim', 'victim running');
    await f.control.crash();
    await until(() => ws.closed, 'socket dropped');
    expect(await getJson(f.url, '/queue')).toEqual({ queue_running: [], queue_pending: [] });
    expect(await getJson(f.url, '/history')).toEqual({});
    expect((await viewBytes(f.url, done.history.outputs['9'].images[0])).length).toBeGreaterThan(0);
    const ws2 = await WsClient.connect(f.url);
    const again = await postJson(f.url, '/prompt', { prompt: txt2img({ seed: 1 }), client_id: ws2.sid });
    expect(again.json.number).toBe(0); // a fresh process counts from 0
    await ws2.waitDone(again.json.prompt_id);
    const cached = ws2.json.find((m) => m.type === 'execution_cached')!;
    expect(cached.data.nodes).toEqual([]); // caches died with the process
    const stats = f.control.stats();
    expect(stats.executed).toEqual([done.promptId, 'victim', again.json.prompt_id]);
    expect(stats.completed).toEqual([done.promptId, again.json.prompt_id]);
  });

  it('dropSockets() closes every WS now; execution continues', async () => {
    const f = await fake({ stepMs: 5 });
    const a = await WsClient.connect(f.url);
    const b = await WsClient.connect(f.url);
    const r = await postJson(f.url, '/prompt', { prompt: txt2img({ steps: 20 }), client_id: a.sid });
    await a.waitFor((m) => m.type === 'progress', 'running');
    f.control.dropSockets();
    await until(() => a.closed && b.closed, 'both closed');
    await until(
      async () => (await getJson(f.url, `/history/${r.json.prompt_id}`))[r.json.prompt_id],
      'finished anyway',
    );
  });

  it('dropSocketsAfterSteps(n) cuts sockets after n sampler steps of the next prompt', async () => {
    const f = await fake({ stepMs: 5 });
    const ws = await WsClient.connect(f.url);
    f.control.dropSocketsAfterSteps(2);
    const r = await postJson(f.url, '/prompt', { prompt: txt2img({ steps: 6 }), client_id: ws.sid });
    await until(() => ws.closed, 'dropped');
    expect(ws.json.filter((m) => m.type === 'progress').map((m) => m.data.value)).toEqual([1, 2]);
    const h = await until(
      async () => (await getJson(f.url, `/history/${r.json.prompt_id}`))[r.json.prompt_id],
      'history',
    );
    expect(h.status.status_str).toBe('success');
    // one-shot: the next prompt keeps its socket
    const ws2 = await WsClient.connect(f.url);
    await runPrompt(f.url, ws2, txt2img({ seed: 8, steps: 4 }));
    expect(ws2.closed).toBe(false);
  });
});

describe('injected failures', () => {
  it('failRoute answers with the status for /x and /api/x, `times` times', async () => {
    const f = await fake();
    f.control.failRoute('POST', '/prompt', 503, 2);
    const a = await postJson(f.url, '/prompt', { prompt: txt2img() });
    const b = await postJson(f.url, '/api/prompt', { prompt: txt2img() });
    const c = await postJson(f.url, '/prompt', { prompt: txt2img() });
    expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
    expect(a.text).toBe('503: Service Unavailable');
    f.control.failRoute('GET', '/api/history', 500);
    for (let i = 0; i < 3; i++) expect((await fetch(`${f.url}/history`)).status).toBe(500);
    f.control.failRoute('GET', '/ws', 503, 1);
    await expect(WsClient.connect(f.url)).rejects.toThrow(/503/);
    await WsClient.connect(f.url);
    f.control.reset();
    expect((await fetch(`${f.url}/history`)).status).toBe(200);
  });

  it('delayHistory(ms): history appears ms after execution_success, executing null only after it', async () => {
    const f = await fake();
    f.control.delayHistory(400);
    const ws = await WsClient.connect(f.url);
    const r = await postJson(f.url, '/prompt', { prompt: txt2img(), client_id: ws.sid });
    const id = r.json.prompt_id;
    await ws.waitFor((m) => m.type === 'execution_success', 'success');
    const t0 = Date.now();
    expect(await getJson(f.url, `/history/${id}`)).toEqual({});
    await ws.waitDone(id);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(Object.keys(await getJson(f.url, `/history/${id}`))).toEqual([id]);
  });

  it('failNode with a custom exception and times, then recovers', async () => {
    const f = await fake();
    f.control.failNode('VAEDecode', { exceptionType: 'FileNotFoundError', message: 'no such file', times: 1 });
    const ws = await WsClient.connect(f.url);
    const first = await runPrompt(f.url, ws, txt2img());
    const err = first.history.status.messages.at(-1);
    expect(err[0]).toBe('execution_error');
    expect(err[1]).toMatchObject({
      node_id: '8',
      node_type: 'VAEDecode',
      exception_type: 'FileNotFoundError',
      exception_message: 'no such file\n',
    });
    const second = await runPrompt(f.url, ws, txt2img());
    expect(second.history.status.status_str).toBe('success');
    // the sampler output was cached by the failed run
    const cached = ws.json.filter((m) => m.type === 'execution_cached').at(-1)!;
    expect(cached.data.nodes).toEqual(['3', '4', '5', '6', '7']);
  });

  it('hideNode -> invalid_prompt and gone from object_info; hideModel -> value_not_in_list', async () => {
    const f = await fake();
    f.control.hideNode('KSampler');
    const r = await postJson(f.url, '/prompt', { prompt: txt2img() });
    expect(r.json.error).toEqual({
      type: 'invalid_prompt',
      message: 'Cannot execute because node KSampler does not exist.',
      details: "Node ID '#3'",
      extra_info: {},
    });
    expect(await getJson(f.url, '/object_info/KSampler')).toEqual({});
    f.control.showNode('KSampler');
    f.control.hideModel('v1-5-pruned-emaonly.safetensors');
    const m = await postJson(f.url, '/prompt', { prompt: txt2img() });
    expect(m.json.node_errors['4'].errors[0]).toMatchObject({
      type: 'value_not_in_list',
      details: "ckpt_name: 'v1-5-pruned-emaonly.safetensors' not in ['sd_xl_base_1.0.safetensors']",
    });
    expect(await getJson(f.url, '/models/checkpoints')).toEqual(['sd_xl_base_1.0.safetensors']);
    f.control.showModel('v1-5-pruned-emaonly.safetensors');
    expect((await postJson(f.url, '/prompt', { prompt: txt2img() })).status).toBe(200);
  });

  it('a model hidden after queueing fails at execution with FileNotFoundError', async () => {
    const f = await fake({ stepMs: 20 });
    const ws = await WsClient.connect(f.url);
    await postJson(f.url, '/prompt', { prompt: txt2img({ steps: 10 }), client_id: ws.sid, prompt_id: 'busy' });
    await postJson(f.url, '/prompt', {
      prompt: txt2img({ ckpt: 'sd_xl_base_1.0.safetensors' }),
      client_id: ws.sid,
      prompt_id: 'later',
    });
    f.control.hideModel('sd_xl_base_1.0.safetensors');
    await ws.waitDone('later');
    const e = ws.json.find((m) => m.type === 'execution_error')!.data;
    expect(e).toMatchObject({
      prompt_id: 'later',
      node_type: 'CheckpointLoaderSimple',
      exception_type: 'FileNotFoundError',
    });
  });

  it('slowView and setStepMs delay what they should', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url);
    const { history } = await runPrompt(f.url, ws, txt2img());
    f.control.slowView(150);
    let t0 = Date.now();
    await viewBytes(f.url, history.outputs['9'].images[0]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    f.control.setStepMs(40);
    t0 = Date.now();
    await runPrompt(f.url, ws, txt2img({ seed: 99, steps: 5 }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('stats() tracks received/executed/completed/depth/busy time; resetStats() clears them', async () => {
    const f = await fake({ stepMs: 20 });
    const ws = await WsClient.connect(f.url);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await postJson(f.url, '/prompt', { prompt: txt2img({ seed: i }), client_id: ws.sid })).json.prompt_id);
    await ws.waitDone(ids[2]!);
    const s = f.control.stats();
    expect(s.received).toEqual(ids);
    expect(s.executed).toEqual(ids);
    expect(s.completed).toEqual(ids);
    expect(s.maxQueueDepth).toBeGreaterThanOrEqual(2);
    expect(s.busyMs).toBeGreaterThan(0);
    expect(s.firstStartAt).not.toBeNull();
    expect(s.lastEndAt!).toBeGreaterThanOrEqual(s.firstStartAt!);
    f.control.resetStats();
    expect(f.control.stats()).toEqual({
      received: [],
      executed: [],
      completed: [],
      maxQueueDepth: 0,
      busyMs: 0,
      firstStartAt: null,
      lastEndAt: null,
    });
  });

  it('close() is idempotent, frees the port and is usable via Symbol.asyncDispose', async () => {
    const f = await startFakeComfy();
    expect(typeof f[Symbol.asyncDispose]).toBe('function');
    await f.close();
    await f[Symbol.asyncDispose]();
    expect(await refused(f.url)).toBe(true);
    const again = await startFakeComfy({ port: f.port });
    expect(again.port).toBe(f.port);
    await again.close();
  });
});
