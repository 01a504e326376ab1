import { type StreamEvent, isGatewayClientError } from '@comfygate/shared/browser';
import { client } from './api.js';

type Listener = (e: StreamEvent) => void;
const listeners = new Set<Listener>();
let started: AbortController | null = null;

/**
 * One event stream for the whole page (SSE through GatewayClient, which resumes with Last-Event-ID after a drop),
 * fanned out to the views that are showing. Started on sign-in, stopped on sign-out.
 */
export function startLive(onSignedOut: () => void): void {
  if (started) return;
  const ctl = new AbortController();
  started = ctl;
  void (async () => {
    const since = (await client.stats().catch(() => null))?.lastEventId;
    for await (const e of client.events({ signal: ctl.signal, since })) for (const l of listeners) l(e);
  })().catch((err: unknown) => {
    if (started === ctl) started = null;
    // The session ended (expired, signed out elsewhere, token revoked): back to the sign-in page.
    if (isGatewayClientError(err) && err.status === 401) onSignedOut();
  });
}

export function stopLive(): void {
  started?.abort();
  started = null;
}

export function onEvent(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}
