/**
 * Event streams (WebSocket, SSE) are authenticated once, when they open, and may then stay open for hours. So
 * whatever ends a credential also ends the streams it opened: signing out ends the session's, revoking a token
 * ends its own and those of every session that acts as it. Keys are `token:<id>` and `session:<id>`.
 */
export class OpenStreams {
  private readonly byKey = new Map<string, Set<() => void>>();

  /**
   * Registers a stream under its credentials, ended at `until` (a session's expiry) if given; the returned function
   * forgets it (call it when the stream closes).
   */
  track(keys: string[], end: () => void, until?: number): () => void {
    let timer: NodeJS.Timeout | null = null;
    const forget = () => {
      if (timer) clearTimeout(timer);
      for (const k of keys) {
        const set = this.byKey.get(k);
        set?.delete(finish);
        if (set?.size === 0) this.byKey.delete(k);
      }
    };
    // Once, under whichever key ends it first.
    const finish = () => (forget(), end());
    for (const k of keys) {
      let set = this.byKey.get(k);
      if (!set) this.byKey.set(k, (set = new Set()));
      set.add(finish);
    }
    if (until !== undefined) (timer = setTimeout(finish, Math.max(0, until - Date.now()))).unref();
    return forget;
  }

  /** Ends every stream opened with this credential. */
  end(key: string): void {
    for (const finish of [...(this.byKey.get(key) ?? [])]) finish();
  }
}

export const tokenStreams = (tokenId: string): string => `token:${tokenId}`;
export const sessionStreams = (sessionId: string): string => `session:${sessionId}`;

/** The keys of a stream: its token's, and its session's when a session cookie (not a bearer token) opened it. */
export const streamKeys = (tokenId: string, sessionId: string | undefined): string[] =>
  sessionId ? [tokenStreams(tokenId), sessionStreams(sessionId)] : [tokenStreams(tokenId)];
