// The single prompt worker (main.prompt_worker + PromptExecutor.execute): one prompt at a time, the §3.5
// event sequence with §3.4 routing, classic caching, interrupts, injected node failures, history last.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { UiRecord } from './cache.js';
import { PyException } from './coerce.js';
import { annotatedPath } from './files.js';
import { inputInfo, type NodeDef } from './nodes.js';
import { ProgressTracker } from './progress.js';
import { dumpJson, isDict, keysOf, orderedDict, pyStr, type PyDict, type PyValue } from './pyjson.js';
import type { HistoryStatus, QueueItem } from './queue.js';
import { formatInput, runnerFor, type NodeResult, type PreviewFrame, type RunContext } from './runners.js';
import { Aborted, Signal } from './runtime.js';
import type { ServerState, WorkerHandle } from './state.js';

class Interrupted extends Error {}

/** failNode(): the message is already in its final "<text>\n<tips>" form. */
class InjectedFailure extends PyException {}

interface Failure {
  nodeId: string;
  classType: string;
  interrupted: boolean;
  exceptionMessage?: string;
  exceptionType?: string;
  currentInputs?: Record<string, PyValue[]>;
}

const FAKE_TRACEBACK = [
  '  File "/ComfyUI/execution.py", line 496, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)\n',
  '  File "/ComfyUI/execution.py", line 315, in get_output_data\n    return_values = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)\n',
];

function isLink(v: unknown): v is [string, number] {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string';
}

/** IS_CHANGED: file hash for image loaders, "always changed" for SaveImageWebsocket. */
function isChanged(state: ServerState, node: PyDict): string {
  const cls = node.class_type;
  const inputs = isDict(node.inputs) ? node.inputs : {};
  if (cls === 'SaveImageWebsocket') return `${Date.now()}:${Math.random()}`;
  if (cls !== 'LoadImage' && cls !== 'LoadImageMask') return '';
  try {
    const file = annotatedPath(state.dirs, pyStr(inputs.image));
    if (file) return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    // an unreadable file makes IS_CHANGED fail, which ComfyUI turns into NaN: never equal
  }
  return `nan:${Math.random()}`;
}

/** ExecutionList order: outputs and their uncached upstream nodes, dependencies first. */
function executionOrder(prompt: PyDict, outputs: string[], cached: (id: string) => boolean): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string): void => {
    if (seen.has(id)) return;
    seen.add(id);
    const node = prompt[id];
    const inputs = isDict(node) && isDict(node.inputs) ? node.inputs : {};
    for (const v of keysOf(inputs).map((k) => inputs[k])) {
      if (isLink(v) && Object.hasOwn(prompt, v[0]) && !cached(v[0])) visit(v[0]);
    }
    order.push(id);
  };
  for (const o of outputs) visit(o);
  return order;
}

/** Binary preview frame: type 4 (length-prefixed metadata JSON) or type 1 (format 1 JPEG / 2 PNG). */
function imageFrame(preview: PreviewFrame, meta: PyDict | null): Buffer {
  if (meta) {
    const json = Buffer.from(dumpJson({ ...meta, image_type: `image/${preview.format.toLowerCase()}` }), 'utf8');
    const head = Buffer.alloc(8);
    head.writeUInt32BE(4, 0);
    head.writeUInt32BE(json.length, 4);
    return Buffer.concat([head, json, preview.bytes]);
  }
  const head = Buffer.alloc(8);
  head.writeUInt32BE(1, 0);
  head.writeUInt32BE(preview.format === 'JPEG' ? 1 : 2, 4);
  return Buffer.concat([head, preview.bytes]);
}

/** One execution of one queue item. */
class PromptRun {
  private readonly clientId: string | null;
  private readonly messages: Array<[string, PyDict]> = [];
  private readonly values = new Map<string, unknown[]>();
  private readonly ui = new Map<string, UiRecord>();
  private readonly executed: string[] = [];
  private readonly tracker: ProgressTracker;
  private dropAfter: number | null;
  private samplerSteps = 0;

  constructor(
    private readonly s: ServerState,
    private readonly worker: Worker,
    private readonly item: QueueItem,
    private readonly taskId: number,
    private readonly gen: number,
  ) {
    const extra = item.extraData;
    const cid = Object.hasOwn(extra, 'client_id') ? extra.client_id : null;
    // A non-string client_id matches no socket, like a dict lookup with an int key.
    this.clientId = cid === null || cid === undefined ? null : typeof cid === 'string' ? cid : `\u0000${pyStr(cid)}`;
    this.tracker = new ProgressTracker(item.promptId, (data) => this.send('progress_state', data));
    this.dropAfter = s.faults.takeDropAfterSteps();
  }

  private get promptId(): string {
    return this.item.promptId;
  }

  /** send_sync(type, data, client_id): broadcast when the prompt has no client id. */
  private send(type: string, data: PyValue): void {
    this.s.gate.check(this.gen);
    this.s.hub.send(type, data, this.clientId);
  }

