import type { ComfyGraph } from '@comfygate/shared';
import type { ComfyBackend } from '../comfy/backend.js';
import { missingFor } from '../comfy/capabilities.js';

export type Route =
  { kind: 'dispatch'; backend: ComfyBackend } | { kind: 'wait' } | { kind: 'impossible'; missing: string[] };

/**
 * Where a job can go now. Only backends whose last known capabilities cover every node class and model
 * the graph names; among those that are up with a free slot, the least loaded by weight, avoiding the
 * backend that just failed it when another will do. Impossible only when every backend's capabilities
 * are known and none fits; a backend never seen yet might still fit, so the job waits.
 */
export function route(
  graph: ComfyGraph,
  candidates: readonly ComfyBackend[],
  load: (b: ComfyBackend) => number,
  avoid: string | null,
): Route {
  const missing: string[] = [];
  const capable: ComfyBackend[] = [];
  let unknown = 0;
  for (const b of candidates) {
    if (!b.capabilities) {
      unknown++;
      continue;
    }
    const lacks = missingFor(graph, b.capabilities);
    if (lacks.length === 0) capable.push(b);
    else missing.push(...lacks.map((m) => (candidates.length > 1 ? `${b.name}: ${m}` : m)));
  }
  if (capable.length === 0 && unknown === 0) return { kind: 'impossible', missing };
  const free = capable.filter((b) => b.health === 'up' && !b.draining && load(b) < b.config.inflight);
  if (free.length === 0) return { kind: 'wait' };
  const preferred = free.filter((b) => b.name !== avoid);
  const pool = preferred.length > 0 ? preferred : free;
  const score = (b: ComfyBackend) => (load(b) + 1) / b.config.weight;
  return { kind: 'dispatch', backend: pool.reduce((best, b) => (score(b) < score(best) ? b : best)) };
}

/**
 * Priority first; then fairness between clients: fewest jobs in flight, then the client served least
 * recently (round robin), so one big batch cannot starve a designer's single image; then FIFO.
 */
export function fairOrder<J extends { priority: number; client: string; seq: number }>(
  heads: J[],
  activeByClient: (client: string) => number,
  lastServedAt: (client: string) => number,
): J[] {
  return [...heads].sort(
    (a, b) =>
      b.priority - a.priority ||
      activeByClient(a.client) - activeByClient(b.client) ||
      lastServedAt(a.client) - lastServedAt(b.client) ||
      a.seq - b.seq,
  );
}

/** When each client last had a job dispatched, as a counter: the round-robin input of `fairOrder`. */
export class ServedClock {
  private readonly last = new Map<string, number>();
  private counter = 0;

  served(client: string): void {
    if (this.last.size > 10_000) this.last.clear(); // clients are free-form strings: stay bounded
    this.last.set(client, ++this.counter);
  }

  lastServedAt(client: string): number {
    return this.last.get(client) ?? 0;
  }
}
