// Route table, /api aliases, response shapes, the origin middleware (§4.1) and history paging (§2.7).
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { PromptQueue } from '../src/queue.js';
import { fake, getJson, postJson, runPrompt, txt2img, WsClient } from './helpers.js';

/** A raw request, so Host and Origin can be set freely. */
function raw(
  url: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: opts.method ?? 'GET',
        path: opts.path,
        headers: opts.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('routes', () => {
  it('serves every route at /x and /api/x with identical answers', async () => {
    const f = await fake({
      models: { loras: ['b.safetensors', 'a.safetensors'], embeddings: ['easynegative.safetensors'] },
    });
    const paths = [
      '/prompt',
      '/queue',
      '/history',
      '/history/nope',
      '/object_info',
      '/object_info/KSampler',
      '/object_info/Nope',
      '/features',
      '/embeddings',
      '/extensions',
      '/models',
      '/models/loras',
      '/models/nope',
      '/view?filename=x.png',
      '/nope',
    ];
    for (const p of paths) {
      const [a, b] = await Promise.all([fetch(`${f.url}${p}`), fetch(`${f.url}/api${p}`)]);
      expect([p, b.status]).toEqual([p, a.status]);
      expect(await b.text()).toBe(await a.text());
    }
    expect(await getJson(f.url, '/models/loras')).toEqual(['a.safetensors', 'b.safetensors']);
    expect(await getJson(f.url, '/embeddings')).toEqual(['easynegative']);
    expect(await getJson(f.url, '/models')).toEqual(
      expect.arrayContaining(['checkpoints', 'loras', 'vae', 'upscale_models']),
    );
    const missing = await fetch(`${f.url}/models/nope`);
    expect([missing.status, await missing.text()]).toEqual([404, '']);
    const unknown = await fetch(`${f.url}/api/manager/version`);
    expect([unknown.status, await unknown.text()]).toEqual([404, '404: Not Found']);
    expect((await fetch(`${f.url}/prompt`, { method: 'DELETE' })).status).toBe(405);
    expect(await (await fetch(`${f.url}/features`)).text()).toBe(
      '{"supports_preview_metadata": true, "max_upload_size": 104857600.0}',
    );
    expect(await getJson(f.url, '/prompt?clientId=ignored')).toEqual({ exec_info: { queue_remaining: 0 } });
  });

  it('answers action endpoints with 200 and an empty body', async () => {
    const f = await fake();
    const cases: Array<[string, unknown]> = [
      ['/queue', { clear: true }],
      ['/queue', { delete: ['x'] }],
      ['/interrupt', {}],
      ['/interrupt', ''],
      ['/history', { clear: true }],
      ['/history', { delete: ['x'] }],
      ['/free', { unload_models: true, free_memory: true }],
    ];
    for (const [p, body] of cases) {
      for (const prefix of ['', '/api']) {
        const r = await postJson(f.url, `${prefix}${p}`, body, { 'Content-Type': 'text/plain' });
        expect([p, r.status, r.text]).toEqual([p, 200, '']);
      }
    }
    expect((await postJson(f.url, '/queue', 'not json')).status).toBe(500);
    const big = await raw(f.url, { method: 'POST', path: '/prompt', headers: { 'Content-Length': '200000000' } });
    expect(big.status).toBe(413);
  });

  it('renders object_info like server.py node_info()', async () => {
    const f = await fake({
      models: { checkpoints: ['z.safetensors', 'm.safetensors'] },
      extraNodes: ['RemoveBackground'],
    });
    const all = await getJson(f.url, '/object_info');
    for (const cls of [
      'CheckpointLoaderSimple',
      'CLIPTextEncode',
      'EmptyLatentImage',
      'KSampler',
      'VAEDecode',
      'VAEEncode',
      'SaveImage',
      'PreviewImage',
      'LoadImage',
      'LoadImageMask',
      'SaveImageWebsocket',
      'LoraLoader',
      'UpscaleModelLoader',
      'ImageUpscaleWithModel',
      'LatentUpscale',
      'ImageScale',
      'SetLatentNoiseMask',
      'VAEEncodeForInpaint',
      'RemoveBackground',
    ]) {
      expect(Object.keys(all)).toContain(cls);
    }
    const ks = all.KSampler;
    expect(Object.keys(ks)).toEqual([
      'input',
      'input_order',
      'output',
      'output_is_list',
      'output_name',
      'name',
      'display_name',
      'description',
      'python_module',
      'category',
      'output_node',
      'output_tooltips',
    ]);
    expect(ks.input_order.required).toEqual([
      'model',
      'seed',
      'steps',
      'cfg',
      'sampler_name',
      'scheduler',
      'positive',
      'negative',
      'latent_image',
      'denoise',
    ]);
    expect(ks.input.required.seed[1]).toMatchObject({ default: 0, min: 0, control_after_generate: true });
    expect(ks.input.required.scheduler[0]).toEqual([
      'simple',
      'sgm_uniform',
      'karras',
      'exponential',
      'ddim_uniform',
      'beta',
      'normal',
      'linear_quadratic',
      'kl_optimal',
    ]);
    expect(ks).toMatchObject({
      output: ['LATENT'],
      output_is_list: [false],
      output_name: ['LATENT'],
      category: 'sampling',
      output_node: false,
      python_module: 'nodes',
    });
    const text = await (await fetch(`${f.url}/object_info/KSampler`)).text();
    expect(text).toContain('"max": 18446744073709551615');
    expect(text).toContain('"cfg": ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01');
    expect(all.SaveImage.input.hidden).toEqual({ prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' });
    expect(all.SaveImage.input_order).toEqual({
      required: ['images', 'filename_prefix'],
      hidden: ['prompt', 'extra_pnginfo'],
    });
    expect(all.SaveImage).toMatchObject({
      output: [],
      output_node: true,
      display_name: 'Save Image',
      category: 'image',
    });
    expect(all.CheckpointLoaderSimple.input.required.ckpt_name[0]).toEqual(['m.safetensors', 'z.safetensors']);
    expect(all.LoadImage.input.required.image).toEqual([[], { image_upload: true }]);
    expect(all.SaveImageWebsocket).toMatchObject({
      display_name: 'SaveImageWebsocket',
      category: 'api/image',
      python_module: 'custom_nodes.websocket_image_save',
    });
    expect(all.ImageUpscaleWithModel.python_module).toBe('comfy_extras.nodes_upscale_model');
    expect(all.RemoveBackground).toMatchObject({
      input: { required: { image: ['IMAGE'] } },
      output: ['IMAGE'],
      output_node: false,
    });
    expect(await getJson(f.url, '/object_info/Nope')).toEqual({});
  });

  it('runs an extra node class like any other', async () => {
    const f = await fake({ extraNodes: ['RemoveBackground'] });
    const ws = await WsClient.connect(f.url);
    const p = txt2img();
    p['20'] = { class_type: 'RemoveBackground', inputs: { image: ['8', 0] } };
    p['9'].inputs.images = ['20', 0];
    const { history } = await runPrompt(f.url, ws, p);
    expect(history.status.status_str).toBe('success');
    expect(ws.json.some((m) => m.type === 'executing' && m.data.node === '20')).toBe(true);
  });

  it('reports a CPU device in /system_stats and 5-element items in /queue', async () => {
    const f = await fake({ stepMs: 20 });
    const stats = await getJson(f.url, '/system_stats');
    expect(Object.keys(stats)).toEqual(['system', 'devices']);
    expect(stats.system).toMatchObject({ os: 'posix', comfyui_version: '0.3.64', embedded_python: false });
    expect(stats.devices[0]).toMatchObject({ name: 'cpu', type: 'cpu', index: null });
    expect(Object.keys(stats.devices[0])).toEqual([
      'name',
      'type',
      'index',
      'vram_total',
      'vram_free',
      'torch_vram_total',
      'torch_vram_free',
    ]);
    await postJson(f.url, '/prompt', {
      prompt: txt2img({ steps: 100 }),
      client_id: 'c',
      prompt_id: 'r',
      extra_data: { api_key_comfy_org: 'k' },
    });
    const q = await getJson(f.url, '/queue');
    expect(q.queue_running).toHaveLength(1);
    expect(q.queue_running[0]).toHaveLength(5);
    expect(q.queue_running[0].slice(0, 2)).toEqual([0, 'r']);
    expect(q.queue_running[0][3]).toEqual({ api_key_comfy_org: 'k', client_id: 'c' });
    expect(q.queue_running[0][4]).toEqual(['9']);
    expect(await getJson(f.url, '/prompt')).toEqual({ exec_info: { queue_remaining: 1 } });
    await postJson(f.url, '/interrupt', {});
    const done = await (async () => {
      for (;;) {
        const h = await getJson(f.url, '/history/r');
        if (h.r) return h.r;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    expect(done.prompt[3]).toEqual({ client_id: 'c' }); // API tokens are not kept in history
  });
});

describe('history', () => {
  it('pages with max_items/offset, deletes and clears', async () => {
    const f = await fake();
    const ws = await WsClient.connect(f.url);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push((await runPrompt(f.url, ws, txt2img({ seed: i }), { prompt_id: `h${i}` })).promptId);
    expect(Object.keys(await getJson(f.url, '/history'))).toEqual(ids);
    expect(Object.keys(await getJson(f.url, '/history?max_items=2'))).toEqual(['h2', 'h3']);
    expect(Object.keys(await getJson(f.url, '/history?offset=1'))).toEqual(['h1', 'h2', 'h3']);
    expect(Object.keys(await getJson(f.url, '/history?offset=1&max_items=2'))).toEqual(['h1', 'h2']);
    expect(await getJson(f.url, '/history?offset=4')).toEqual({});
    expect((await fetch(`${f.url}/history?max_items=x`)).status).toBe(500);
    await postJson(f.url, '/history', { delete: ['h1'] });
    expect(Object.keys(await getJson(f.url, '/history'))).toEqual(['h0', 'h2', 'h3']);
    await postJson(f.url, '/api/history', { clear: true });
    expect(await getJson(f.url, '/history')).toEqual({});
  });

  it('caps history at 10000 entries, dropping the oldest first (PromptQueue unit)', () => {
    const q = new PromptQueue(() => undefined);
    for (let i = 0; i < 10005; i++) {
      q.put({ number: i, numberIsFloat: false, promptId: `p${i}`, prompt: {}, extraData: {}, outputs: [] });
      const got = q.get()!;
      q.taskDone(got.taskId, { outputs: {}, meta: {} }, { status_str: 'success', completed: true, messages: [] });
    }
    const all = Object.keys(q.historySlice(undefined, -1));
    expect(all).toHaveLength(10001);
    expect(all[0]).toBe('p4');
    expect(all.at(-1)).toBe('p10004');
  });
});

describe('origin middleware (§4.1)', () => {
  it('403s with an empty body when Host is loopback and Origin differs', async () => {
    const f = await fake();
    const host = `127.0.0.1:${f.port}`;
    const cases: Array<[string, string, number]> = [
      [host, `http://127.0.0.1:${f.port}`, 200],
      [host, `http://localhost:${f.port}`, 403],
      [host, 'http://127.0.0.1:3000', 403],
      [host, 'chrome-extension://abcdefghijklmnop', 403],
      [host, 'null', 200],
      [host, 'http://127.0.0.1', 200],
      [`localhost:${f.port}`, `http://localhost:${f.port}`, 200],
      [`localhost:${f.port}`, 'https://evil.example', 403],
      ['192.168.1.5:8188', 'https://evil.example', 200],
    ];
    for (const [h, origin, status] of cases) {
      const r = await raw(f.url, { path: '/system_stats', headers: { Host: h, Origin: origin } });
      expect([h, origin, r.status]).toEqual([h, origin, status]);
      if (status === 403) expect(r.body).toBe('');
    }
    const post = await raw(f.url, {
      method: 'POST',
      path: '/prompt',
      headers: { Host: host, Origin: 'http://evil.example' },
      body: JSON.stringify({ prompt: txt2img() }),
    });
    expect([post.status, post.body]).toEqual([403, '']);
    expect(f.control.stats().received).toEqual([]);
    const options = await raw(f.url, {
      method: 'OPTIONS',
      path: '/prompt',
      headers: { Host: host, Origin: `http://127.0.0.1:${f.port}` },
    });
    expect([options.status, options.body, options.headers['access-control-allow-origin']]).toEqual([
      200,
      '',
      undefined,
    ]);
  });

  it('applies to the WebSocket upgrade too', async () => {
    const f = await fake();
    await expect(WsClient.connect(f.url, { origin: 'http://localhost:1234' })).rejects.toThrow(/403/);
    const ok = await WsClient.connect(f.url, { origin: `http://127.0.0.1:${f.port}`, path: '/api/ws' });
    expect(ok.sid).toMatch(/^[0-9a-f]{32}$/);
    await expect(WsClient.connect(f.url, { path: '/wsx' })).rejects.toThrow(/404/);
  });
});
