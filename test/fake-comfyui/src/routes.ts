// ComfyUI's route table (server.py) for the fake: prompt/queue/history/interrupt/free, object_info,
// system info, models, /view and uploads. Every route is also reachable under /api (http.ts strips it).
import { randomUUID } from 'node:crypto';
import { freemem, totalmem } from 'node:os';
import { PyException, pyBool, pyFloat, pyInt } from './coerce.js';
import { maskSaver, resolveView, transformView, uploadImage, contentTypeFor } from './files.js';
import { reply, Router, type Req, type Reply } from './http.js';
import { nodeInfo } from './nodes.js';
import { PyFloat, isDict, parseJson, pyStr, pyTypeName, type PyDict, type PyValue } from './pyjson.js';
import { wireItem, type QueueItem } from './queue.js';
import type { TimerSet } from './runtime.js';
import type { ServerState } from './state.js';
import { validatePrompt } from './validate.js';
import { serverFeatures } from './ws.js';

/** await request.json(): JSON regardless of Content-Type; invalid JSON raises (-> plain 500). */
async function jsonBody(req: Req): Promise<PyValue> {
  return parseJson((await req.body()).toString('utf8'));
}

/** Python's `key in json_data` and `json_data[key]` for whatever JSON value the client sent. */
function bodyView(data: PyValue): { has(k: string): boolean; get(k: string): PyValue } {
  const has = (k: string): boolean => {
    if (isDict(data)) return Object.hasOwn(data, k);
    if (Array.isArray(data) || typeof data === 'string') return data.includes(k);
    throw new PyException('TypeError', `argument of type '${pyTypeName(data)}' is not iterable`);
  };
  const get = (k: string): PyValue => {
    if (!isDict(data))
      throw new PyException('TypeError', `${pyTypeName(data)} indices must be integers or slices, not str`);
    return data[k] as PyValue;
  };
  return { has, get };
}

/** `for x in value` over a JSON value (a string iterates its characters, as in Python). */
function iterate(value: PyValue): PyValue[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (isDict(value)) return Object.keys(value);
  throw new PyException('TypeError', `'${pyTypeName(value)}' object is not iterable`);
}

const NO_PROMPT = { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} };

async function postPrompt(s: ServerState, req: Req): Promise<Reply> {
  const data = await jsonBody(req);
  const body = bodyView(data);
  let number: number;
  const numberIsFloat = body.has('number');
  if (numberIsFloat) number = pyFloat(body.get('number')).value;
  else {
    number = s.queue.counter;
    if (body.has('front') && pyBool(body.get('front'))) number = -number;
    s.queue.counter++;
  }
  if (!body.has('prompt')) return reply.json({ error: NO_PROMPT, node_errors: {} }, 400);
  const prompt = body.get('prompt');
  const promptId = body.has('prompt_id') ? pyStr(body.get('prompt_id')) : randomUUID();
  const targets = body.has('partial_execution_targets') ? body.get('partial_execution_targets') : undefined;
  const valid = validatePrompt(prompt, targets, s.validationEnv());
  const extra = body.has('extra_data') ? body.get('extra_data') : {};
  if (!isDict(extra)) throw new PyException('TypeError', 'extra_data must be an object');
  if (body.has('client_id')) extra.client_id = body.get('client_id');
  if (!valid.ok) return reply.json({ error: valid.error, node_errors: valid.nodeErrors }, 400);
  const item: QueueItem = {
    number,
    numberIsFloat,
    promptId,
    prompt: prompt as PyDict,
    extraData: extra,
    outputs: valid.outputs,
  };
  s.stats.received(promptId);
  s.queue.put(item);
  s.worker?.notify();
  const num = numberIsFloat ? new PyFloat(number) : number;
  return reply.json({ prompt_id: promptId, number: num, node_errors: valid.nodeErrors });
}

async function postQueue(s: ServerState, req: Req): Promise<Reply> {
  const body = bodyView(await jsonBody(req));
  if (body.has('clear') && pyBool(body.get('clear'))) s.queue.wipe();
  if (body.has('delete')) for (const id of iterate(body.get('delete'))) if (typeof id === 'string') s.queue.delete(id);
  return reply.empty();
}

async function postInterrupt(s: ServerState, req: Req): Promise<Reply> {
  let data: PyValue;
  try {
    data = await jsonBody(req);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    data = {};
  }
  if (!isDict(data)) throw new PyException('AttributeError', `'${pyTypeName(data)}' object has no attribute 'get'`);
  const promptId = data.prompt_id ?? null;
  if (pyBool(promptId)) {
    if (typeof promptId === 'string' && s.queue.isRunning(promptId)) s.worker?.interrupt();
  } else s.worker?.interrupt();
  return reply.empty();
}

async function postHistory(s: ServerState, req: Req): Promise<Reply> {
  const body = bodyView(await jsonBody(req));
  if (body.has('clear') && pyBool(body.get('clear'))) s.queue.wipeHistory();
  if (body.has('delete'))
    for (const id of iterate(body.get('delete'))) if (typeof id === 'string') s.queue.deleteHistory(id);
  return reply.empty();
}

