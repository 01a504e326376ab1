// The fake against transcripts of a real ComfyUI 0.3.64: the same graphs and requests are replayed on the
// fake, and the WebSocket message types (in order), the fields of each message and of each HTTP answer, the
// status codes and content types must match. Timings, ids, numbers and file names are not compared.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/process.js';
import { fake, until, WsClient, type WsJson } from './helpers.js';

/** The team's reference folder sits next to the repository (or next to a worktree's parent): looked up, never required. */
function transcriptDir(): string | null {
  let dir = repoRoot;
  for (let i = 0; i < 3; i++) {
    const candidate = path.join(path.dirname(dir), 'shared', 'real-comfyui');
    if (fs.existsSync(path.join(candidate, 'direct-1-generate.json'))) return candidate;
    dir = path.dirname(dir);
  }
  return null;
}

interface Exchange {
  t: number;
  method: string;
  path: string;
  request: unknown;
  status: number;
  content_type: string;
  body: unknown;
}
interface Transcript {
  http: Exchange[];
  ws: { t: number; msg: WsJson }[];
}

const dir = transcriptDir();
const load = (name: string): Transcript => JSON.parse(fs.readFileSync(path.join(dir!, name), 'utf8')) as Transcript;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A value's shape: keys (prompt ids as `<id>`) all the way down, scalars by kind; list items are not compared. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return 'list';
  if (v === null) return 'null';
  if (typeof v === 'object')
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [UUID.test(k) ? '<id>' : k, shape(x)]));
  return typeof v;
}

/** The part of a message that identifies its form: data keys, and the keys of each node in `progress_state`. */
function form(m: WsJson): string {
  const keys = Object.keys(m.data);
  if (m.type === 'progress_state') {
    const nodes = Object.values(m.data.nodes as Record<string, object>).map((n) => Object.keys(n).join(','));
    return `${m.type}(${keys.join(',')}; ${[...new Set(nodes)].join('|')})`;
  }
  if (m.type === 'executed')
    return `${m.type}(${keys.join(',')}; output ${Object.keys(m.data.output as object).join(',')})`;
  return `${m.type}(${keys.join(',')})`;
}

/**
 * A prompt's messages, ids and order of nodes set aside: what comes before the first node and after the last
 * (as is), and each node's own run of messages (progress_state… executing… executed… progress_state) as a
 * sorted list, because ComfyUI's pick of the next ready node is not something the fake has to copy.
 */
function outline(msgs: WsJson[]): { head: string[]; nodes: string[]; tail: string[] } {
  const firstNode = msgs.findIndex(
    (m) => m.type === 'progress_state' || m.type === 'executed' || (m.type === 'executing' && m.data.node !== null),
  );
  const end = msgs.findIndex((m) => ['execution_success', 'execution_error', 'execution_interrupted'].includes(m.type));
  const head = msgs.slice(0, firstNode).map(form);
  const tail = msgs.slice(end).map(form);
  const nodes: string[] = [];
  let run: WsJson[] = [];
  const close = () => run.length > 0 && nodes.push(run.map(form).join(' '));
  for (const m of msgs.slice(firstNode, end)) {
    // A node's run ends with the progress_state that reports it finished, after its executing or executed.
    run.push(m);
    if (m.type === 'progress_state' && run.some((x) => x.type === 'executing' || x.type === 'executed'))
      (close(), (run = []));
  }
  close();
  return { head, nodes: nodes.sort(), tail };
}

