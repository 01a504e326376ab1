import type { ComfyGraph } from '@comfygate/shared';
import type { ComfyBackend } from '../comfy/backend.js';
import { missingFor } from '../comfy/capabilities.js';

const list = (bs: readonly ComfyBackend[]) => bs.map((b) => b.name).join(', ');

/**
 * Why a queued job is not running yet, in words a person can act on ("no backend is up", "needs ... only on gpu-a,
 * which is draining"). The same reading of capabilities and load as routing.ts, kept apart so routing stays a
 * decision and this stays an explanation; null when the job is about to be placed.
 */
export function whyWaiting(
  graph: ComfyGraph,
  pin: string | null,
  all: readonly ComfyBackend[],
  load: (b: ComfyBackend) => number,
  notBefore: number,
  now = Date.now(),
): string | null {
  if (notBefore > now) return `retrying in ${Math.ceil((notBefore - now) / 1000)} s`;
  const candidates = pin ? all.filter((b) => b.name === pin) : all;
  if (candidates.length === 0)
    return pin ? `pinned to backend '${pin}', which is not configured` : 'no backend configured';
  const known = candidates.filter((b) => b.capabilities);
  if (known.length === 0) {
    // Never reached since the start: what the user can act on is that nothing answers, not the missing node list.
    if (candidates.every((b) => b.health !== 'up')) return 'no backend is up';
    return 'waiting for a backend to report its nodes and models';
  }
  const lacking = new Map(known.map((b) => [b, missingFor(graph, b.capabilities!)]));
  const capable = known.filter((b) => lacking.get(b)!.length === 0);
  const need = [...lacking.values()].find((m) => m.length > 0)?.[0];
  const usable = capable.filter((b) => b.health === 'up' && !b.draining);
  if (capable.length > 0 && usable.length === 0) {
    const why = capable.every((b) => b.health !== 'up')
      ? capable.length > 1
        ? 'which are down'
        : 'which is down'
      : 'draining or down';
    if (need) return `needs ${need}: only on ${list(capable)}, ${why}`;
    if (candidates.every((b) => b.health !== 'up')) return 'no backend is up';
    return candidates.every((b) => b.draining || b.health !== 'up') ? 'every backend is draining' : why;
  }
  if (usable.length > 0 && usable.every((b) => load(b) >= b.config.inflight))
    return `waiting for a free slot on ${list(usable)}`;
  return null;
}
