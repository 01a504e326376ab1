import type { CreateJob } from '../jobs.js';
import type { Op, OutputFormat, PostprocessSpec } from '../postprocess.js';
import type { AssetManifest, ManifestEntry } from './schema.js';

export const DEFAULT_TEMPLATE = 'txt2img';
/** The variant that becomes the entry's own output file; entries cannot use this name for their variants. */
export const MAIN_VARIANT = 'file';

const FORMAT_BY_EXT: Record<string, OutputFormat> = {
  png: 'png',
  jpg: 'jpeg',
  jpeg: 'jpeg',
  webp: 'webp',
  avif: 'avif',
};

/** The format a path asks for: its extension decides, so `hero.webp` is a WebP whatever the template saves. */
export function formatFor(file: string): OutputFormat {
  const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  return FORMAT_BY_EXT[ext] ?? 'png';
}

/** Ops ending in the path's format (an explicit format op in the list wins). */
function opsFor(file: string, ops: Op[] = []): Op[] {
  return ops.some((o) => o.op === 'format') ? ops : [...ops, { op: 'format', format: formatFor(file) }];
}

/** Everything that decides an entry's image: what is hashed and what is submitted. */
export interface ResolvedEntry {
  template: string;
  params: Record<string, unknown>;
  postprocess: PostprocessSpec;
  /** variant name -> output path, the main output under MAIN_VARIANT. */
  files: Record<string, string>;
}

export function resolveEntry(manifest: Pick<AssetManifest, 'defaults'>, entry: ManifestEntry): ResolvedEntry {
  const d = manifest.defaults ?? {};
  const params: Record<string, unknown> = { ...d.params, ...entry.params };
  const set = (k: string, v: unknown) => v !== undefined && (params[k] = v);
  set('prompt', entry.prompt);
  set('negative', entry.negative ?? d.negative);
  set('width', entry.width ?? d.width);
  set('height', entry.height ?? d.height);
  set('seed', entry.seed);
  const variants: PostprocessSpec['variants'] = { [MAIN_VARIANT]: { ops: opsFor(entry.output, entry.ops) } };
  const files: Record<string, string> = { [MAIN_VARIANT]: entry.output };
  for (const [name, v] of Object.entries(entry.variants ?? {})) {
    variants[name] = { ops: opsFor(v.output, v.ops) };
    files[name] = v.output;
  }
  return { template: entry.template ?? d.template ?? DEFAULT_TEMPLATE, params, postprocess: { variants }, files };
}

/** The job for an entry; metadata names the manifest entry so the daemon's history shows where it came from. */
export function jobFor(r: ResolvedEntry, source: string): CreateJob {
  return {
    template: r.template,
    params: r.params,
    postprocess: r.postprocess,
    metadata: { source, asset: r.files[MAIN_VARIANT] },
  };
}
