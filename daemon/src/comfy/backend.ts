import crypto from 'node:crypto';
import type { BackendConfig } from '../config/schema.js';
import { type Capabilities, capabilitiesFrom } from './capabilities.js';
import { ComfyHttp } from './http.js';
import { ComfySocket, type SocketMessage } from './socket.js';
import type { ExecutionErrorData } from './types.js';

export type Health = 'unknown' | 'up' | 'down';

/** The JSON message types `onMessage` acts on: the socket does not even parse the others. */
const HANDLED_TYPES: ReadonlySet<string> = new Set([
  'execution_start',
  'execution_cached',
  'progress',
  'execution_error',
  'executing',
]);

/** What a backend tells the engine. Prompt ids are ours (generated before POST), so the engine knows them all. */
export interface BackendListener {
  onHealth(b: ComfyBackend, health: Health, reason: string): void;
  onSocketOpen(b: ComfyBackend): void;
  onStarted(b: ComfyBackend, promptId: string): void;
  onProgress(b: ComfyBackend, promptId: string, value: number, max: number, node: string | null): void;
  /** `execution_cached`: these nodes are done before anything runs. */
  onCached(b: ComfyBackend, promptId: string, nodes: unknown[]): void;
  /** `executing {node}`: this node starts (the one before it is done). */
  onExecuting(b: ComfyBackend, promptId: string, node: string): void;
  onPreview(b: ComfyBackend, promptId: string, image: Buffer, mime: string): void;
  onExecutionError(b: ComfyBackend, promptId: string, data: ExecutionErrorData): void;
  /** `executing {node: null}`: ComfyUI has written the history entry (success, error or interrupt). */
  onFinished(b: ComfyBackend, promptId: string): void;
  /** Whether work waits for this backend (queued jobs, or prompts it holds): a down backend is then probed often. */
  waitedFor(b: ComfyBackend): boolean;
}

export interface BreakerOptions {
  threshold: number;
  probeMs: number;
  probeMaxMs: number;
  /** The longest gap between probes of a down backend while work waits for it. */
  probeWaitingMs: number;
}

/**
 * One ComfyUI server: its HTTP client, its WebSocket, its health (a circuit breaker that opens after
 * `threshold` consecutive failures and probes with backoff until /object_info answers) and its capabilities.
 */
export class ComfyBackend {
  readonly http: ComfyHttp;
  readonly socket: ComfySocket;
  health: Health = 'unknown';
  /** Why the health last changed (a probe's error when down), for people looking at a failing backend. */
  healthReason: string | null = null;
  /** Draining: finishes what it holds, takes nothing new. */
  draining = false;
  capabilities: Capabilities | null;
  /** The prompt ComfyUI is executing now, to attribute type-1 preview frames that carry no prompt id. */
  private current: string | null = null;
  private failures = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private probeAt = 0;
  private probeDelay: number;
  private closed = false;

  constructor(
    readonly config: BackendConfig,
    private readonly listener: BackendListener,
    private readonly breaker: BreakerOptions,
    knownCapabilities: Capabilities | null,
  ) {
    this.http = new ComfyHttp(config.url);
    this.capabilities = knownCapabilities;
    this.probeDelay = breaker.probeMs;
    this.socket = new ComfySocket(config.url, crypto.randomUUID().replaceAll('-', ''), {
      onOpen: () => {
        this.listener.onSocketOpen(this);
        // The socket retries every few seconds at most: when it gets through first, the backend is back now.
        if (this.health === 'down') void this.probe();
      },
      // A dropped socket is often the first sign of a dead backend: check at once rather than at the next job.
      onClose: () => void this.probe(),
      onMessage: (m) => this.onMessage(m),
      wants: (type) => HANDLED_TYPES.has(type),
    });
  }

  get name(): string {
    return this.config.name;
  }

  start(): void {
    this.socket.start();
    void this.probe();
  }

  reportSuccess(): void {
    this.failures = 0;
  }

  /** A transport failure seen by the engine; enough in a row opens the breaker. */
  reportFailure(reason: string): void {
    this.failures++;
    if (this.failures >= this.breaker.threshold && this.health !== 'down') this.setHealth('down', reason);
    if (this.health === 'down') this.scheduleProbe();
  }

  async refreshCapabilities(): Promise<Capabilities> {
    const caps = capabilitiesFrom(await this.http.objectInfo());
    this.capabilities = caps;
    return caps;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.socket.close();
    await this.http.close();
  }

  private async probe(): Promise<void> {
    // A socket close can call this while a probe is scheduled: one chain of probes at a time.
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    if (this.closed) return;
    try {
      await this.refreshCapabilities();
      if (this.closed) return; // removed while /object_info was on the wire: the engine no longer knows it
      this.failures = 0;
      this.probeDelay = this.breaker.probeMs;
      if (this.health !== 'up') this.setHealth('up', 'object_info answered');
      this.socket.kick();
    } catch (err) {
      if (this.closed) return;
      if (this.health !== 'down') this.setHealth('down', `probe failed: ${(err as Error).message}`);
      this.scheduleProbe();
    }
  }

  /**
   * Work now waits for this backend: a probe backed off far into the future is brought forward, so its return
   * is noticed within `probeWaitingMs` rather than after the idle backoff (up to `probeMaxMs`).
   */
  hurry(): void {
    if (this.closed || this.health !== 'down' || !this.probeTimer) return;
    if (this.probeAt - Date.now() <= this.breaker.probeWaitingMs) return;
    clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.closed) return;
    // Backing off spares a backend nobody needs; while work waits for it, the gap stays short.
    const delay = this.listener.waitedFor(this)
      ? Math.min(this.probeDelay, this.breaker.probeWaitingMs)
      : this.probeDelay;
    this.probeAt = Date.now() + delay;
    this.probeTimer = setTimeout(() => void this.probe(), delay);
    this.probeTimer.unref();
    this.probeDelay = Math.min(this.breaker.probeMaxMs, this.probeDelay * 2);
  }

  private setHealth(h: Health, reason: string): void {
    this.health = h;
    this.healthReason = reason;
    this.listener.onHealth(this, h, reason);
  }

  private onMessage(m: SocketMessage): void {
    if (m.kind === 'preview') {
      const pid = m.promptId ?? this.current;
      if (pid) this.listener.onPreview(this, pid, m.image, m.mime);
      return;
    }
    const d = m.data;
    const pid = typeof d.prompt_id === 'string' ? d.prompt_id : null;
    switch (m.type) {
      case 'execution_start':
        if (pid) ((this.current = pid), this.listener.onStarted(this, pid));
        break;
      case 'progress':
        if (pid) this.listener.onProgress(this, pid, Number(d.value), Number(d.max), (d.node as string | null) ?? null);
        break;
      case 'execution_error':
        if (pid) this.listener.onExecutionError(this, pid, d as unknown as ExecutionErrorData);
        break;
      case 'execution_cached':
        if (pid && Array.isArray(d.nodes)) this.listener.onCached(this, pid, d.nodes);
        break;
      case 'executing':
        if (d.node === null && pid) {
          if (this.current === pid) this.current = null;
          this.listener.onFinished(this, pid);
        } else if (pid) {
          if (this.current !== pid) {
            // A missed execution_start (socket reconnected mid-prompt) still tells us it runs.
            this.current = pid;
            this.listener.onStarted(this, pid);
          }
          // An expanded node (node_id "10.0.3") is shown as the graph node it came from.
          const node = typeof d.display_node === 'string' ? d.display_node : d.node;
          if (typeof node === 'string') this.listener.onExecuting(this, pid, node);
        }
        break;
    }
  }
}
