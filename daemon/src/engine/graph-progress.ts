import type { ComfyGraph, Progress } from '@comfygate/shared';

export const NO_PROGRESS: Progress = {
  fraction: 0,
  nodesDone: 0,
  nodesTotal: 0,
  node: null,
  nodeClass: null,
  value: 0,
  max: 0,
};

const isLink = (v: unknown): v is [string, number] => Array.isArray(v) && v.length === 2 && typeof v[0] === 'string';

/**
 * The nodes ComfyUI will run: output nodes and what feeds them (it prunes the rest at validation). With no
 * output class known (capabilities not read yet) or none in the graph, every node counts.
 */
export function nodesToRun(graph: ComfyGraph, outputClasses: ReadonlySet<string> | null): Set<string> {
  const outputs = outputClasses ? Object.keys(graph).filter((id) => outputClasses.has(graph[id]!.class_type)) : [];
  if (outputs.length === 0) return new Set(Object.keys(graph));
  const seen = new Set<string>();
  const stack = [...outputs];
  // Bounded by the graph's size: each node is expanded once.
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id) || !graph[id]) continue;
    seen.add(id);
    for (const v of Object.values(graph[id].inputs)) if (isLink(v) && !seen.has(v[0])) stack.push(v[0]);
  }
  return seen;
}

/**
 * One prompt's overall progress, from the cheap messages only: `execution_cached` (nodes done at once),
 * `executing` (a new node starts, so the one before is done) and `progress` (the current node's steps).
 * `progress_state` would say the same but repeats every started node in each message (quadratic bytes on a
 * big graph), so the socket does not even parse it.
 */
export class GraphProgress {
  private plan: Set<string> | null = null;
  private readonly done = new Set<string>();
  private current: string | null = null;
  private value = 0;
  private max = 0;

  constructor(
    private readonly graph: ComfyGraph,
    private readonly outputClasses: ReadonlySet<string> | null,
  ) {}

  /** Built at the first message, not at dispatch, so a job that never runs costs nothing. */
  private toRun(): Set<string> {
    return (this.plan ??= nodesToRun(this.graph, this.outputClasses));
  }

  cached(nodes: readonly unknown[]): void {
    const plan = this.toRun();
    for (const n of nodes) if (typeof n === 'string' && plan.has(n)) this.done.add(n);
  }

  executing(node: string): void {
    if (node === this.current) return;
    if (this.current !== null && this.toRun().has(this.current)) this.done.add(this.current);
    this.current = node;
    this.value = 0;
    this.max = 0;
  }

  step(node: string | null, value: number, max: number): void {
    if (node !== null && node !== this.current) this.executing(node);
    if (Number.isFinite(value) && Number.isFinite(max)) ((this.value = value), (this.max = max));
  }

  /** `executing {node: null}` without an error: every node ran, the last one included (no later node says so). */
  complete(): void {
    for (const n of this.toRun()) this.done.add(n);
    this.current = null;
    this.value = 0;
    this.max = 0;
  }

  /** The snapshot as a stable function, for the progress board to call when it sends. */
  readonly read = (): Progress => this.snapshot();

  snapshot(): Progress {
    const plan = this.toRun();
    const total = plan.size;
    const running = this.current !== null && plan.has(this.current) && !this.done.has(this.current);
    const partial = running && this.max > 0 ? Math.min(1, Math.max(0, this.value / this.max)) : 0;
    const fraction = total > 0 ? Math.min(1, (this.done.size + partial) / total) : 0;
    const node = this.current;
    return {
      fraction,
      nodesDone: this.done.size,
      nodesTotal: total,
      node,
      nodeClass: node !== null ? (this.graph[node]?.class_type ?? null) : null,
      value: this.value,
      max: this.max,
    };
  }
}
