// ComfyUI's protocol as a typical client speaks it: one /ws?clientId= socket, POST /prompt with that
// client_id, `executing {node: null}` as the finish signal, then /history/{id} and /view for the outputs.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import WebSocket from 'ws';

interface WsMessage {
  type: string;
  data?: { node?: unknown; prompt_id?: unknown };
}

interface FileRef {
  filename: string;
  subfolder?: string;
  type?: string;
}

export class ComfyClient {
  private readonly waiters = new Map<string, () => void>();
  /** Finish signals that arrived before anyone waited for them (a fast prompt can beat its POST reply). */
  private readonly early = new Set<string>();
  /** The same HTTP stack and pool size as the daemon's backend client, so only the work done differs. */
  private readonly agent = new Agent({ connections: 8 });

  private constructor(
    readonly url: string,
    readonly clientId: string,
    private readonly ws: WebSocket,
  ) {
    ws.on('message', (raw, isBinary) => {
      if (!isBinary) this.onMessage(JSON.parse(String(raw)) as WsMessage);
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string): Promise<ComfyClient> {
    const id = randomUUID().replaceAll('-', '');
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?clientId=${id}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new ComfyClient(url, id, ws);
  }

  private onMessage(m: WsMessage): void {
    if (m.type !== 'executing' || m.data?.node !== null || typeof m.data.prompt_id !== 'string') return;
    const id = m.data.prompt_id;
    const waiter = this.waiters.get(id);
    if (!waiter) return void this.early.add(id);
    this.waiters.delete(id);
    waiter();
  }

  /** POST /prompt; returns the prompt_id ComfyUI assigned. */
  async post(graph: object): Promise<string> {
    const res = await request(`${this.url}/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: graph, client_id: this.clientId }),
      dispatcher: this.agent,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`POST /prompt answered ${res.statusCode}: ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { prompt_id: string }).prompt_id;
  }

  /** Resolves on `executing {node: null, prompt_id}` for this prompt. */
  finished(promptId: string): Promise<void> {
    if (this.early.delete(promptId)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(promptId, resolve));
  }

  /** GET /history/{id}, then every output file through /view (read whole, then dropped). Returns bytes. */
  async download(promptId: string): Promise<number> {
    const res = await request(`${this.url}/history/${promptId}`, { dispatcher: this.agent });
    const all = (await res.body.json()) as Record<string, { outputs?: Record<string, Record<string, unknown>> }>;
    let bytes = 0;
    for (const ref of fileRefs(all[promptId]?.outputs ?? {})) {
      const qs = new URLSearchParams({
        filename: ref.filename,
        subfolder: ref.subfolder ?? '',
        type: ref.type ?? 'output',
      });
      const view = await request(`${this.url}/view?${qs}`, { dispatcher: this.agent });
      if (view.statusCode !== 200) throw new Error(`GET /view answered ${view.statusCode}`);
      bytes += (await view.body.arrayBuffer()).byteLength;
    }
    if (bytes === 0) throw new Error(`prompt ${promptId} produced no output file`);
    return bytes;
  }

  async close(): Promise<void> {
    this.ws.terminate();
    await this.agent.close();
  }
}

function fileRefs(outputs: Record<string, Record<string, unknown>>): FileRef[] {
  const refs: FileRef[] = [];
  for (const ui of Object.values(outputs)) {
    for (const list of Object.values(ui)) {
      if (!Array.isArray(list)) continue;
      for (const item of list) if (item && typeof (item as FileRef).filename === 'string') refs.push(item as FileRef);
    }
  }
  return refs;
}
