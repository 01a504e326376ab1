import { Readable } from 'node:stream';
import { Agent, FormData, request, type Dispatcher } from 'undici';
import type { HistoryEntry, NodeError, ComfyErrorObject, ObjectInfo, QueueSnapshot, ImageRef } from './types.js';

/** A non-2xx answer from ComfyUI, with the status and the body text kept for classification. */
export class ComfyHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly route: string,
  ) {
    super(`ComfyUI ${route} answered ${status}${body ? `: ${body.slice(0, 300)}` : ''}`);
    this.name = 'ComfyHttpError';
  }
}

export type PostPromptResult =
  | { ok: true; promptId: string; number: number; nodeErrors: Record<string, NodeError> }
  | { ok: false; error: ComfyErrorObject; nodeErrors: Record<string, NodeError> };

export interface PostPromptInput {
  /** The API-format graph as JSON text: spliced in verbatim so seeds above 2^53 reach ComfyUI intact. */
  graphJson: string;
  promptId: string;
  clientId: string;
  extraData?: Record<string, unknown>;
}

export const HTTP_DEFAULTS = { headersTimeoutMs: 15_000, bodyTimeoutMs: 60_000, connections: 8 } as const;

/** One function per ComfyUI endpoint the daemon uses; undici with a keep-alive pool per backend. */
export class ComfyHttp {
  private readonly agent: Agent;

  constructor(readonly baseUrl: string) {
    this.agent = new Agent({
      connections: HTTP_DEFAULTS.connections,
      headersTimeout: HTTP_DEFAULTS.headersTimeoutMs,
      bodyTimeout: HTTP_DEFAULTS.bodyTimeoutMs,
    });
  }

  async postPrompt(input: PostPromptInput): Promise<PostPromptResult> {
    const extra = JSON.stringify({ ...input.extraData, client_id: input.clientId });
    const body = `{"prompt":${input.graphJson},"prompt_id":${JSON.stringify(input.promptId)},"client_id":${JSON.stringify(input.clientId)},"extra_data":${extra}}`;
    const res = await this.call('POST', '/prompt', body);
    const text = await res.body.text();
    if (res.statusCode === 400) {
      const parsed = safeJson(text) as {
        error?: ComfyErrorObject | string;
        node_errors?: Record<string, NodeError> | [];
      };
      const error =
        typeof parsed?.error === 'object'
          ? parsed.error
          : { type: 'invalid_prompt', message: String(parsed?.error ?? text), details: '' };
      return { ok: false, error, nodeErrors: Array.isArray(parsed?.node_errors) ? {} : (parsed?.node_errors ?? {}) };
    }
    if (res.statusCode !== 200) throw new ComfyHttpError(res.statusCode, text, 'POST /prompt');
    const parsed = JSON.parse(text) as {
      prompt_id?: string;
      number: number;
      node_errors?: Record<string, NodeError> | [];
    };
    return {
      ok: true,
      promptId: parsed.prompt_id ?? input.promptId,
      number: parsed.number,
      nodeErrors: Array.isArray(parsed.node_errors) ? {} : (parsed.node_errors ?? {}),
    };
  }

  async queue(): Promise<QueueSnapshot> {
    const q = await this.getJson<{ queue_running: unknown[][]; queue_pending: unknown[][] }>('/queue');
    const ids = (items: unknown[][]) => items.map((item) => String(item[1]));
    return { running: ids(q.queue_running ?? []), pending: ids(q.queue_pending ?? []) };
  }

  async deleteFromQueue(promptIds: string[]): Promise<void> {
    await this.action('/queue', { delete: promptIds });
  }

  /** Targeted interrupt (ComfyUI >= 2025-09); the caller checks /queue first because older servers interrupt globally. */
  async interrupt(promptId: string): Promise<void> {
    await this.action('/interrupt', { prompt_id: promptId });
  }

  /** The finished entry, or null while ComfyUI has none (unknown, queued, running, or history not yet written). */
  async history(promptId: string): Promise<HistoryEntry | null> {
    const all = await this.getJson<Record<string, HistoryEntry>>(`/history/${encodeURIComponent(promptId)}`);
    return all[promptId] ?? null;
  }

  async objectInfo(): Promise<ObjectInfo> {
    return this.getJson<ObjectInfo>('/object_info');
  }

  async systemStats(): Promise<{ system?: { comfyui_version?: string } }> {
    return this.getJson('/system_stats');
  }

  /** Streams an output file; the caller must consume or destroy the stream. */
  async view(ref: ImageRef): Promise<{ stream: Readable; contentType: string }> {
    const qs = new URLSearchParams({
      filename: ref.filename,
      subfolder: ref.subfolder ?? '',
      type: ref.type ?? 'output',
    });
    const res = await this.call('GET', `/view?${qs}`);
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new ComfyHttpError(res.statusCode, text, 'GET /view');
    }
    const contentType = String(res.headers['content-type'] ?? 'application/octet-stream');
    return { stream: res.body as unknown as Readable, contentType };
  }

  /** Uploads into ComfyUI's input/. Same name + same bytes is deduplicated by ComfyUI itself (protocol §2.9). */
  async uploadImage(
    file: { name: string; data: Blob },
    opts: { subfolder?: string; overwrite?: boolean } = {},
  ): Promise<ImageRef> {
    const form = new FormData();
    form.set('image', file.data, file.name);
    if (opts.subfolder) form.set('subfolder', opts.subfolder);
    if (opts.overwrite) form.set('overwrite', 'true');
    const res = await request(new URL('/upload/image', this.baseUrl), {
      method: 'POST',
      body: form,
      dispatcher: this.agent,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new ComfyHttpError(res.statusCode, text, 'POST /upload/image');
    const r = JSON.parse(text) as { name: string; subfolder: string; type: string };
    return { filename: r.name, subfolder: r.subfolder, type: r.type };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async getJson<T>(path: string): Promise<T> {
    const res = await this.call('GET', path);
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new ComfyHttpError(res.statusCode, text, `GET ${path}`);
    return JSON.parse(text) as T;
  }

  /** Action endpoints answer 200 with an empty body (protocol §1.4): never parse it. */
  private async action(path: string, payload: unknown): Promise<void> {
    const res = await this.call('POST', path, JSON.stringify(payload));
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new ComfyHttpError(res.statusCode, text, `POST ${path}`);
  }

  private call(method: 'GET' | 'POST', path: string, body?: string): Promise<Dispatcher.ResponseData> {
    return request(new URL(path, this.baseUrl), {
      method,
      body,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      dispatcher: this.agent,
    });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
