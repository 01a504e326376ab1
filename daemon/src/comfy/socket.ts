import WebSocket from 'ws';

export const RECONNECT_DEFAULTS = { initialMs: 250, maxMs: 5_000, factor: 2 } as const;
export const KEEPALIVE_DEFAULTS = { pingEveryMs: 15_000, pongTimeoutMs: 10_000 } as const;

export type SocketMessage =
  | { kind: 'json'; type: string; data: Record<string, unknown> }
  | { kind: 'preview'; image: Buffer; mime: string; promptId: string | null };

export interface SocketHandlers {
  onOpen(): void;
  onClose(): void;
  onMessage(msg: SocketMessage): void;
  /** Whether JSON messages of this type are worth parsing; the others are dropped unread when possible. */
  wants(type: string): boolean;
}

/**
 * ComfyUI's `/ws?clientId=` with reconnect and backoff. It reconnects with the same client id (prompts are
 * routed by it) but only after the old socket has fully closed, which avoids ComfyUI's reconnect race
 * (protocol §3.1). Messages sent while disconnected are lost; the engine confirms through /history.
 */
export class ComfySocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private closed = false;
  connected = false;

  constructor(
    private readonly baseUrl: string,
    readonly clientId: string,
    private readonly handlers: SocketHandlers,
  ) {}

  start(): void {
    if (this.closed || this.ws) return;
    const url = new URL(`/ws?clientId=${encodeURIComponent(this.clientId)}`, this.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, { handshakeTimeout: 5_000 });
    this.ws = ws;
    ws.on('open', () => {
      this.attempt = 0;
      this.connected = true;
      ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
      this.keepAlive(ws);
      this.handlers.onOpen();
    });
    ws.on('message', (raw, isBinary) => this.dispatch(raw as Buffer, isBinary));
    ws.on('error', () => {
      /* 'close' follows and drives the reconnect */
    });
    ws.on('close', () => {
      const wasConnected = this.connected;
      this.connected = false;
      this.ws = null;
      if (this.pingTimer) clearInterval(this.pingTimer);
      if (wasConnected) this.handlers.onClose();
      this.scheduleReconnect();
    });
  }

  /** Drop the current connection now and reconnect (used when a backend comes back). */
  kick(): void {
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.attempt = 0;
      this.start();
    }
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.ws?.terminate();
    this.ws = null;
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const base = Math.min(
      RECONNECT_DEFAULTS.maxMs,
      RECONNECT_DEFAULTS.initialMs * RECONNECT_DEFAULTS.factor ** this.attempt,
    );
    this.attempt++;
    const delay = base / 2 + Math.random() * (base / 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.start();
    }, delay);
  }

  private keepAlive(ws: WebSocket): void {
    let alive = true;
    ws.on('pong', () => (alive = true));
    this.pingTimer = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, KEEPALIVE_DEFAULTS.pingEveryMs);
    this.pingTimer.unref();
  }

  private dispatch(raw: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      // Most messages (status, progress_state, executed, monitors of custom nodes…) are not acted on, and some
      // are big: read the type from the first bytes and skip the parse. Unclear text is parsed whole.
      const type = leadingType(raw.toString('utf8', 0, TYPE_PREFIX_BYTES));
      if (type !== null && !this.handlers.wants(type)) return;
      let parsed: { type?: unknown; data?: unknown };
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        return;
      }
      if (typeof parsed.type === 'string') {
        this.handlers.onMessage({
          kind: 'json',
          type: parsed.type,
          data: (parsed.data ?? {}) as Record<string, unknown>,
        });
      }
      return;
    }
    const preview = parsePreviewFrame(raw);
    if (preview) this.handlers.onMessage({ kind: 'preview', ...preview });
  }
}

/** Enough bytes to hold `{"type": "<any type ComfyUI sends>"`; a longer type is simply parsed whole. */
const TYPE_PREFIX_BYTES = 96;
const LEADING_TYPE = /^\s*\{\s*"type"\s*:\s*"([^"\\]*)"/;

/**
 * The `type` of a JSON message read from its start (ComfyUI writes `{"type": …, "data": …}`, type first),
 * or null when the text does not start that way or the type holds an escape: then the caller parses it whole.
 */
export function leadingType(text: string): string | null {
  return LEADING_TYPE.exec(text)?.[1] ?? null;
}

/** Binary frames (protocol §3.6): type 1 = format + image, type 4 = length-prefixed metadata JSON + image. */
export function parsePreviewFrame(buf: Buffer): { image: Buffer; mime: string; promptId: string | null } | null {
  if (buf.length < 8) return null;
  const type = buf.readUInt32BE(0);
  if (type === 1) {
    const format = buf.readUInt32BE(4);
    return { image: buf.subarray(8), mime: format === 2 ? 'image/png' : 'image/jpeg', promptId: null };
  }
  if (type === 4) {
    const len = buf.readUInt32BE(4);
    if (buf.length < 8 + len) return null;
    try {
      const meta = JSON.parse(buf.subarray(8, 8 + len).toString('utf8')) as { prompt_id?: string; image_type?: string };
      return { image: buf.subarray(8 + len), mime: meta.image_type ?? 'image/jpeg', promptId: meta.prompt_id ?? null };
    } catch {
      return null;
    }
  }
  return null; // type 3 text frames and unknown types are not ours to act on
}
