// Everything one fake server instance holds, shared by the HTTP routes, the socket hub and the worker.
import { OutputCache } from './cache.js';
import { Faults } from './faults.js';
import { annotatedExists, listInputFiles, type Dirs } from './files.js';
import { ModelStore } from './models.js';
import { NodeRegistry, type NodeContext } from './nodes.js';
import type { PyDict } from './pyjson.js';
import { PromptQueue } from './queue.js';
import { Gate, StatsRecorder } from './runtime.js';
import type { ImageStyle } from './outputs.js';
import type { FakeComfyOptions } from './types.js';
import type { ValidationEnv } from './validate.js';
import { SocketHub } from './ws.js';

/** What the worker exposes to the rest of the server (implemented in executor.ts). */
export interface WorkerHandle {
  notify(): void;
  interrupt(): void;
  /** client_id of the last prompt the worker ran (server.client_id). */
  currentClientId: string | null;
  /** Display id of the node running now for that client, else null (server.last_node_id). */
  lastNodeId: string | null;
}

export class ServerState {
  readonly registry: NodeRegistry;
  readonly models: ModelStore;
  readonly queue: PromptQueue;
  readonly hub: SocketHub;
  readonly cache: OutputCache;
  readonly faults = new Faults();
  readonly stats = new StatsRecorder();
  readonly gate = new Gate();
  readonly nodeContext: NodeContext;
  readonly previewMethod: 'none' | 'auto';
  readonly imageStyle: ImageStyle;
  stepMs: number;
  nodeMs: number;
  worker: WorkerHandle | null = null;

  constructor(
    options: FakeComfyOptions,
    readonly dirs: Dirs,
  ) {
    this.stepMs = options.stepMs ?? 1;
    this.nodeMs = options.nodeMs ?? 0;
    this.previewMethod = options.previewMethod ?? 'none';
    this.imageStyle = options.imageStyle ?? 'solid';
    this.registry = new NodeRegistry(options.extraNodes ?? []);
    this.models = new ModelStore(options.models ?? {});
    this.cache = new OutputCache(options.cacheOutputs ?? true);
    this.nodeContext = {
      modelList: (folder) => this.models.list(folder),
      inputFiles: (imagesOnly) => listInputFiles(this.dirs, imagesOnly),
    };
    this.queue = new PromptQueue(() => this.onQueueChange());
    this.hub = new SocketHub({
      queueInfo: () => this.queueInfo(),
      runningNodeFor: (sid) => (this.worker?.currentClientId === sid ? this.worker.lastNodeId : null),
    });
  }

  queueInfo(): PyDict {
    return { exec_info: { queue_remaining: this.queue.remaining() } };
  }

  /** PromptServer.queue_updated(): broadcast status to every socket. */
  private onQueueChange(): void {
    this.stats.depth(this.queue.remaining());
    this.hub.send('status', { status: this.queueInfo() }, null);
  }

  validationEnv(): ValidationEnv {
    return {
      registry: this.registry,
      ctx: this.nodeContext,
      annotatedFileExists: (name) => annotatedExists(this.dirs, name),
    };
  }
}
