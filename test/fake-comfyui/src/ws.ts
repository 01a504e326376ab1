// The /ws socket table (§3.1-§3.4): one socket per client id, the initial status with sid, the
// feature-flag handshake, targeted vs broadcast sends, and ComfyUI's reconnect quirk.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { PyFloat, dumpJson, isDict, parseJson, type PyDict, type PyValue } from './pyjson.js';

export const MAX_UPLOAD_SIZE = 104857600;

export function serverFeatures(): PyDict {
  return { supports_preview_metadata: true, max_upload_size: new PyFloat(MAX_UPLOAD_SIZE) };
}

export interface HubHooks {
  /** {"exec_info": {"queue_remaining": N}} */
  queueInfo(): PyDict;
  /** Display node currently running for a prompt owned by this sid (the reconnect `executing`). */
  runningNodeFor(sid: string): string | null;
}

export class SocketHub {
  /** sid -> socket, as ComfyUI's self.sockets (the newest registration for an id wins). */
  private readonly sockets = new Map<string, WebSocket>();
  private readonly flags = new Map<string, PyDict>();
  /** Every open socket, registered or not, so down()/crash()/close() can kill them all. */
  private readonly open = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_UPLOAD_SIZE });

  constructor(private readonly hooks: HubHooks) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    let sid = query.get('clientId') ?? '';
    if (sid)
      this.sockets.delete(sid); // dropped from the table, not closed
    else sid = randomUUID().replaceAll('-', '');
    this.sockets.set(sid, ws);
    this.flags.set(sid, {});
    this.open.add(ws);
    ws.on('error', () => undefined); // a reset peer must not crash the server
    ws.on('close', () => {
      this.open.delete(ws);
      // ComfyUI pops the table entry for the id, even if a newer socket now owns it (§3.1 reconnect race).
      this.sockets.delete(sid);
      this.flags.delete(sid);
    });
    this.sendTo(ws, 'status', { status: this.hooks.queueInfo(), sid });
    const node = this.hooks.runningNodeFor(sid);
    if (node !== null) this.sendTo(ws, 'executing', { node });
    let first = true;
    ws.on('message', (data, isBinary) => {
      if (isBinary || !first) return;
      let msg: PyValue;
      try {
        msg = parseJson(data.toString());
      } catch {
        return; // invalid JSON does not close negotiation
      }
      if (!isDict(msg)) return; // data.get() raising is caught before first_message is cleared
      if (msg.type === 'feature_flags') {
        const clientFlags = msg.data;
        this.flags.set(sid, isDict(clientFlags) ? clientFlags : {});
        this.sendTo(ws, 'feature_flags', serverFeatures());
      }
      first = false;
    });
  }

  private sendTo(ws: WebSocket, type: string, data: PyValue): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(dumpJson({ type, data }));
  }

  /** send_sync(type, data, sid): null broadcasts, an unknown sid drops the message. */
  send(type: string, data: PyValue, sid: string | null): void {
    if (sid === null) {
      for (const ws of this.sockets.values()) this.sendTo(ws, type, data);
      return;
    }
    const ws = this.sockets.get(sid);
    if (ws) this.sendTo(ws, type, data);
  }

  sendBinary(frame: Buffer, sid: string | null): void {
    const targets = sid === null ? [...this.sockets.values()] : [this.sockets.get(sid)];
    for (const ws of targets) if (ws && ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: true });
  }

  /** feature_flags.supports_feature(sockets_metadata, sid, 'supports_preview_metadata') */
  supportsPreviewMetadata(sid: string | null): boolean {
    return sid !== null && this.flags.get(sid)?.supports_preview_metadata === true;
  }

  connectedCount(): number {
    return this.open.size;
  }

  /** Server-side drop of every WebSocket connection (no close handshake, like a network cut). */
  terminateAll(): void {
    for (const ws of [...this.open]) ws.terminate();
  }

  close(): void {
    this.terminateAll();
    this.wss.close();
  }
}