  /** PromptExecutor.add_message: stored for history; sent to the client, or broadcast if asked. */
  private addMessage(event: string, data: PyDict, broadcast: boolean): void {
    const full = { ...data, timestamp: Date.now() };
    this.messages.push([event, full]);
    if (this.clientId !== null || broadcast) this.send(event, full);
  }

  async run(): Promise<void> {
    const startedAt = Date.now();
    this.s.stats.started(this.promptId, startedAt);
    let completed = false;
    try {
      this.worker.interruptFlag = false;
      this.worker.currentClientId = this.clientId;
      this.addMessage('execution_start', { prompt_id: this.promptId }, false);
      const prompt = this.item.prompt;
      this.s.cache.setPrompt(prompt, (_id, node) => isChanged(this.s, node));
      const cached = keysOf(prompt).filter((id) => this.s.cache.get(id) !== undefined);
      this.addMessage('execution_cached', { nodes: cached, prompt_id: this.promptId }, false);
      let failure: Failure | null = null;
      for (const id of executionOrder(prompt, this.item.outputs, (n) => this.s.cache.get(n) !== undefined)) {
        await this.s.gate.checkpoint(this.gen);
        failure = await this.executeNode(id);
        if (failure) break;
      }
      if (failure) this.report(failure, cached);
      else this.addMessage('execution_success', { prompt_id: this.promptId }, false);
      completed = await this.finish(failure === null);
    } finally {
      this.s.stats.finished(this.promptId, startedAt, completed);
    }
  }

  /** History is written only now (after the optional delay), then `executing null`. */
  private async finish(success: boolean): Promise<boolean> {
    this.worker.lastNodeId = null;
    if (this.s.faults.delayHistoryMs > 0) await this.s.gate.sleep(this.s.faults.delayHistoryMs, this.gen);
    await this.s.gate.checkpoint(this.gen);
    const outputs = orderedDict([...this.ui].map(([id, rec]): [string, PyValue] => [id, rec.output]));
    const meta = orderedDict([...this.ui].map(([id, rec]): [string, PyValue] => [id, rec.meta]));
    const status: HistoryStatus = {
      status_str: success ? 'success' : 'error',
      completed: success,
      messages: this.messages,
    };
    this.s.queue.taskDone(this.taskId, { outputs, meta }, status);
    if (this.clientId !== null) this.send('executing', { node: null, prompt_id: this.promptId });
    return success;
  }

  private report(f: Failure, cached: string[]): void {
    const base = { prompt_id: this.promptId, node_id: f.nodeId, node_type: f.classType, executed: [...this.executed] };
    if (f.interrupted) {
      this.addMessage('execution_interrupted', base, true);
      return;
    }
    this.addMessage(
      'execution_error',
      {
        ...base,
        exception_message: f.exceptionMessage ?? '\n',
        exception_type: f.exceptionType ?? 'Exception',
        traceback: FAKE_TRACEBACK,
        current_inputs: f.currentInputs ?? {},
        current_outputs: cached,
      },
      false,
    );
  }

  private meta(id: string): PyDict {
    return { node_id: id, display_node: id, parent_node: null, real_node_id: id };
  }

  private cachedOutputs(id: string): unknown[] | undefined {
    return this.values.get(id) ?? this.s.cache.get(id)?.outputs;
  }

  private async executeNode(id: string): Promise<Failure | null> {
    const node = this.item.prompt[id] as PyDict;
    const classType = node.class_type as string;
    const hit = this.s.cache.get(id);
    if (hit) {
      const output = hit.ui?.output ?? null;
      if (this.clientId !== null)
        this.send('executed', { node: id, display_node: id, output, prompt_id: this.promptId });
      if (hit.ui) this.ui.set(id, { meta: this.meta(id), output: hit.ui.output });
      this.values.set(id, hit.outputs);
      this.tracker.finish(id);
      return null;
    }
    const def = this.s.registry.any(classType) as NodeDef;
    this.tracker.start(id);
    const { values, formatted } = this.resolveInputs(node, def);
    if (this.clientId !== null) {
      this.worker.lastNodeId = id;
      this.send('executing', { node: id, display_node: id, prompt_id: this.promptId });
    }
    let result: NodeResult;
    try {
      result = await this.invoke(id, classType, values);
    } catch (e) {
      if (e instanceof Aborted) throw e;
      if (e instanceof Interrupted) return { nodeId: id, classType, interrupted: true };
      const ex =
        e instanceof PyException ? e : new PyException('Exception', e instanceof Error ? e.message : String(e));
      // ComfyUI formats "{ex}\n{tips}"; the fake has no tips.
      const message = ex instanceof InjectedFailure ? ex.message : `${ex.message}\n`;
      return {
        nodeId: id,
        classType,
        interrupted: false,
        exceptionMessage: message,
        exceptionType: ex.type,
        currentInputs: formatted,
      };
    }
    this.complete(id, result);
    return null;
  }

