// Server lifecycle: listen, down/up on the same port, crash (restart with empty memory), close. Every
// socket is tracked so these really cut connections and close() leaves nothing running.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { controlHandler, createControl, type Lifecycle } from './control.js';
import { Worker } from './executor.js';
import { dirsFor } from './files.js';
import { handleRequest, originAllowed, refuseUpgrade } from './http.js';
import { buildRouter } from './routes.js';
import { TimerSet } from './runtime.js';
import { ServerState } from './state.js';
import type { FakeComfy, FakeComfyOptions, FakeControl } from './types.js';
import { normalizeRoutePath } from './faults.js';

export const CONTROL_PATH = '/__fake/control';

class FakeServer implements Lifecycle {
  private readonly http: Server;
  private readonly connections = new Set<Socket>();
  private readonly timers = new TimerSet();
  private listening = false;
  private isDown = false;
  private closed = false;
  private serial: Promise<void> = Promise.resolve();
  port = 0;
  readonly control: FakeControl;

  constructor(
    private readonly s: ServerState,
    private readonly worker: Worker,
    private readonly host: string,
    private readonly ownsDir: boolean,
  ) {
    this.control = createControl(s, this);
    const schedule = (ms: number, fn: () => void): void =>
      void this.timers.delay(ms).then(() => (this.closed ? undefined : fn()));
    const controlRoute = controlHandler(this.control, schedule);
    const front = {
      router: buildRouter(s, this.timers),
      faults: s.faults,
      extra: new Map([[CONTROL_PATH, controlRoute]]),
    };
    this.http = createServer((req, res) => void handleRequest(front, req, res));
    this.http.on('connection', (sock: Socket) => {
      this.connections.add(sock);
      sock.on('close', () => this.connections.delete(sock));
    });
    this.http.on('upgrade', (req, sock: Socket, head: Buffer) => void this.upgrade(req, sock, head));
  }

  /** The WebSocket upgrade goes through the same origin check and injected failures as requests. */
  private async upgrade(req: import('node:http').IncomingMessage, sock: Socket, head: Buffer): Promise<void> {
    sock.on('error', () => undefined);
    if (!(await originAllowed(req.headers))) return refuseUpgrade(sock, 403);
    const pathname = new URL(req.url ?? '/', 'http://fake').pathname;
    const injected = this.s.faults.takeRouteFailure('GET', pathname);
    if (injected !== undefined) return refuseUpgrade(sock, injected);
    if (normalizeRoutePath(pathname) !== '/ws') return refuseUpgrade(sock, 404);
    this.s.hub.handleUpgrade(req, sock, head);
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.serial.then(op, op);
    this.serial = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, this.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.port = (this.http.address() as AddressInfo).port;
    this.listening = true;
  }

  private async stopListening(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const sock of this.connections) sock.destroy();
    this.s.hub.terminateAll();
    await closed;
  }

  down(): Promise<void> {
    return this.run(async () => {
      if (this.isDown || this.closed) return;
      this.s.gate.pause();
      await this.stopListening();
      this.isDown = true;
    });
  }

  up(): Promise<void> {
    return this.run(async () => {
      if (!this.isDown || this.closed) return;
      await this.listen(this.port);
      this.isDown = false;
      this.s.gate.resume();
      this.worker.notify();
    });
  }

  crash(): Promise<void> {
    return this.run(async () => {
      if (this.closed) return;
      await this.stopListening();
      this.s.gate.abort();
      this.s.queue.resetAll();
      this.s.cache.clear();
      this.worker.resetMemory();
      // ComfyUI deletes its temp directory at start-up; outputs and inputs survive.
      await rm(this.s.dirs.temp, { recursive: true, force: true });
      await mkdir(this.s.dirs.temp, { recursive: true });
      await this.listen(this.port);
      this.isDown = false;
      this.s.gate.resume();
      this.worker.notify();
    });
  }

  close(): Promise<void> {
    return this.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.timers.cancelAll();
      await this.stopListening();
      await this.worker.stop();
      this.s.hub.close();
      if (this.ownsDir) await rm(this.s.dirs.root, { recursive: true, force: true });
    });
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Start a fake ComfyUI server (HTTP + WebSocket) with its own data directory and worker. */
export async function startFakeComfy(options: FakeComfyOptions = {}): Promise<FakeComfy> {
  const ownsDir = options.dataDir === undefined;
  const root = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'fake-comfyui-')));
  const dirs = dirsFor(path.resolve(root));
  await mkdir(dirs.input, { recursive: true });
  await mkdir(dirs.output, { recursive: true });
  await rm(dirs.temp, { recursive: true, force: true });
  await mkdir(dirs.temp, { recursive: true });
  const state = new ServerState(options, dirs);
  const worker = new Worker(state);
  state.worker = worker;
  const host = options.host ?? '127.0.0.1';
  const server = new FakeServer(state, worker, host, ownsDir);
  try {
    await server.listen(options.port ?? 0);
  } catch (e) {
    if (ownsDir) await rm(root, { recursive: true, force: true });
    throw e;
  }
  worker.start();
  const close = (): Promise<void> => server.close();
  return {
    url: `http://${urlHost(host)}:${server.port}`,
    port: server.port,
    control: server.control,
    close,
    [Symbol.asyncDispose]: close,
  };
}
