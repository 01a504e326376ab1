import crypto from 'node:crypto';
import type { AssetFiles } from '../assets/files.js';
import type { PostprocessHook } from '../engine/engine.js';
import type { JobRecord, OutputRecord, OutputVariantRecord, Store } from '../store/types.js';
import { provenanceOf } from './provenance-of.js';
import { assetFilesSink } from './sinks.js';
import type { Postprocessor } from './processor.js';

/** Variants and thumbnails are made from still images; a video, an animation or audio is kept as it came. */
export const isStillImage = (o: OutputRecord): boolean => o.contentType.startsWith('image/') && !o.animated;

/** One warning per job naming what post-processing left alone, so nobody waits for a thumbnail of a video. */
async function reportSkipped(store: Store, jobId: string, skipped: OutputRecord[]): Promise<void> {
  if (skipped.length === 0) return;
  const outputs = skipped.map((o) => ({
    nodeId: o.nodeId,
    index: o.index,
    contentType: o.contentType,
    animated: o.animated,
  }));
  const message = `post-processing applies to still images only; ${skipped.length} output(s) kept as they are (no variants, no thumbnail)`;
  await store.events.append('job:warning', jobId, { message, outputs });
}

/**
 * The engine's post-processing step: every image output of the job is rendered into its variants (the job's
 * spec, or just the thumbnail), each stored by content hash and recorded. Safe to run again after a restart.
 */
export function makePostprocessHook(deps: {
  store: Store;
  files: AssetFiles;
  postprocessor: Postprocessor;
  backendOf?: (job: JobRecord) => string | null;
}): PostprocessHook {
  return async (job) => {
    const all = ((await deps.store.outputs.forJobs([job.id])).get(job.id) ?? []).filter((o) => o.kind === 'output');
    const outputs = all.filter(isStillImage);
    await reportSkipped(
      deps.store,
      job.id,
      all.filter((o) => !isStillImage(o)),
    );
    const spec = job.postprocess ?? { variants: {} };
    const provenance = provenanceOf(job);
    const variants: OutputVariantRecord[] = [];
    for (const o of outputs) {
      const results = await deps.postprocessor.processInto(
        deps.files.pathFor(o.sha256),
        spec,
        provenance,
        assetFilesSink(deps.files),
      );
      for (const r of results) {
        const now = Date.now();
        await deps.store.assets.upsert({
          sha256: r.stored.sha256,
          bytes: r.sizeBytes,
          contentType: r.contentType,
          width: r.width,
          height: r.height,
          createdAt: now,
        });
        variants.push({
          id: crypto.randomUUID(),
          outputId: o.id,
          jobId: job.id,
          variant: r.variant,
          sha256: r.stored.sha256,
          bytes: r.sizeBytes,
          contentType: r.contentType,
          width: r.width,
          height: r.height,
          createdAt: now,
        });
      }
    }
    await deps.store.outputs.putVariants(job.id, variants);
  };
}
