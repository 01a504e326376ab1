// execution.PromptQueue: a heapq-ordered pending list (exposed unsorted, as ComfyUI does), the running
// set, and the in-memory history with its 10000-entry cap (§2.3, §2.4, §2.7).
import { PyFloat, keysOf, orderedDict, type PyDict, type PyValue } from './pyjson.js';

export interface QueueItem {
  number: number;
  /** The caller supplied `number`, so ComfyUI stored float(number). */
  numberIsFloat: boolean;
  promptId: string;
  prompt: PyDict;
  extraData: PyDict;
  outputs: string[];
}

export interface HistoryStatus {
  status_str: 'success' | 'error';
  completed: boolean;
  messages: Array<[string, PyDict]>;
}

export interface HistoryEntry {
  prompt: PyValue[];
  outputs: PyDict;
  status: HistoryStatus;
  meta: PyDict;
}

const MAXIMUM_HISTORY_SIZE = 10000;
const SENSITIVE_EXTRA_DATA_KEYS = ['auth_token_comfy_org', 'api_key_comfy_org'];

/** The 5-element wire form [number, prompt_id, prompt, extra_data, outputs_to_execute]. */
export function wireItem(item: QueueItem, stripSensitive = false): PyValue[] {
  let extra = item.extraData;
  if (stripSensitive) {
    const keep = keysOf(extra).filter((k) => !SENSITIVE_EXTRA_DATA_KEYS.includes(k));
    extra = orderedDict(keep.map((k): [string, PyValue] => [k, extra[k] as PyValue]));
  }
  const num = item.numberIsFloat ? new PyFloat(item.number) : item.number;
  return [num, item.promptId, item.prompt, extra, item.outputs];
}

/** Tuple order of the heap items: number, then prompt id. */
function less(a: QueueItem, b: QueueItem): boolean {
  if (a.number !== b.number) return a.number < b.number;
  return a.promptId < b.promptId;
}

// CPython's heapq._siftdown / _siftup, so the pending array has the same shape as the real one.
function siftDown(heap: QueueItem[], start: number, pos: number): void {
  const item = heap[pos] as QueueItem;
  while (pos > start) {
    const parentPos = (pos - 1) >> 1;
    const parent = heap[parentPos] as QueueItem;
    if (!less(item, parent)) break;
    heap[pos] = parent;
    pos = parentPos;
  }
  heap[pos] = item;
}

function siftUp(heap: QueueItem[], pos: number): void {
  const end = heap.length;
  const start = pos;
  const item = heap[pos] as QueueItem;
  let child = 2 * pos + 1;
  while (child < end) {
    const right = child + 1;
    if (right < end && !less(heap[child] as QueueItem, heap[right] as QueueItem)) child = right;
    heap[pos] = heap[child] as QueueItem;
    pos = child;
    child = 2 * pos + 1;
  }
  heap[pos] = item;
  siftDown(heap, start, pos);
}

export class PromptQueue {
  /** The server's prompt counter (server.number). */
  counter = 0;
  private heap: QueueItem[] = [];
  private readonly running = new Map<number, QueueItem>();
  private taskCounter = 0;
  private readonly history = new Map<string, HistoryEntry>();

  /** Called on every queue change; the server broadcasts `status` from it. */
  constructor(private readonly onChange: () => void) {}

  put(item: QueueItem): void {
    this.heap.push(item);
    siftDown(this.heap, 0, this.heap.length - 1);
    this.onChange();
  }

  get(): { item: QueueItem; taskId: number } | undefined {
    const last = this.heap.pop();
    if (!last) return undefined;
    let item = last;
    if (this.heap.length > 0) {
      item = this.heap[0] as QueueItem;
      this.heap[0] = last;
      siftUp(this.heap, 0);
    }
    const taskId = this.taskCounter++;
    this.running.set(taskId, item);
    this.onChange();
    return { item, taskId };
  }

  taskDone(taskId: number, result: { outputs: PyDict; meta: PyDict }, status: HistoryStatus): void {
    const item = this.running.get(taskId);
    if (!item) return;
    this.running.delete(taskId);
    if (this.history.size > MAXIMUM_HISTORY_SIZE) {
      const oldest = this.history.keys().next();
      if (!oldest.done) this.history.delete(oldest.value);
    }
    this.history.set(item.promptId, {
      prompt: wireItem(item, true),
      outputs: result.outputs,
      status,
      meta: result.meta,
    });
    this.onChange();
  }

  hasPending(): boolean {
    return this.heap.length > 0;
  }

  remaining(): number {
    return this.heap.length + this.running.size;
  }

  pendingItems(): QueueItem[] {
    return [...this.heap];
  }

  runningItems(): QueueItem[] {
    return [...this.running.values()];
  }

  isRunning(promptId: string): boolean {
    return [...this.running.values()].some((i) => i.promptId === promptId);
  }

  wipe(): void {
    this.heap = [];
    this.onChange();
  }

  /** Removes the first pending item with this id (ComfyUI broadcasts twice when it empties the heap). */
  delete(promptId: string): boolean {
    const idx = this.heap.findIndex((i) => i.promptId === promptId);
    if (idx < 0) return false;
    if (this.heap.length === 1) this.wipe();
    else {
      this.heap.splice(idx, 1);
      for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) siftUp(this.heap, i);
    }
    this.onChange();
    return true;
  }

  historyEntry(promptId: string): HistoryEntry | undefined {
    return this.history.get(promptId);
  }

  /** get_history(max_items, offset) with ComfyUI's exact offset arithmetic. */
  historySlice(maxItems: number | undefined, offset: number): PyDict {
    const out: Array<[string, PyValue]> = [];
    if (offset < 0 && maxItems !== undefined) offset = this.history.size - maxItems;
    let i = 0;
    let n = 0;
    for (const [k, v] of this.history) {
      if (i >= offset) {
        out.push([k, v as unknown as PyValue]);
        n++;
        if (maxItems !== undefined && n >= maxItems) break;
      }
      i++;
    }
    return orderedDict(out);
  }

  deleteHistory(promptId: string): void {
    this.history.delete(promptId);
  }

  wipeHistory(): void {
    this.history.clear();
  }

  /** A process restart: everything in memory is gone, counters start again. */
  resetAll(): void {
    this.heap = [];
    this.running.clear();
    this.history.clear();
    this.counter = 0;
    this.taskCounter = 0;
  }
}
