import { z } from 'zod';
import { ErrorBody, type ErrorCode } from './errors.js';
import {
  ChainView,
  type CreateJob,
  type CreatePreset,
  Job,
  type JobState,
  type ListJobsQuery,
  Preset,
} from './jobs.js';
import { type CreateTemplate, Template, TemplateGraph } from './templates.js';
import { Batch, type CreateBatch, type ListBatchesQuery } from './batches.js';
import { type CreateWebhook, Webhook, WebhookDelivery } from './webhooks.js';
import { type ListWatchFilesQuery, WatchFile, type WatchRuleInput, WatchRuleView } from './watch.js';
import { LoginCode, SessionInfo, type SignIn } from './session.js';
import {
  Asset,
  Backend,
  type AddBackend,
  CreatedToken,
  type CreateToken,
  ListBatchesResponse,
  ListJobsResponse,
  PairStarted,
  PairStatus,
  Stats,
  StreamEvent,
  Token,
  PendingPairing,
  GcReport,
  RetentionSettings,
} from './api.js';

/** An error answer from the daemon (or a transport failure, code `unavailable`). */
export class GatewayClientError extends Error {
  constructor(
    readonly code: ErrorCode | 'unavailable' | 'bad_response',
    message: string,
    readonly status: number,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'GatewayClientError';
  }
}

export const isGatewayClientError = (e: unknown): e is GatewayClientError => e instanceof GatewayClientError;

export interface GatewayClientOptions {
  baseUrl: string;
  token?: string;
  /** Injected so the client runs in Node, a browser iframe and VS Code alike. */
  fetch?: typeof fetch;
}

export const RESUME_DEFAULTS = { initialMs: 250, maxMs: 10_000 } as const;

type Query = Record<string, string | number | undefined>;

/** Typed calls to a comfygate daemon. Every response is checked against the shared schema. */
export class GatewayClient {
  private readonly fetchImpl: typeof fetch;
  readonly baseUrl: string;