function getHistory(s: ServerState, req: Req): Reply {
  const max = req.query.get('max_items');
  const off = req.query.get('offset');
  const maxItems = max === null ? undefined : Number(pyInt(max));
  const offset = off === null ? -1 : Number(pyInt(off));
  return reply.json(s.queue.historySlice(maxItems, offset));
}

function objectInfo(s: ServerState, only?: string): Reply {
  const out: PyDict = {};
  const names = only === undefined ? s.registry.visibleNames() : s.registry.visible(only) ? [only] : [];
  for (const name of names) out[name] = nodeInfo(s.registry.visible(name)!, s.nodeContext);
  return reply.json(out);
}

function systemStats(): Reply {
  const total = totalmem();
  const free = freemem();
  return reply.json({
    system: {
      os: 'posix',
      ram_total: total,
      ram_free: free,
      comfyui_version: '0.3.64',
      required_frontend_version: '1.27.10',
      installed_templates_version: null, // as a real 0.3.64 without the workflow-templates package answers
      required_templates_version: '0.1.95',
      python_version: '3.12.3 (main, Apr 10 2025, 12:00:00) [GCC 13.3.0]',
      pytorch_version: '2.8.0+cpu',
      embedded_python: false,
      argv: ['main.py', '--cpu'],
    },
    devices: [
      {
        name: 'cpu',
        type: 'cpu',
        index: null,
        vram_total: total,
        vram_free: free,
        torch_vram_total: total,
        torch_vram_free: free,
      },
    ],
  });
}

async function view(s: ServerState, timers: TimerSet, req: Req): Promise<Reply> {
  if (s.faults.slowViewMs > 0) await timers.delay(s.faults.slowViewMs);
  const r = resolveView(s.dirs, req.query);
  if (r.status !== 200) return reply.empty(r.status);
  const headers = { 'Content-Disposition': `filename="${r.filename}"` };
  const transformed = await transformView(r.file, req.query);
  if (transformed)
    return { status: 200, headers: { ...headers, 'Content-Type': transformed.type }, body: transformed.body };
  return { status: 200, headers: { ...headers, 'Content-Type': contentTypeFor(r.filename) }, file: r.file };
}

/** multipart/form-data through the WHATWG Request parser; a body it cannot parse has no `image`. */
async function formOf(req: Req): Promise<FormData> {
  const body = await req.body();
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  try {
    return await new Request('http://fake/upload', { method: 'POST', headers, body: new Uint8Array(body) }).formData();
  } catch {
    return new FormData();
  }
}

async function upload(s: ServerState, req: Req, mask: boolean): Promise<Reply> {
  const form = await formOf(req);
  const saver = mask ? maskSaver(s.dirs, form.get('original_ref')) : undefined;
  const r = await uploadImage(s.dirs, form, saver);
  return r.json ? reply.json(r.json) : r.status === 500 ? reply.serverError() : reply.empty(r.status);
}

export function buildRouter(s: ServerState, timers: TimerSet): Router {
  const r = new Router();
  r.add('GET', '/', () => ({
    status: 200,
    headers: { 'Content-Type': 'text/html', 'Cache-Control': 'no-cache' },
    body: '<!doctype html><title>ComfyUI (fake)</title><p>fake ComfyUI for comfygate tests</p>\n',
  }));
  r.add('POST', '/prompt', (req) => postPrompt(s, req));
  r.add('GET', '/prompt', () => reply.json({ exec_info: { queue_remaining: s.queue.remaining() } }));
  r.add('GET', '/queue', () =>
    reply.json({
      queue_running: s.queue.runningItems().map((i) => wireItem(i)),
      queue_pending: s.queue.pendingItems().map((i) => wireItem(i)),
    }),
  );
  r.add('POST', '/queue', (req) => postQueue(s, req));
  r.add('POST', '/interrupt', (req) => postInterrupt(s, req));
  r.add('POST', '/free', async (req) => {
    if (!isDict(await jsonBody(req))) throw new PyException('AttributeError', "object has no attribute 'get'");
    return reply.empty();
  });
  r.add('GET', '/history', (req) => getHistory(s, req));
  r.add('GET', '/history/{prompt_id}', (req) => {
    const id = req.params.prompt_id as string;
    const entry = s.queue.historyEntry(id);
    return reply.json(entry ? { [id]: entry } : {});
  });
  r.add('POST', '/history', (req) => postHistory(s, req));
  r.add('GET', '/object_info', () => objectInfo(s));
  r.add('GET', '/object_info/{node_class}', (req) => objectInfo(s, req.params.node_class));
  r.add('GET', '/system_stats', () => systemStats());
  r.add('GET', '/features', () => reply.json(serverFeatures()));
  r.add('GET', '/embeddings', () => reply.json(s.models.embeddings()));
  r.add('GET', '/extensions', () => reply.json([]));
  r.add('GET', '/models', () => reply.json(s.models.folderKeys()));
  r.add('GET', '/models/{folder}', (req) => {
    const folder = req.params.folder as string;
    return s.models.isFolder(folder) ? reply.json(s.models.list(folder)) : reply.empty(404);
  });
  r.add('GET', '/view', (req) => view(s, timers, req));
  r.add('POST', '/upload/image', (req) => upload(s, req, false));
  r.add('POST', '/upload/mask', (req) => upload(s, req, true));
  return r;
}
