// Injected faults (the control API's knobs that are not lifecycle operations). Each one is consumed by
// the layer it affects: HTTP routing, the worker, or /view.

export interface NodeFailure {
  exceptionType: string;
  message: string;
}

interface RouteFailure {
  method: string;
  path: string;
  status: number;
  remaining: number;
}

interface NodeFailureRule extends NodeFailure {
  remaining: number;
}

/** '/api/prompt' and '/prompt' are the same route. */
export function normalizeRoutePath(p: string): string {
  const noQuery = p.split('?')[0] ?? p;
  return noQuery.startsWith('/api/') ? noQuery.slice(4) : noQuery;
}

export class Faults {
  private routes: RouteFailure[] = [];
  private readonly nodes = new Map<string, NodeFailureRule>();
  delayHistoryMs = 0;
  slowViewMs = 0;
  /** Armed by dropSocketsAfterSteps(n); taken by the next prompt that starts. */
  dropAfterSteps: number | null = null;

  failRoute(method: string, path: string, status: number, times = Infinity): void {
    this.routes.push({ method: method.toUpperCase(), path: normalizeRoutePath(path), status, remaining: times });
  }

  /** The status to answer with instead of handling the request, consuming one use. */
  takeRouteFailure(method: string, path: string): number | undefined {
    const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
    const p = normalizeRoutePath(path);
    const rule = this.routes.find((r) => r.method === m && r.path === p && r.remaining > 0);
    if (!rule) return undefined;
    rule.remaining--;
    return rule.status;
  }

  failNode(classType: string, opts: { exceptionType?: string; message?: string; times?: number } = {}): void {
    const message = opts.message ?? 'Allocation on device ';
    this.nodes.set(classType, {
      exceptionType: opts.exceptionType ?? 'torch.OutOfMemoryError',
      // ComfyUI sends "<error text>\n<tips>"; with no tips the message ends with "\n".
      message: message.endsWith('\n') ? message : `${message}\n`,
      remaining: opts.times ?? Infinity,
    });
  }

  takeNodeFailure(classType: string): NodeFailure | undefined {
    const rule = this.nodes.get(classType);
    if (!rule || rule.remaining <= 0) return undefined;
    rule.remaining--;
    return { exceptionType: rule.exceptionType, message: rule.message };
  }

  takeDropAfterSteps(): number | null {
    const n = this.dropAfterSteps;
    this.dropAfterSteps = null;
    return n;
  }

  reset(): void {
    this.routes = [];
    this.nodes.clear();
    this.delayHistoryMs = 0;
    this.slowViewMs = 0;
    this.dropAfterSteps = null;
  }
}