  constructor(private readonly opts: GatewayClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  createJob(input: CreateJob, o: { idempotencyKey?: string } = {}): Promise<Job> {
    const headers: Record<string, string> = o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {};
    return this.json(Job, 'POST', '/v1/jobs', { body: input, headers });
  }
  getJob(id: string): Promise<Job> {
    return this.json(Job, 'GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }
  listJobs(q: ListJobsQuery = {}): Promise<ListJobsResponse> {
    return this.json(ListJobsResponse, 'GET', '/v1/jobs', { query: q as Query });
  }
  cancelJob(id: string): Promise<Job> {
    return this.json(Job, 'POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }
  retryJob(id: string): Promise<Job> {
    return this.json(Job, 'POST', `/v1/jobs/${encodeURIComponent(id)}/retry`);
  }
  setPriority(id: string, priority: number): Promise<Job> {
    return this.json(Job, 'POST', `/v1/jobs/${encodeURIComponent(id)}/priority`, { body: { priority } });
  }
  async deleteJob(id: string): Promise<void> {
    await this.request('DELETE', `/v1/jobs/${encodeURIComponent(id)}`);
  }
  /** The output file; the caller reads the body (bytes, stream, blob). */
  output(id: string): Promise<Response> {
    return this.request('GET', `/v1/outputs/${encodeURIComponent(id)}`);
  }
  uploadAsset(data: Uint8Array | Blob, contentType = 'application/octet-stream'): Promise<Asset> {
    return this.json(Asset, 'POST', '/v1/assets', { raw: data, headers: { 'content-type': contentType } });
  }
  /** Whether the daemon already holds these bytes (by sha256), so a client can skip uploading them again. */
  async hasAsset(sha256: string): Promise<boolean> {
    try {
      await this.request('HEAD', `/v1/assets/${encodeURIComponent(sha256)}`);
      return true;
    } catch (err) {
      if (isGatewayClientError(err) && err.status === 404) return false;
      throw err;
    }
  }
  backends(): Promise<Backend[]> {
    return this.json(z.array(Backend), 'GET', '/v1/backends');
  }
  addBackend(b: AddBackend): Promise<Backend> {
    return this.json(Backend, 'POST', '/v1/backends', { body: b });
  }
  async removeBackend(name: string): Promise<void> {
    await this.request('DELETE', `/v1/backends/${encodeURIComponent(name)}`);
  }
  drainBackend(name: string, draining = true): Promise<Backend> {
    return this.json(Backend, 'POST', `/v1/backends/${encodeURIComponent(name)}/drain`, { body: { draining } });
  }
  stats(): Promise<Stats> {
    return this.json(Stats, 'GET', '/v1/stats');
  }
  createBatch(input: CreateBatch): Promise<Batch> {
    return this.json(Batch, 'POST', '/v1/batches', { body: input });
  }
  /** The caller's batches (every owner's for an admin or see-all token), newest first, without their job ids. */
  listBatches(q: ListBatchesQuery = {}): Promise<ListBatchesResponse> {
    return this.json(ListBatchesResponse, 'GET', '/v1/batches', { query: q as Query });
  }
  getBatch(id: string): Promise<Batch> {
    return this.json(Batch, 'GET', `/v1/batches/${encodeURIComponent(id)}`);
  }
  cancelBatch(id: string): Promise<Batch> {
    return this.json(Batch, 'POST', `/v1/batches/${encodeURIComponent(id)}/cancel`);
  }
  /** The batch's outputs as a zip (streamed): read the body as a stream or blob. */
  batchArchive(id: string): Promise<Response> {
    return this.request('GET', `/v1/batches/${encodeURIComponent(id)}/archive`);
  }
  createWebhook(input: CreateWebhook): Promise<Webhook> {
    return this.json(Webhook, 'POST', '/v1/webhooks', { body: input });
  }
  webhooks(): Promise<Webhook[]> {
    return this.json(z.array(Webhook), 'GET', '/v1/webhooks');
  }
  webhookDeliveries(id: string): Promise<WebhookDelivery[]> {
    return this.json(z.array(WebhookDelivery), 'GET', `/v1/webhooks/${encodeURIComponent(id)}/deliveries`);
  }
  async deleteWebhook(id: string): Promise<void> {
    await this.request('DELETE', `/v1/webhooks/${encodeURIComponent(id)}`);
  }
  templates(): Promise<Template[]> {
    return this.json(z.array(Template), 'GET', '/v1/templates');
  }
  template(idOrName: string): Promise<Template> {
    return this.json(Template, 'GET', `/v1/templates/${encodeURIComponent(idOrName)}`);
  }
  /** The API graph a template runs, its parameter bindings and the warnings from its conversion. */
  templateGraph(idOrName: string): Promise<TemplateGraph> {
    return this.json(TemplateGraph, 'GET', `/v1/templates/${encodeURIComponent(idOrName)}/graph`);
  }
  templateSchema(idOrName: string): Promise<Record<string, unknown>> {
    return this.json(z.record(z.string(), z.unknown()), 'GET', `/v1/templates/${encodeURIComponent(idOrName)}/schema`);
  }
  importTemplate(input: CreateTemplate): Promise<Template> {
    return this.json(Template, 'POST', '/v1/templates', { body: input });
  }
  async deleteTemplate(idOrName: string): Promise<void> {
    await this.request('DELETE', `/v1/templates/${encodeURIComponent(idOrName)}`);
  }
  presets(): Promise<Preset[]> {
    return this.json(z.array(Preset), 'GET', '/v1/presets');
  }
  putPreset(input: CreatePreset): Promise<Preset> {
    return this.json(Preset, 'POST', '/v1/presets', { body: input });
  }
  chain(jobId: string): Promise<ChainView> {
    return this.json(ChainView, 'GET', `/v1/jobs/${encodeURIComponent(jobId)}/chain`);
  }
  watchRules(): Promise<WatchRuleView[]> {
    return this.json(z.array(WatchRuleView), 'GET', '/v1/watch');
  }
  addWatchRule(rule: WatchRuleInput): Promise<WatchRuleView> {
    return this.json(WatchRuleView, 'POST', '/v1/watch', { body: rule });
  }
  async removeWatchRule(id: string): Promise<void> {
    await this.request('DELETE', `/v1/watch/${encodeURIComponent(id)}`);
  }
  watchFiles(id: string, q: ListWatchFilesQuery = {}): Promise<WatchFile[]> {
    return this.json(z.array(WatchFile), 'GET', `/v1/watch/${encodeURIComponent(id)}/files`, { query: q as Query });
  }
  retention(): Promise<RetentionSettings> {
    return this.json(RetentionSettings, 'GET', '/v1/retention');
  }
  gc(dryRun = false): Promise<GcReport> {
    return this.json(GcReport, 'POST', '/v1/gc', { query: { dryRun: dryRun ? 'true' : undefined } });
  }
  tokens(): Promise<Token[]> {
    return this.json(z.array(Token), 'GET', '/v1/tokens');
  }
  createToken(t: CreateToken): Promise<CreatedToken> {
    return this.json(CreatedToken, 'POST', '/v1/tokens', { body: t });
  }
  async revokeToken(id: string): Promise<void> {
    await this.request('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
  }
  startPairing(name: string): Promise<PairStarted> {
    return this.json(PairStarted, 'POST', '/v1/pair', { body: { name } });
  }
  pairingStatus(pairingId: string): Promise<PairStatus> {
    return this.json(PairStatus, 'GET', `/v1/pair/${encodeURIComponent(pairingId)}`);
  }
  pendingPairings(): Promise<z.infer<typeof PendingPairing>[]> {
    return this.json(z.array(PendingPairing), 'GET', '/v1/pair');
  }
  async confirmPairing(code: string): Promise<void> {
    await this.request('POST', '/v1/pair/confirm', { body: { code } });
  }
  async denyPairing(code: string): Promise<void> {
    await this.request('POST', '/v1/pair/deny', { body: { code } });
  }
  /** Dashboard sign-in (same-origin pages only): a one-time code or a token, for an HttpOnly session cookie. */
  signIn(input: SignIn): Promise<SessionInfo> {
    return this.json(SessionInfo, 'POST', '/v1/session', { body: input });
  }
  session(): Promise<SessionInfo> {
    return this.json(SessionInfo, 'GET', '/v1/session');
  }
  async signOut(): Promise<void> {
    await this.request('DELETE', '/v1/session');
  }
  /** A one-time dashboard sign-in link for this client's token. */
  loginCode(): Promise<LoginCode> {
    return this.json(LoginCode, 'POST', '/v1/session/codes');
  }

  /** Polls nothing: follows the event stream until the job is terminal, resuming the stream if it drops. */
  async waitForJob(id: string, o: { signal?: AbortSignal; onEvent?: (e: StreamEvent) => void } = {}): Promise<Job> {
    const terminal: JobState[] = ['succeeded', 'failed', 'canceled'];
    const first = await this.getJob(id);
    if (terminal.includes(first.state)) return first;
    const inner = new AbortController();
    const abort = () => inner.abort();
    o.signal?.addEventListener('abort', abort);
    let settled: Job | null = null;
    // The job may have finished between the first read and the stream opening: look again once it is open.
    const onOpen = async () => {
      const j = await this.getJob(id);
      if (terminal.includes(j.state)) ((settled = j), inner.abort());
    };
    try {
      for await (const e of this.events({ job: id, signal: inner.signal, onOpen })) {
        o.onEvent?.(e);
        if (e.type === 'job:succeeded' || e.type === 'job:failed' || e.type === 'job:canceled') return this.getJob(id);
      }
      if (settled) return settled;
      throw new GatewayClientError('unavailable', 'event stream ended', 0);
    } finally {
      o.signal?.removeEventListener('abort', abort);
      inner.abort();
    }
  }

  /**
   * Server-sent events from `/v1/events`, as an async iterator. A dropped stream is reopened with
   * `Last-Event-ID`, so no durable event is missed; progress events are live only.
   */
  async *events(
    o: { job?: string; since?: number; signal?: AbortSignal; onOpen?: () => Promise<void> } = {},
  ): AsyncGenerator<StreamEvent> {
    let lastId = o.since;
    let delay: number = RESUME_DEFAULTS.initialMs;
    while (!o.signal?.aborted) {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (lastId !== undefined) headers['last-event-id'] = String(lastId);
        const res = await this.request('GET', '/v1/events', { query: { job: o.job }, headers, signal: o.signal });
        delay = RESUME_DEFAULTS.initialMs;
        void o.onOpen?.().catch(() => {});
        for await (const msg of parseSse(res.body!)) {
          if (msg.id !== undefined) lastId = Number(msg.id);
          const parsed = StreamEvent.safeParse(JSON.parse(msg.data));
          if (parsed.success) yield parsed.data;
        }
      } catch (err) {
        if (o.signal?.aborted) return;
        if (isGatewayClientError(err) && err.code !== 'unavailable') throw err;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(RESUME_DEFAULTS.maxMs, delay * 2);
    }
  }

  async request(
    method: string,
    path: string,
    o: {
      body?: unknown;
      raw?: Uint8Array | Blob;
      query?: Query;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...o.headers };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    let body: RequestInit['body'];
    if (o.body !== undefined) ((headers['content-type'] = 'application/json'), (body = JSON.stringify(o.body)));
    else if (o.raw !== undefined) body = o.raw as RequestInit['body'];
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, body, signal: o.signal });
    } catch (err) {
      if (o.signal?.aborted) throw err;
      throw new GatewayClientError(
        'unavailable',
        `cannot reach comfygate at ${this.baseUrl}: ${(err as Error).message}`,
        0,
      );
    }
    if (!res.ok) throw await toClientError(res);
    return res;
  }

  private async json<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    o: Parameters<GatewayClient['request']>[2] = {},
  ): Promise<z.output<S>> {
    const res = await this.request(method, path, o);
    const parsed = schema.safeParse(await res.json());
    if (!parsed.success)
      throw new GatewayClientError(
        'bad_response',
        `unexpected response from ${method} ${path}: ${parsed.error.message}`,
        res.status,
      );
    return parsed.data;
  }
}

async function toClientError(res: Response): Promise<GatewayClientError> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  const parsed = ErrorBody.safeParse(body);
  if (parsed.success)
    return new GatewayClientError(parsed.data.error.code, parsed.data.error.message, res.status, body);
  return new GatewayClientError(
    res.status >= 500 ? 'unavailable' : 'bad_request',
    `HTTP ${res.status}: ${text.slice(0, 200)}`,
    res.status,
    body,
  );
}

/** Minimal text/event-stream parser (id, event, data; comments and retry ignored). */
export async function* parseSse(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<{ id?: string; event?: string; data: string }> {
  const decoder = new TextDecoder();
  let buf = '';
  let msg: { id?: string; event?: string; data: string[] } = { data: [] };
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (line === '') {
          if (msg.data.length) yield { id: msg.id, event: msg.event, data: msg.data.join('\n') };
          msg = { data: [] };
        } else if (!line.startsWith(':')) {
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (field === 'data') msg.data.push(value);
          else if (field === 'id') msg.id = value;
          else if (field === 'event') msg.event = value;
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}
