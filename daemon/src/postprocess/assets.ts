import type { PostprocessSpec } from '@comfygate/shared';

/**
 * The stored images a post-processing spec names (watermarks by sha256). They are drawn into the job's variants,
 * which its token downloads, so they are checked at submit like the graph's own assets: they must exist, and be
 * the submitting token's to use.
 */
export function postprocessAssetIds(spec: PostprocessSpec | null | undefined): string[] {
  return Object.values(spec?.variants ?? {}).flatMap((v) =>
    v.ops.flatMap((o) => (o.op === 'watermark' && o.image && 'sha256' in o.image ? [o.image.sha256] : [])),
  );
}