/** The real transcript's messages from the first status after `from` (s) up to the prompt's `executing null`. */
function realPrompt(t: Transcript, promptId: string, from: number): WsJson[] {
  const msgs = t.ws.filter((w) => w.t >= from).map((w) => w.msg);
  const end = msgs.findIndex((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId);
  return msgs.slice(0, end + 1);
}

/** The fake's messages from `start` (an index into the client's messages) to the prompt's `executing null`. */
function fakePrompt(ws: WsClient, promptId: string, start: number): WsJson[] {
  const msgs = ws.json.slice(start);
  const end = msgs.findIndex((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId);
  return msgs.slice(0, end + 1);
}

/** For a graph that is one chain (one order only), the exact sequence of message types is compared too. */
const types = (msgs: WsJson[]) => msgs.map((m) => m.type);

const mediaType = (ct: string | null) => (ct ?? '').split(';')[0]!.trim();

async function replay(base: string, ex: Exchange, clientId: string, rewrite: (s: string) => string = (s) => s) {
  const init: RequestInit = { method: ex.method };
  if (ex.method === 'POST') {
    init.headers = { 'Content-Type': 'application/json' };
    init.body =
      typeof ex.request === 'string'
        ? 'not json'
        : rewrite(JSON.stringify({ ...(ex.request as object), client_id: clientId }));
  }
  const res = await fetch(`${base}${rewrite(ex.path)}`, init);
  const text = await res.text();
  let body: unknown = text === '' ? null : text;
  if (mediaType(res.headers.get('content-type')) === 'application/json') body = JSON.parse(text);
  return { status: res.status, contentType: mediaType(res.headers.get('content-type')), body };
}

const expectSameAnswer = (got: Awaited<ReturnType<typeof replay>>, real: Exchange, what: string) => {
  expect({ what, status: got.status, type: got.contentType }).toEqual({
    what,
    status: real.status,
    type: mediaType(real.content_type),
  });
  if (typeof real.body === 'string' && real.body.startsWith('<')) return; // a binary or elided body: size only in the transcript
  expect({ what, body: shape(got.body) }).toEqual({ what, body: shape(real.body) });
};

const posts = (t: Transcript) => t.http.filter((h) => h.method === 'POST' && h.path === '/prompt');
const idOf = (h: Exchange) => (h.body as { prompt_id: string }).prompt_id;

describe.skipIf(!dir)('the fake matches a real ComfyUI 0.3.64 (transcripts)', () => {
  if (!dir) it.skip('no ../shared/real-comfyui next to the repository: nothing to compare with', () => {});

  it('generate: the same messages, fields and answers for an image-only graph with two output nodes', async () => {
    const t = load('direct-1-generate.json');
    const f = await fake();
    const ws = await WsClient.connect(f.url, { clientId: 'probe' });
    expect(form(ws.json[0]!)).toBe(form(t.ws[0]!.msg)); // the initial status with its sid
    const [post] = posts(t);
    const start = ws.json.length;
    const got = await replay(f.url, post!, ws.sid);
    expectSameAnswer(got, post!, 'POST /prompt');
    const id = (got.body as { prompt_id: string }).prompt_id;
    await ws.waitDone(id);
    expect(outline(fakePrompt(ws, id, start))).toEqual(outline(realPrompt(t, idOf(post!), post!.t - 0.005)));
    for (const h of t.http.filter(
      (x) => x.method === 'GET' && /^\/(history|queue|object_info\/|system_stats|view)/.test(x.path),
    )) {
      expectSameAnswer(await replay(f.url, h, ws.sid, (s) => s.replaceAll(idOf(post!), id)), h, `GET ${h.path}`);
    }
  });

  it('upload + LoadImage, then the same graph again served from the cache', async () => {
    const t = load('direct-2-upload-loadimage.json');
    const f = await fake();
    const ws = await WsClient.connect(f.url, { clientId: 'probe' });
    const form = new FormData();
    form.append(
      'image',
      new Blob([fs.readFileSync(path.join(dir!, 'direct-generated.png'))], { type: 'image/png' }),
      'probe_upload.png',
    );
    const up = await fetch(`${f.url}/upload/image`, { method: 'POST', body: form });
    const upload = t.http.find((h) => h.path === '/upload/image')!;
    expectSameAnswer(
      { status: up.status, contentType: mediaType(up.headers.get('content-type')), body: await up.json() },
      upload,
      'upload',
    );
    for (const post of posts(t)) {
      const start = ws.json.length;
      const got = await replay(f.url, post, ws.sid);
      expectSameAnswer(got, post, 'POST /prompt');
      const id = (got.body as { prompt_id: string }).prompt_id;
      await ws.waitDone(id);
      expect(outline(fakePrompt(ws, id, start))).toEqual(outline(realPrompt(t, idOf(post), post.t - 0.005)));
      expect(types(fakePrompt(ws, id, start))).toEqual(types(realPrompt(t, idOf(post), post.t - 0.005)));
      const history = t.http.find((h) => h.path === `/history/${idOf(post)}`)!;
      expectSameAnswer(await replay(f.url, history, ws.sid, (s) => s.replaceAll(idOf(post), id)), history, 'history');
    }
  });

  it('errors: each validation answer, the plain-text 500 for a body that is not JSON, and a runtime error', async () => {
    const t = load('direct-3-errors.json');
    const f = await fake();
    const ws = await WsClient.connect(f.url, { clientId: 'probe' });
    for (const post of posts(t)) {
      const start = ws.json.length;
      const got = await replay(f.url, post, ws.sid);
      expectSameAnswer(got, post, `POST /prompt ${JSON.stringify(post.request).slice(0, 80)}`);
      if (post.status !== 200) continue;
      const id = (got.body as { prompt_id: string }).prompt_id;
      await ws.waitDone(id);
      expect(outline(fakePrompt(ws, id, start))).toEqual(outline(realPrompt(t, idOf(post), post.t - 0.005)));
      expect(types(fakePrompt(ws, id, start))).toEqual(types(realPrompt(t, idOf(post), post.t - 0.005)));
    }
  });

  it('interrupt while running, delete while queued: empty 200s, {} history, and the cached re-run', async () => {
    const t = load('direct-4-interrupt-delete.json');
    const f = await fake({ nodeMs: 150 });
    const ws = await WsClient.connect(f.url, { clientId: 'probe' });
    const [first, second, third] = posts(t);
    const a = await replay(f.url, first!, ws.sid);
    const b = await replay(f.url, second!, ws.sid);
    const ids = new Map([
      [idOf(first!), (a.body as { prompt_id: string }).prompt_id],
      [idOf(second!), (b.body as { prompt_id: string }).prompt_id],
    ]);
    const rewrite = (s: string) => [...ids].reduce((x, [real, mine]) => x.replaceAll(real, mine), s);
    await ws.waitFor((m) => m.type === 'executing' && m.data.node === '2', 'the first prompt running');
    // The delete and the interrupt (the GETs between them are timing: those made once idle are compared below).
    for (const h of t.http.filter((x) => x.method === 'POST' && x.t < third!.t && x.t > second!.t)) {
      expectSameAnswer(await replay(f.url, h, ws.sid, rewrite), h, `${h.method} ${h.path}`);
    }
    const firstStart = ws.json.findIndex(
      (m) => m.type === 'execution_start' && m.data.prompt_id === ids.get(idOf(first!)),
    );
    await ws.waitDone(ids.get(idOf(first!))!);
    // Statuses land wherever the delete and the interrupt fell in time: the rest is one sequence.
    const noStatus = (msgs: WsJson[]) => types(msgs).filter((x) => x !== 'status');
    const realFirst = realPrompt(t, idOf(first!), first!.t - 0.005);
    const realFromStart = realFirst.slice(realFirst.findIndex((m) => m.type === 'execution_start'));
    expect(noStatus(fakePrompt(ws, ids.get(idOf(first!))!, firstStart))).toEqual(noStatus(realFromStart));
    const interrupted = (msgs: WsJson[]) => msgs.filter((m) => m.type === 'execution_interrupted').map(form);
    expect(interrupted(ws.json)).toEqual(interrupted(t.ws.map((w) => w.msg)));
    for (const h of t.http.filter((x) => x.t > third!.t - 0.01 && x.t < third!.t && x.method === 'GET')) {
      expectSameAnswer(await replay(f.url, h, ws.sid, rewrite), h, `GET ${h.path}`);
    }
    const start = ws.json.length;
    const c = await replay(f.url, third!, ws.sid);
    const id = (c.body as { prompt_id: string }).prompt_id;
    const ended = () =>
      ws.json.slice(start).some((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === id);
    await until(ended, 'third prompt', 20_000);
    expect(outline(fakePrompt(ws, id, start))).toEqual(outline(realPrompt(t, idOf(third!), third!.t - 0.005)));
    expect(types(fakePrompt(ws, id, start))).toEqual(types(realPrompt(t, idOf(third!), third!.t - 0.005)));
  });
});
