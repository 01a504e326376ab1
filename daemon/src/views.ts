import type { Backend, ComfyGraph, Job } from '@comfygate/shared';
import type { ComfyBackend } from './comfy/backend.js';
import { modelsView } from './comfy/models.js';
import type { Engine } from './engine/engine.js';
import { whyWaiting } from './engine/waiting.js';
import { ownerNames } from './ownership/names.js';
import type { JobRecord, OutputRecord, OutputVariantRecord, Store } from './store/types.js';

/**
 * How stored jobs and live backends read over the API: the row joined with its outputs, variants and owner's name,
 * plus what only the running engine knows (live progress, why a queued job waits, a backend's load).
 */
export function createViews({ store, engine }: { store: Store; engine: Engine }) {
  const waitingOf = (r: JobRecord) =>
    whyWaiting(
      JSON.parse(r.graphJson) as ComfyGraph,
      r.backendPin,
      [...engine.backends.values()],
      (b) => engine.loadOf(b),
      r.notBefore,
    );
  const toView = (
    r: JobRecord,
    outputs: OutputRecord[],
    variants: OutputVariantRecord[],
    names: Map<string, string>,
  ): Job => ({
    id: r.id,
    state: r.state,
    priority: r.priority,
    client: r.client,
    owner: { id: r.owner, name: names.get(r.owner) ?? r.owner },
    backend: r.lastBackend,
    attempts: r.attempts,
    maxAttempts: r.maxAttempts,
    error: r.error,
    progress: engine.progress.get(r.id),
    waiting: r.state === 'queued' ? waitingOf(r) : null,
    outputs: outputs.map(({ attemptId: _a, createdAt: _c, ...o }) => ({
      ...o,
      variants: variants
        .filter((v) => v.outputId === o.id)
        .map(({ outputId: _o, jobId: _j, createdAt: _t, ...v }) => v),
    })),
    texts: r.texts,
    metadata: r.metadata,
    parentJobId: r.parentJobId,
    then: r.then as Job['then'],
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  });
  const views = async (records: JobRecord[]) => {
    const ids = records.map((r) => r.id);
    const [outputs, variants, names] = await Promise.all([
      store.outputs.forJobs(ids),
      store.outputs.variantsForJobs(ids),
      ownerNames(store),
    ]);
    return records.map((r) => toView(r, outputs.get(r.id) ?? [], variants.get(r.id) ?? [], names));
  };
  const backendView = (b: ComfyBackend): Backend => ({
    name: b.name,
    url: b.config.url,
    health: b.health,
    reason: b.health === 'up' ? null : b.healthReason,
    draining: b.draining,
    inflight: engine.loadOf(b),
    capacity: b.config.inflight,
    weight: b.config.weight,
    nodes: b.capabilities?.nodes.length ?? null,
    ...modelsView(b.capabilities),
  });
  return { views, backendView };
}
