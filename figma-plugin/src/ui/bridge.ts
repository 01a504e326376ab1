import { SandboxMessage, type UiMessage } from '../protocol';

type Of<T extends SandboxMessage['type']> = Extract<SandboxMessage, { type: T }>;

/** Figma relays the sandbox's messages from a window above the UI (the parent, or a host frame above it). */
function fromAncestor(win: Window, source: MessageEventSource | null): boolean {
  for (let w: Window = win; w.parent !== w; w = w.parent) if (source === w.parent) return true;
  return false;
}

/**
 * The UI's side of the message channel. Figma wraps messages as `{pluginMessage}`; the iframe's parent is not
 * figma.com in every host (desktop app, browser), so posts go to `'*'`: nothing secret travels this way that the
 * parent (Figma itself) does not already hold. What arrives is checked against the union before anyone sees it.
 */
export function sandboxBridge(win: Window = window) {
  const listeners = new Set<(m: SandboxMessage) => void>();
  let seq = 0;
  win.addEventListener('message', (e: MessageEvent) => {
    if (!fromAncestor(win, e.source)) return;
    const data = (e.data as { pluginMessage?: unknown } | null)?.pluginMessage;
    if (data === undefined) return;
    const parsed = SandboxMessage.safeParse(data);
    if (!parsed.success)
      return console.warn('comfygate: ignored a malformed message from the sandbox', parsed.error.issues[0]);
    for (const l of listeners) l(parsed.data);
  });
  const send = (m: UiMessage) => win.parent.postMessage({ pluginMessage: m }, '*');
  const on = (l: (m: SandboxMessage) => void) => (listeners.add(l), () => void listeners.delete(l));
  /** Sends a request and resolves with the reply carrying the same requestId. */
  function request<T extends 'exported' | 'placed'>(type: T, make: (requestId: string) => UiMessage): Promise<Of<T>> {
    const requestId = `r${++seq}`;
    return new Promise((resolve) => {
      const off = on((m) => {
        if (m.type === type && (m as { requestId?: string }).requestId === requestId) (off(), resolve(m as Of<T>));
      });
      send(make(requestId));
    });
  }
  return { send, on, request };
}
export type Bridge = ReturnType<typeof sandboxBridge>;