  /** before_node_execution (interrupt check), node time, injected failure, then the node itself. */
  private async invoke(id: string, classType: string, values: Record<string, unknown>): Promise<NodeResult> {
    if (this.worker.interruptFlag) throw new Interrupted();
    if (classType !== 'KSampler' && this.s.nodeMs > 0) await this.sleepChecked(this.s.nodeMs);
    const fail = this.s.faults.takeNodeFailure(classType);
    if (fail) throw new InjectedFailure(fail.exceptionType, fail.message);
    return runnerFor(classType)(this.context(id), values);
  }

  private complete(id: string, result: NodeResult): void {
    let record: UiRecord | null = null;
    if (result.ui && Object.keys(result.ui).length > 0) {
      record = { meta: this.meta(id), output: result.ui };
      this.ui.set(id, record);
      if (this.clientId !== null) {
        this.send('executed', { node: id, display_node: id, output: result.ui, prompt_id: this.promptId });
      }
    }
    this.values.set(id, result.outputs);
    this.s.cache.set(id, { outputs: result.outputs, ui: record });
    this.tracker.finish(id);
    this.executed.push(id);
  }

  /** get_input_data: links resolved from upstream outputs, declared literals, hidden PROMPT/EXTRA_PNGINFO. */
  private resolveInputs(
    node: PyDict,
    def: NodeDef,
  ): { values: Record<string, unknown>; formatted: Record<string, PyValue[]> } {
    const classInputs = def.inputs(this.s.nodeContext);
    const inputs = isDict(node.inputs) ? node.inputs : {};
    const values: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(inputs)) {
      if (isLink(v)) values[name] = this.cachedOutputs(v[0])?.[v[1]] ?? null;
      else if (inputInfo(classInputs, name)) values[name] = v;
    }
    for (const [name, kind] of Object.entries(classInputs.hidden ?? {})) {
      if (kind === 'PROMPT') values[name] = this.item.prompt;
      if (kind === 'EXTRA_PNGINFO') values[name] = this.item.extraData.extra_pnginfo ?? null;
    }
    const formatted: Record<string, PyValue[]> = {};
    for (const [name, v] of Object.entries(values)) formatted[name] = [formatInput(v)];
    return { values, formatted };
  }

  private async sleepChecked(ms: number): Promise<void> {
    await this.s.gate.sleep(ms, this.gen);
  }

  private context(id: string): RunContext {
    return {
      nodeId: id,
      state: this.s,
      prompt: this.item.prompt,
      extraData: this.item.extraData,
      sleep: (ms) => this.sleepChecked(ms),
      progress: (value, max, preview, samplerStep) => this.progress(id, value, max, preview, samplerStep === true),
    };
  }

  /** The global progress hook: interrupt check, progress_state (+type 4), progress (+type 1). */
  private async progress(
    id: string,
    value: number,
    max: number,
    preview: PreviewFrame | undefined,
    samplerStep: boolean,
  ): Promise<void> {
    await this.s.gate.checkpoint(this.gen);
    if (this.worker.interruptFlag) throw new Interrupted();
    this.tracker.update(id, value, max);
    const withMeta = this.s.hub.supportsPreviewMetadata(this.clientId);
    const meta = { node_id: id, prompt_id: this.promptId, display_node_id: id, parent_node_id: null, real_node_id: id };
    if (preview && withMeta) this.s.hub.sendBinary(imageFrame(preview, meta), this.clientId);
    this.send('progress', { value, max, prompt_id: this.promptId, node: id });
    if (preview && !withMeta) this.s.hub.sendBinary(imageFrame(preview, null), this.clientId);
    if (samplerStep && this.dropAfter !== null && ++this.samplerSteps >= this.dropAfter) {
      this.dropAfter = null;
      this.s.hub.terminateAll();
    }
  }
}

/** The worker loop: waits for work, runs one prompt at a time, pauses while the server is down. */
export class Worker implements WorkerHandle {
  private readonly signal = new Signal();
  private loopDone: Promise<void> | null = null;
  private closed = false;
  interruptFlag = false;
  currentClientId: string | null = null;
  lastNodeId: string | null = null;

  constructor(private readonly s: ServerState) {}

  start(): void {
    this.loopDone = this.loop();
  }

  notify(): void {
    this.signal.notify();
  }

  /** nodes.interrupt_processing(): takes effect at the next check of the running prompt. */
  interrupt(): void {
    this.interruptFlag = true;
  }

  /** A restarted process has no "current client" memory. */
  resetMemory(): void {
    this.interruptFlag = false;
    this.currentClientId = null;
    this.lastNodeId = null;
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.s.gate.abort();
    this.signal.notify();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      if (this.s.gate.isPaused || !this.s.queue.hasPending()) {
        await this.signal.wait();
        continue;
      }
      const got = this.s.queue.get();
      if (!got) continue;
      try {
        await new PromptRun(this.s, this, got.item, got.taskId, this.s.gate.current).run();
      } catch (e) {
        if (e instanceof Aborted) continue;
        // A bug in the fake must not leave the prompt "running" forever: close it as an error.
        console.error('[fake-comfyui] worker error', e);
        this.s.queue.taskDone(
          got.taskId,
          { outputs: {}, meta: {} },
          { status_str: 'error', completed: false, messages: [] },
        );
      }
    }
  }
}
