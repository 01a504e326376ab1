// WebSocket event order (§3.5) and routing (§3.4) of the fake's worker.
import { describe, expect, it } from 'vitest';
import { fake, getJson, postJson, runPrompt, txt2img, until, WsClient } from './helpers.js';

const nodeEvents = (id: string, extra: string[] = []): string[] => [
  'progress_state',
  'executing',
  ...extra,
  'progress_state',
];

describe('event order', () => {
  it('emits the full §3.5 sequence for a client-targeted fresh run', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url, { clientId: 'client-a' });
    const { promptId, history } = await runPrompt(f.url, ws, txt2img({ steps: 4 }));
    const steps = Array.from({ length: 4 }, () => ['progress_state', 'progress']).flat();
    expect(ws.typesFor(promptId)).toEqual([
      'execution_start',
      'execution_cached',
      ...nodeEvents('4'),
      ...nodeEvents('6'),
      ...nodeEvents('7'),
      ...nodeEvents('5'),
      ...nodeEvents('3', steps),
      ...nodeEvents('8'),
      ...nodeEvents('9', ['executed']),
      'execution_success',
      'status',
      'executing',
    ]);
    // Two status broadcasts precede execution_start: enqueue and dequeue, both with 1 remaining.
    const msgs = ws.json;
    const start = msgs.findIndex((m) => m.type === 'execution_start');
    const statuses = msgs.slice(1, start).filter((m) => m.type === 'status');
    expect(statuses.map((m) => (m.data.status as any).exec_info.queue_remaining)).toEqual([1, 1]);
    expect(msgs.find((m) => m.type === 'execution_cached')?.data).toMatchObject({ nodes: [], prompt_id: promptId });
    const executing = msgs.filter((m) => m.type === 'executing' && m.data.node !== null).map((m) => m.data);
    expect(executing[0]).toEqual({ node: '4', display_node: '4', prompt_id: promptId });
    const progress = msgs.filter((m) => m.type === 'progress').map((m) => m.data);
    expect(progress).toEqual([1, 2, 3, 4].map((value) => ({ value, max: 4, prompt_id: promptId, node: '3' })));
    const executed = msgs.find((m) => m.type === 'executed')!.data;
    expect(Object.keys(executed)).toEqual(['node', 'display_node', 'output', 'prompt_id']);
    expect(executed.output).toEqual({ images: [{ filename: 'ComfyUI_00001_.png', subfolder: '', type: 'output' }] });
    expect(Object.keys(history)).toEqual(['prompt', 'outputs', 'status', 'meta']);
    expect(history.status.status_str).toBe('success');
    expect(history.status.messages.map((m: [string]) => m[0])).toEqual([
      'execution_start',
      'execution_cached',
      'execution_success',
    ]);
    expect(history.meta['9']).toEqual({ node_id: '9', display_node: '9', parent_node: null, real_node_id: '9' });
    const finalState = msgs.filter((m) => m.type === 'progress_state').at(-1)!.data as any;
    expect(Object.values(finalState.nodes).every((n: any) => n.state === 'finished')).toBe(true);
  });

  it('re-runs an identical prompt from the cache: old output, no executing, no new file', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url);
    const first = await runPrompt(f.url, ws, txt2img());
    const second = await runPrompt(f.url, ws, txt2img());
    expect(ws.typesFor(second.promptId)).toEqual([
      'execution_start',
      'execution_cached',
      'executed',
      'progress_state',
      'execution_success',
      'status',
      'executing',
    ]);
    const cached = ws.json.find((m) => m.type === 'execution_cached' && m.data.prompt_id === second.promptId)!;
    expect([...(cached.data.nodes as string[])].sort()).toEqual(['3', '4', '5', '6', '7', '8', '9']);
    expect(second.history.outputs).toEqual(first.history.outputs);
    expect(f.control.stats().completed).toEqual([first.promptId, second.promptId]);
  });

  it('reports a runtime error: executing X -> execution_error -> status -> executing null', async () => {
    const f = await fake();
    f.control.failNode('KSampler');
    const ws = await WsClient.connect(f.url);
    const { promptId, history } = await runPrompt(f.url, ws, txt2img());
    const types = ws.typesFor(promptId);
    expect(types.slice(-5)).toEqual(['progress_state', 'executing', 'execution_error', 'status', 'executing']);
    const e = ws.json.find((m) => m.type === 'execution_error')!.data;
    expect(Object.keys(e)).toEqual([
      'prompt_id',
      'node_id',
      'node_type',
      'executed',
      'exception_message',
      'exception_type',
      'traceback',
      'current_inputs',
      'current_outputs',
      'timestamp',
    ]);
    expect(e).toMatchObject({
      prompt_id: promptId,
      node_id: '3',
      node_type: 'KSampler',
      exception_type: 'torch.OutOfMemoryError',
    });
    expect(e.exception_message).toMatch(/\n$/);
    expect(e.executed).toEqual(['4', '6', '7', '5']);
    expect((e.current_inputs as any).seed).toEqual([5]);
    expect(history.status).toMatchObject({ status_str: 'error', completed: false });
    expect(history.status.messages.at(-1)[0]).toBe('execution_error');
    expect(history.outputs).toEqual({});
  });

  it('interrupts the targeted running prompt at the next step check', async () => {
    const f = await fake({ stepMs: 20 });
    const ws = await WsClient.connect(f.url);
    const a = await postJson(f.url, '/prompt', {
      prompt: txt2img({ steps: 200 }),
      client_id: ws.sid,
      prompt_id: 'run-a',
    });
    const b = await postJson(f.url, '/prompt', {
      prompt: txt2img({ seed: 6, steps: 2 }),
      client_id: ws.sid,
      prompt_id: 'run-b',
    });
    expect([a.status, b.status]).toEqual([200, 200]);
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === 'run-a', 'first step');
    // Targeting a pending prompt does nothing; targeting the running one stops it.
    expect((await postJson(f.url, '/interrupt', { prompt_id: 'run-b' })).status).toBe(200);
    const r = await postJson(f.url, '/interrupt', { prompt_id: 'run-a' });
    expect([r.status, r.text]).toEqual([200, '']);
    await ws.waitDone('run-a');
    // run-b's enqueue `status` may interleave if run-a had already started its first step
    const types = ws.typesFor('run-a');
    const tail = [...types.slice(0, -2).filter((t) => t !== 'status'), ...types.slice(-2)];
    expect(tail.slice(-5)).toEqual(['progress_state', 'progress', 'execution_interrupted', 'status', 'executing']);
    const intr = ws.json.find((m) => m.type === 'execution_interrupted')!.data;
    expect(Object.keys(intr)).toEqual(['prompt_id', 'node_id', 'node_type', 'executed', 'timestamp']);
    expect(intr).toMatchObject({ prompt_id: 'run-a', node_id: '3', node_type: 'KSampler' });
    const h = (await getJson(f.url, '/history/run-a'))['run-a'];
    expect(h.status).toMatchObject({ status_str: 'error', completed: false });
    // The pending prompt still runs afterwards.
    await ws.waitDone('run-b');
    expect((await getJson(f.url, '/history/run-b'))['run-b'].status.status_str).toBe('success');
  });

  it('never executes a queued prompt deleted from the queue', async () => {
    const f = await fake({ stepMs: 5 });
    const ws = await WsClient.connect(f.url);
    await postJson(f.url, '/prompt', { prompt: txt2img({ steps: 2000 }), client_id: ws.sid, prompt_id: 'first' });
    await postJson(f.url, '/prompt', { prompt: txt2img({ seed: 9 }), client_id: ws.sid, prompt_id: 'doomed' });
    const q = await getJson(f.url, '/queue');
    expect(q.queue_pending.map((i: unknown[]) => i[1])).toContain('doomed');
    const del = await postJson(f.url, '/queue', { delete: ['doomed'] });
    expect([del.status, del.text]).toEqual([200, '']);
    await postJson(f.url, '/interrupt', { prompt_id: 'first' });
    await ws.waitDone('first');
    await new Promise((r) => setTimeout(r, 50));
    expect(ws.json.some((m) => m.data.prompt_id === 'doomed')).toBe(false);
    expect(await getJson(f.url, '/history/doomed')).toEqual({});
    expect(f.control.stats().executed).toEqual(['first']);
    expect((await getJson(f.url, '/queue')).queue_pending).toEqual([]);
  });

  it('has the history entry by the time executing null arrives', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url);
    for (let i = 0; i < 3; i++) {
      const r = await postJson(f.url, '/prompt', { prompt: txt2img({ seed: 100 + i }), client_id: ws.sid });
      const id = r.json.prompt_id as string;
      const got = await new Promise<any>((resolve) => {
        ws.ws.on('message', function onMsg(data) {
          const m = JSON.parse(data.toString());
          if (m.type === 'executing' && m.data.node === null && m.data.prompt_id === id) {
            ws.ws.off('message', onMsg);
            resolve(getJson(f.url, `/history/${id}`));
          }
        });
      });
      expect(Object.keys(got)).toEqual([id]);
    }
  });
});

