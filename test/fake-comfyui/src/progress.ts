// The per-prompt progress registry behind `progress_state` (§3.3): every node that left "pending" is
// reported on each start, update and finish.
import { PyFloat, orderedDict, type PyDict, type PyValue } from './pyjson.js';

interface NodeProgress {
  state: 'pending' | 'running' | 'finished';
  value: PyValue;
  max: PyValue;
}

export class ProgressTracker {
  private readonly nodes = new Map<string, NodeProgress>();

  constructor(
    private readonly promptId: string,
    private readonly emit: (data: PyDict) => void,
  ) {}

  private entry(nodeId: string): NodeProgress {
    let e = this.nodes.get(nodeId);
    if (!e) {
      e = { state: 'pending', value: new PyFloat(0), max: new PyFloat(1) };
      this.nodes.set(nodeId, e);
    }
    return e;
  }

  start(nodeId: string): void {
    Object.assign(this.entry(nodeId), { state: 'running', value: new PyFloat(0), max: new PyFloat(1) });
    this.send();
  }

  update(nodeId: string, value: number, max: number): void {
    Object.assign(this.entry(nodeId), { state: 'running', value, max });
    this.send();
  }

  finish(nodeId: string): void {
    const e = this.entry(nodeId);
    e.state = 'finished';
    e.value = e.max;
    this.send();
  }

  private send(): void {
    const entries: Array<[string, PyValue]> = [];
    for (const [id, e] of this.nodes) {
      if (e.state === 'pending') continue;
      entries.push([
        id,
        {
          value: e.value,
          max: e.max,
          state: e.state,
          node_id: id,
          prompt_id: this.promptId,
          display_node_id: id,
          parent_node_id: null,
          real_node_id: id,
        },
      ]);
    }
    this.emit({ prompt_id: this.promptId, nodes: orderedDict(entries) });
  }
}
