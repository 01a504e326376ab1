import { GatewayClient, isGatewayClientError } from '@comfygate/shared/browser';

export type ConnState =
  | { kind: 'idle' }
  | { kind: 'checking'; url: string }
  | { kind: 'not-running'; url: string }
  | { kind: 'pairing'; url: string; code: string; expiresAt: number }
  | { kind: 'connected'; url: string; backendsUp: number; backends: number; queued: number; running: number }
  | { kind: 'revoked'; url: string }
  | { kind: 'error'; url: string; message: string };

export interface ConnectionDeps {
  fetch?: typeof fetch;
  /** The token changed (paired, or dropped after a revoke): the sandbox keeps it in clientStorage. */
  saveToken(url: string, token: string | null): void;
  onState(s: ConnState): void;
  pollMs?: number;
}

const HEALTH_TIMEOUT_MS = 3000;
export const START_COMMAND = 'comfygate start';

/**
 * Reaching the daemon and holding a token for it. States: not running (nothing answers /healthz), pairing (a code
 * the user confirms with `comfygate pair <code>` or the dashboard), connected, revoked (the daemon no longer
 * accepts our token: pair again). The token itself is never shown or kept here beyond the client.
 */
export class Connection {
  client: GatewayClient | null = null;
  state: ConnState = { kind: 'idle' };
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly deps: ConnectionDeps) {}

  private set(s: ConnState): void {
    this.state = s;
    this.deps.onState(s);
  }

  private later(fn: () => Promise<void>, ms: number, gen: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void (gen === this.generation ? fn() : undefined), ms);
  }

  /** Checks the daemon, then the token (or starts pairing when there is none). */
  async connect(rawUrl: string, token: string | null): Promise<void> {
    const gen = ++this.generation;
    const url = rawUrl.trim().replace(/\/+$/, '');
    this.set({ kind: 'checking', url });
    const f = this.deps.fetch ?? globalThis.fetch.bind(globalThis);
    try {
      const res = await f(`${url}/healthz`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    } catch {
      if (gen === this.generation) this.set({ kind: 'not-running', url });
      return;
    }
    if (gen !== this.generation) return;
    if (!token) return this.pair(url, gen);
    this.client = new GatewayClient({ baseUrl: url, token, fetch: f });
    await this.refresh(gen);
  }

  private async pair(url: string, gen: number): Promise<void> {
    const anon = new GatewayClient({ baseUrl: url, fetch: this.deps.fetch });
    try {
      const started = await anon.startPairing('Figma');
      if (gen !== this.generation) return;
      this.set({ kind: 'pairing', url, code: started.code, expiresAt: started.expiresAt });
      const poll = async (): Promise<void> => {
        const status = await anon.pairingStatus(started.pairingId).catch(() => null);
        if (gen !== this.generation) return;
        if (status?.state === 'confirmed') {
          this.deps.saveToken(url, status.token);
          this.client = new GatewayClient({ baseUrl: url, token: status.token, fetch: this.deps.fetch });
          return this.refresh(gen);
        }
        if (status?.state === 'expired' || Date.now() > started.expiresAt) {
          return this.set({ kind: 'error', url, message: 'The pairing code expired. Connect again for a new one.' });
        }
        this.later(poll, this.deps.pollMs ?? 1000, gen);
      };
      this.later(poll, this.deps.pollMs ?? 1000, gen);
    } catch (err) {
      this.set({ kind: 'error', url, message: isGatewayClientError(err) ? err.message : String(err) });
    }
  }

  /** Backends up and queue depth; a refused token means it was revoked. Repeats while connected. */
  async refresh(gen = this.generation): Promise<void> {
    const client = this.client;
    if (!client || gen !== this.generation) return;
    try {
      const [backends, stats] = await Promise.all([client.backends(), client.stats()]);
      if (gen !== this.generation) return;
      this.set({
        kind: 'connected',
        url: client.baseUrl,
        backendsUp: backends.filter((b) => b.health === 'up').length,
        backends: backends.length,
        queued: stats.jobs.queued ?? 0,
        running: (stats.jobs.dispatched ?? 0) + (stats.jobs.running ?? 0) + (stats.jobs.postprocessing ?? 0),
      });
      this.later(() => this.refresh(gen), 5000, gen);
    } catch (err) {
      if (gen !== this.generation) return;
      if (isGatewayClientError(err) && err.status === 401) {
        this.client = null;
        this.deps.saveToken(client.baseUrl, null);
        return this.set({ kind: 'revoked', url: client.baseUrl });
      }
      if (isGatewayClientError(err) && err.code === 'unavailable')
        return this.set({ kind: 'not-running', url: client.baseUrl });
      this.set({ kind: 'error', url: client.baseUrl, message: isGatewayClientError(err) ? err.message : String(err) });
    }
  }

  /** A call failed with 401 mid-use: same as a refresh finding it. */
  revoked(): void {
    const url = this.client?.baseUrl ?? '';
    this.client = null;
    this.deps.saveToken(url, null);
    this.set({ kind: 'revoked', url });
  }

  stop(): void {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
  }
}