describe('routing (§3.4)', () => {
  it('sends a client-targeted prompt only to its client; others get status broadcasts', async () => {
    const f = await fake();
    const owner = await WsClient.connect(f.url);
    const other = await WsClient.connect(f.url);
    const { promptId } = await runPrompt(f.url, owner, txt2img());
    await until(() => other.json.filter((m) => m.type === 'status').length >= 4, 'status broadcasts');
    expect(new Set(other.json.map((m) => m.type))).toEqual(new Set(['status']));
    expect(owner.json.some((m) => m.type === 'executed' && m.data.prompt_id === promptId)).toBe(true);
  });

  it('broadcasts progress/progress_state but not execution events for a prompt without client_id', async () => {
    const f = await fake();
    const a = await WsClient.connect(f.url);
    const b = await WsClient.connect(f.url);
    const r = await postJson(f.url, '/prompt', { prompt: txt2img() });
    const id = r.json.prompt_id as string;
    await until(async () => Object.keys(await getJson(f.url, `/history/${id}`)).length > 0, 'history');
    for (const c of [a, b]) await until(() => c.json.filter((m) => m.type === 'status').length >= 4, 'final status');
    for (const c of [a, b]) {
      const types = new Set(c.json.map((m) => m.type));
      expect(types).toEqual(new Set(['status', 'progress_state', 'progress']));
    }
  });

  it('broadcasts execution_interrupted when the prompt has no client_id', async () => {
    const f = await fake({ stepMs: 20 });
    const watcher = await WsClient.connect(f.url);
    const r = await postJson(f.url, '/prompt', { prompt: txt2img({ steps: 200 }) });
    await watcher.waitFor((m) => m.type === 'progress', 'progress broadcast');
    await postJson(f.url, '/interrupt', '');
    const m = await watcher.waitFor((x) => x.type === 'execution_interrupted', 'interrupted broadcast');
    expect(m.data.prompt_id).toBe(r.json.prompt_id);
  });

  it('drops events for an empty-string client_id (matches no socket)', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url);
    const r = await postJson(f.url, '/prompt', { prompt: txt2img(), client_id: '' });
    await until(async () => Object.keys(await getJson(f.url, `/history/${r.json.prompt_id}`)).length > 0, 'history');
    expect(new Set(ws.json.map((m) => m.type))).toEqual(new Set(['status']));
  });

  it('re-sends the running node to a client reconnecting with the same id (no prompt_id)', async () => {
    const f = await fake({ stepMs: 20 });
    const first = await WsClient.connect(f.url, { clientId: 'same-id' });
    await postJson(f.url, '/prompt', { prompt: txt2img({ steps: 100 }), client_id: 'same-id' });
    await first.waitFor((m) => m.type === 'progress', 'running');
    first.close();
    await until(() => first.closed, 'closed');
    await new Promise((r) => setTimeout(r, 20));
    const again = await WsClient.connect(f.url, { clientId: 'same-id' });
    const m = await again.waitFor((x) => x.type === 'executing', 'reconnect executing');
    expect(m.data).toEqual({ node: '3' });
    await postJson(f.url, '/interrupt', {});
  });
});

