// Public API of the fake ComfyUI (other packages code against exactly these names).

export interface FakeComfyOptions {
  /** Default 0 (the OS picks a free port). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Time per KSampler step; default 1. Total job time ≈ steps*stepMs (+ nodeMs per other node). */
  stepMs?: number;
  /** Time per non-sampler node, default 0. */
  nodeMs?: number;
  /** Model folder -> file list. Defaults: two checkpoints, empty loras/upscale_models/vae. */
  models?: Partial<Record<string, string[]>>;
  /** Extra simple custom node classes (IMAGE in -> IMAGE out), e.g. 'RemoveBackground'. */
  extraNodes?: string[];
  /** 'none' (ComfyUI's default) or 'auto' (latent preview frames per sampler step). */
  previewMethod?: 'none' | 'auto';
  /** 'solid' (default): flat deterministic colours for tests; 'demo': a gradient with the prompt, seed and size on it. */
  imageStyle?: 'solid' | 'demo';
  /** Default: a fresh temp dir removed on close(). */
  dataDir?: string;
  /** Classic cache for identical re-queued prompts, default true. */
  cacheOutputs?: boolean;
}

export interface FakeStats {
  /** Prompt ids accepted by POST /prompt, in order. */
  received: string[];
  /** Prompt ids whose execution started, in order. */
  executed: string[];
  /** Prompt ids that finished successfully. */
  completed: string[];
  /** Max pending+running observed. */
  maxQueueDepth: number;
  /** Total ms the worker spent executing prompts. */
  busyMs: number;
  firstStartAt: number | null;
  lastEndAt: number | null;
}

export interface FakeControl {
  stats(): FakeStats;
  resetStats(): void;
  /** Stop listening and destroy every connection; queue & history kept; the worker pauses. */
  down(): Promise<void>;
  /** Listen again on the same port and resume. */
  up(): Promise<void>;
  /** Process death + restart: connections, queue, running prompt, history and caches gone; files kept. */
  crash(): Promise<void>;
  /** Close every WS connection now (server side). */
  dropSockets(): void;
  /** Next prompt: drop all WS connections after n sampler steps (execution continues). */
  dropSocketsAfterSteps(n: number): void;
  /** Answer `status` instead of handling method+path (both /x and /api/x); times default Infinity. */
  failRoute(method: string, path: string, status: 500 | 503 | number, times?: number): void;
  /** Write the history entry ms after execution_success (executing null still only after it). */
  delayHistory(ms: number): void;
  /** execution_error at nodes of this class (default torch.OutOfMemoryError; message ends with '\n'). */
  failNode(classType: string, opts?: { exceptionType?: string; message?: string; times?: number }): void;
  hideNode(classType: string): void;
  showNode(classType: string): void;
  hideModel(name: string): void;
  showModel(name: string): void;
  slowView(ms: number): void;
  setStepMs(ms: number): void;
  /** Clear all faults. */
  reset(): void;
}

export interface FakeComfy extends AsyncDisposable {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  control: FakeControl;
  close(): Promise<void>;
}
