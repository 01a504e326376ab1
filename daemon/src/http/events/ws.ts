import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { WS_PROTOCOL, WsClientMessage } from '@comfygate/shared';
import type { Daemon } from '../../daemon.js';
import type { Viewer } from '../../ownership/viewer.js';
import { openFeed } from './feed.js';

export const MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * `/v1/ws`: the same events as SSE. The client sends `{type: 'subscribe', jobs?, since?}`; a new subscribe
 * replaces the previous one. Browsers pass the token as a subprotocol entry, so we answer `comfygate.v1`.
 */
export function eventSocketServer(daemon: Daemon) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  wss.on('connection', (ws: WebSocket, viewer: Viewer) => {
    let close: (() => void) | null = null;
    // A bad frame or an oversized message is an 'error' on the socket: without a listener it would crash the daemon.
    ws.on('error', () => ws.terminate());
    ws.on('message', (raw) => {
      let msg: WsClientMessage;
      try {
        msg = WsClientMessage.parse(JSON.parse(raw.toString()));
      } catch {
        return ws.send(JSON.stringify({ type: 'error', error: { code: 'bad_request', message: 'expected {type: "subscribe", jobs?, since?}' } }));
      }
      close?.();
      close = null;
      if (msg.type === 'subscribe') {
        close = openFeed(daemon, {
          since: msg.since,
          jobs: msg.jobs ? new Set(msg.jobs) : null,
          viewer,
          send: (e) => {
            // A reader that stopped reading is dropped rather than buffered without bound.
            if (ws.bufferedAmount > MAX_BUFFERED) return ws.terminate();
            ws.send(JSON.stringify(e));
          },
        });
      }
    });
    ws.on('close', () => close?.());
  });
  return {
    /** `viewer`: the token that opened the socket; it hears only what it may see. */
    handle(req: IncomingMessage, socket: Duplex, head: Buffer, viewer: Viewer) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, viewer));
    },
    close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