describe('binary frames', () => {
  it('sends type 1 JPEG previews per step with previewMethod auto, type 4 after negotiation', async () => {
    const f = await fake({ previewMethod: 'auto' });
    const plain = await WsClient.connect(f.url);
    const { promptId } = await runPrompt(f.url, plain, txt2img({ steps: 3 }));
    expect(plain.binaries).toHaveLength(3);
    for (const b of plain.binaries) {
      expect([b.readUInt32BE(0), b.readUInt32BE(4)]).toEqual([1, 1]);
      expect(b.subarray(8, 10)).toEqual(Buffer.from([0xff, 0xd8]));
    }
    // previews follow their `progress` message
    const kinds = plain.events
      .map((e) => (e.kind === 'binary' ? 'bin' : e.msg.type))
      .filter((t) => t === 'progress' || t === 'bin');
    expect(kinds).toEqual(['progress', 'bin', 'progress', 'bin', 'progress', 'bin']);
    expect(promptId).toBeTruthy();

    const meta = await WsClient.connect(f.url, { featureFlags: true });
    const flags = meta.json.find((m) => m.type === 'feature_flags')!;
    expect(flags.data).toEqual({ supports_preview_metadata: true, max_upload_size: 104857600 });
    const second = await runPrompt(f.url, meta, txt2img({ seed: 77, steps: 2 }));
    expect(meta.binaries).toHaveLength(2);
    const frame = meta.binaries[0]!;
    expect(frame.readUInt32BE(0)).toBe(4);
    const len = frame.readUInt32BE(4);
    const json = frame.subarray(8, 8 + len).toString('utf8');
    expect(json).toContain('", "');
    expect(JSON.parse(json)).toEqual({
      node_id: '3',
      prompt_id: second.promptId,
      display_node_id: '3',
      parent_node_id: null,
      real_node_id: '3',
      image_type: 'image/jpeg',
    });
    expect(frame.subarray(8 + len, 10 + len)).toEqual(Buffer.from([0xff, 0xd8]));
    // type 4 goes out between the step's progress_state and its progress message
    const kinds4 = meta.events.map((e) => (e.kind === 'binary' ? 'bin' : e.msg.type));
    const at = kinds4.indexOf('bin');
    expect(kinds4.slice(at - 1, at + 2)).toEqual(['progress_state', 'bin', 'progress']);
  });

  it('SaveImageWebsocket: progress from 0 and one PNG frame per image, no executed, no history output', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url);
    const { promptId, history } = await runPrompt(f.url, ws, txt2img({ output: 'SaveImageWebsocket', batch: 2 }));
    const pngs = ws.binaries;
    expect(pngs).toHaveLength(2);
    for (const b of pngs) {
      expect([b.readUInt32BE(0), b.readUInt32BE(4)]).toEqual([1, 2]);
      expect(b.subarray(8, 12).toString('latin1')).toBe('\x89PNG');
    }
    const saveProgress = ws.json
      .filter((m) => m.type === 'progress' && m.data.node === '9')
      .map((m) => [m.data.value, m.data.max]);
    expect(saveProgress).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(ws.json.some((m) => m.type === 'executed' && m.data.prompt_id === promptId)).toBe(false);
    expect(history.outputs).toEqual({});
    // IS_CHANGED is "now": never cached.
    await runPrompt(f.url, ws, txt2img({ output: 'SaveImageWebsocket', batch: 2 }));
    expect(ws.binaries).toHaveLength(4);
  });
});
