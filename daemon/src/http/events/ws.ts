import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { WS_PROTOCOL, WsClientMessage } from '@comfygate/shared';
import type { Daemon } from '../../daemon.js';
import type { TokenViewer } from '../../ownership/viewer.js';
import { messageBudget, type StreamSlots } from '../limits/per-token.js';
import { type OpenStreams, streamKeys } from '../security/open-streams.js';
import { openFeed } from './feed.js';

export const MAX_BUFFERED = 4 * 1024 * 1024;
/** Close code for a client over a limit (RFC 6455 §7.4.1: policy violation). */
const POLICY_VIOLATION = 1008;

export interface SocketLimits {
  slots: StreamSlots;
  /** Frames a token may send per minute over all its sockets (a burst of the same size); over it, the sending socket is closed. */
  messagesPerMinute: number;
  /** Where sockets register so that signing out or revoking the token closes them. */
  open?: OpenStreams;
}

/** The socket's viewer; `sessionId` and its expiry when a dashboard session opened it. */
type SocketViewer = TokenViewer & { sessionId?: string; sessionEndsAt?: number };

/**
 * `/v1/ws`: the same events as SSE. The client sends `{type: 'subscribe', jobs?, since?}`; a new subscribe
 * replaces the previous one. Browsers pass the token as a subprotocol entry, so we answer `comfygate.v1`.
 * Each subscribe may replay the event log, so frames are budgeted per token, and so are sockets.
 */
export function eventSocketServer(daemon: Daemon, limits: SocketLimits) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  const reply = (ws: WebSocket, body: unknown) => {
    // Replies obey the same cap as events: a client that floods without reading must not grow our buffer.
    if (ws.bufferedAmount > MAX_BUFFERED) return ws.terminate();
    ws.send(JSON.stringify(body));
  };
  // Per token, across its sockets: 32 sockets of one token must not multiply what it may send.
  const budgets = new Map<string, () => boolean>();
  const budgetOf = (tokenId: string) => {
    let b = budgets.get(tokenId);
    if (!b) budgets.set(tokenId, (b = messageBudget(limits.messagesPerMinute)));
    return b;
  };
  wss.on('connection', (ws: WebSocket, viewer: SocketViewer, release: () => void) => {
    let close: (() => void) | null = null;
    const spend = budgetOf(viewer.tokenId);
    // A bad frame or an oversized message is an 'error' on the socket: without a listener it would crash the daemon.
    ws.on('error', () => ws.terminate());
    ws.on('message', (raw) => {
      if (ws.readyState !== ws.OPEN) return;
      if (!spend()) {
        close?.();
        close = null;
        const message = `over ${limits.messagesPerMinute} messages per minute (security.wsMessagesPerMinute)`;
        reply(ws, { type: 'error', error: { code: 'rate_limited', message } });
        return ws.close(POLICY_VIOLATION, 'rate limited');
      }
      let msg: WsClientMessage;
      try {
        msg = WsClientMessage.parse(JSON.parse(raw.toString()));
      } catch {
        return reply(ws, {
          type: 'error',
          error: { code: 'bad_request', message: 'expected {type: "subscribe", jobs?, since?}' },
        });
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
    const forget = limits.open?.track(
      streamKeys(viewer.tokenId, viewer.sessionId),
      () => ws.close(POLICY_VIOLATION, 'signed out, session expired or token revoked'),
      viewer.sessionEndsAt,
    );
    ws.on('close', () => (close?.(), release(), forget?.()));
  });
  return {
    /** `viewer`: the token that opened the socket; it hears only what it may see, on one of its stream slots. */
    handle(req: IncomingMessage, socket: Duplex, head: Buffer, viewer: SocketViewer) {
      const release = limits.slots.tryAcquire(viewer.tokenId);
      if (!release) {
        const message = 'this token holds too many event streams (security.maxStreamsPerToken)';
        const body = JSON.stringify({ error: { code: 'rate_limited', message } });
        return void socket.end(
          `HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
            `Retry-After: 5\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      // A handshake that fails (bad key, reset) never reaches 'connection': give the slot back when the socket goes.
      socket.once('close', release);
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, viewer, release));
    },
    close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
