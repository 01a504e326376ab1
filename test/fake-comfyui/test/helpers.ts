// Shared helpers for the fake ComfyUI tests: a started fake per test, a recording WebSocket client with
// bounded waits, and the reference API workflows of the protocol document (§6).
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { startFakeComfy, type FakeComfy, type FakeComfyOptions } from '../src/index.js';

export interface WsJson {
  type: string;
  data: Record<string, unknown>;
}

export type WsEvent = { kind: 'json'; msg: WsJson } | { kind: 'binary'; frame: Buffer };

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A fake that is closed after the current test. */
export async function fake(options: FakeComfyOptions = {}): Promise<FakeComfy> {
  const f = await startFakeComfy(options);
  cleanups.push(() => f.close());
  return f;
}

export async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export class WsClient {
  readonly events: WsEvent[] = [];
  sid = '';
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (isBinary) this.events.push({ kind: 'binary', frame: buf });
      else this.events.push({ kind: 'json', msg: JSON.parse(buf.toString('utf8')) as WsJson });
    });
    ws.on('close', () => (this.closed = true));
    ws.on('error', () => undefined);
  }

  static async connect(
    base: string,
    opts: { clientId?: string; path?: string; featureFlags?: boolean; origin?: string } = {},
  ): Promise<WsClient> {
    const q = opts.clientId ? `?clientId=${encodeURIComponent(opts.clientId)}` : '';
    const headers = opts.origin ? { Origin: opts.origin } : undefined;
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}${opts.path ?? '/ws'}${q}`, { headers });
    const client = new WsClient(ws);
    cleanups.push(() => client.close());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    const status = await client.waitFor((m) => m.type === 'status' && typeof m.data.sid === 'string', 'initial status');
    client.sid = status.data.sid as string;
    if (opts.featureFlags) {
      ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
      await client.waitFor((m) => m.type === 'feature_flags', 'feature_flags reply');
    }
    return client;
  }

  get json(): WsJson[] {
    return this.events.flatMap((e) => (e.kind === 'json' ? [e.msg] : []));
  }

  get binaries(): Buffer[] {
    return this.events.flatMap((e) => (e.kind === 'binary' ? [e.frame] : []));
  }

  async waitFor(pred: (m: WsJson) => boolean, what: string, ms = 10_000): Promise<WsJson> {
    return until(() => this.json.find(pred), what, ms);
  }

  /** Done marker of §7.3: executing with node null for this prompt. */
  waitDone(promptId: string, ms = 10_000): Promise<WsJson> {
    return this.waitFor(
      (m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId,
      `executing null for ${promptId}`,
      ms,
    );
  }

  /** Event types from the first message about this prompt on (status included), ending at its executing null. */
  typesFor(promptId: string): string[] {
    const msgs = this.json;
    const start = msgs.findIndex((m) => m.type === 'execution_start' && m.data.prompt_id === promptId);
    const end = msgs.findIndex((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId);
    return msgs.slice(start, end + 1).map((m) => m.type);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

export async function postJson(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

export async function getJson(base: string, path: string): Promise<any> {
  const res = await fetch(`${base}${path}`);
  if (res.status !== 200) throw new Error(`GET ${path} -> ${res.status}`);
  return res.json();
}

export interface Txt2ImgOptions {
  seed?: number | string;
  text?: string;
  steps?: number;
  prefix?: string;
  width?: number;
  height?: number;
  batch?: number;
  ckpt?: string;
  output?: 'SaveImage' | 'PreviewImage' | 'SaveImageWebsocket';
}

/** The txt2img graph of §6.1 (node ids 3..9). */
export function txt2img(o: Txt2ImgOptions = {}): Record<string, any> {
  const out =
    o.output === 'SaveImageWebsocket' || o.output === 'PreviewImage'
      ? { class_type: o.output, inputs: { images: ['8', 0] } }
      : { class_type: 'SaveImage', inputs: { filename_prefix: o.prefix ?? 'ComfyUI', images: ['8', 0] } };
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: o.ckpt ?? 'v1-5-pruned-emaonly.safetensors' } },
    '5': {
      class_type: 'EmptyLatentImage',
      inputs: { width: o.width ?? 64, height: o.height ?? 64, batch_size: o.batch ?? 1 },
    },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: o.text ?? 'masterpiece best quality man', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'bad hands', clip: ['4', 1] } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: o.seed ?? 5,
        steps: o.steps ?? 4,
        cfg: 8,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': out,
  };
}

/** Queue a prompt and wait for its executing-null on the given socket. */
export async function runPrompt(
  base: string,
  ws: WsClient,
  prompt: unknown,
  extra: Record<string, unknown> = {},
): Promise<{ promptId: string; history: any }> {
  const r = await postJson(base, '/prompt', { prompt, client_id: ws.sid, ...extra });
  if (r.status !== 200) throw new Error(`POST /prompt -> ${r.status} ${r.text}`);
  const promptId = r.json.prompt_id as string;
  await ws.waitDone(promptId);
  const history = await getJson(base, `/history/${promptId}`);
  return { promptId, history: history[promptId] };
}

export async function viewBytes(
  base: string,
  ref: { filename: string; subfolder: string; type: string },
): Promise<Buffer> {
  const q = new URLSearchParams({ filename: ref.filename, subfolder: ref.subfolder, type: ref.type });
  const res = await fetch(`${base}/view?${q}`);
  if (res.status !== 200) throw new Error(`/view -> ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}
