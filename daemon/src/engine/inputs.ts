import fs from 'node:fs';
import { parse, stringify } from 'lossless-json';
import type { AssetFiles } from '../assets/files.js';
import type { ComfyBackend } from '../comfy/backend.js';
import { GatewayError } from '../errors.js';
import type { AssetsRepo, ResolvedAsset } from '../store/types.js';

/** `{"__type": "core/ASSET", "info": {"id": …}}` in a node input (Comfy API v2 §4.7). */
interface AssetRef {
  __type: 'core/ASSET';
  info: { id: string };
}

const isAssetRef = (v: unknown): v is AssetRef =>
  typeof v === 'object' &&
  v !== null &&
  (v as AssetRef).__type === 'core/ASSET' &&
  typeof (v as AssetRef).info?.id === 'string';

/** Every asset id a graph references, in node order. */
export function assetRefIds(graph: Record<string, { inputs?: Record<string, unknown> }>): string[] {
  return Object.values(graph).flatMap((n) =>
    Object.values(n.inputs ?? {})
      .filter(isAssetRef)
      .map((r) => r.info.id),
  );
}

/**
 * Fails (422 missing_asset) unless every referenced asset exists, so a job never fails later for it. With `owner`,
 * another token's asset counts as missing: a job could otherwise copy it into outputs its maker may read.
 */
export async function checkAssetRefs(ids: string[], assets: AssetsRepo, owner?: string): Promise<void> {
  const missing: string[] = [];
  for (const id of new Set(ids)) if (!(await assets.resolve(id, owner))) missing.push(id);
  if (missing.length > 0) {
    throw new GatewayError({
      code: 'missing_asset',
      message: `unknown asset id(s): ${missing.join(', ')}`,
      details: { missing_ids: missing },
    });
  }
}

const EXT: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

/**
 * Rewrites asset references into file names in the chosen backend's input/, uploading each blob there first.
 * Names are derived from the content hash, so a repeat upload is deduplicated by ComfyUI and by our cache.
 */
export class InputStager {
  /** backend name -> sha256 -> the LoadImage value ComfyUI expects. */
  private readonly staged = new Map<string, Map<string, string>>();

  constructor(
    private readonly assets: AssetsRepo,
    private readonly files: AssetFiles,
  ) {}

  async stage(graphJson: string, backend: ComfyBackend): Promise<string> {
    if (!graphJson.includes('core/ASSET')) return graphJson;
    // lossless-json keeps seeds above 2^53 as their original digits through the round trip.
    const graph = parse(graphJson) as Record<string, { inputs?: Record<string, unknown> }>;
    for (const node of Object.values(graph)) {
      for (const [name, value] of Object.entries(node.inputs ?? {})) {
        if (isAssetRef(value)) node.inputs![name] = await this.upload(value.info.id, backend);
      }
    }
    return stringify(graph) ?? graphJson;
  }

  forget(backend: string): void {
    this.staged.delete(backend);
  }

  private async upload(id: string, backend: ComfyBackend): Promise<string> {
    const asset = await this.assets.resolve(id);
    if (!asset) throw new GatewayError({ code: 'missing_asset', message: `asset ${id} no longer exists` });
    const cache = this.staged.get(backend.name) ?? new Map<string, string>();
    this.staged.set(backend.name, cache);
    const known = cache.get(asset.sha256);
    if (known) return known;
    const ref = await backend.http.uploadImage(
      {
        name: stagedName(asset),
        data: await fs.openAsBlob(this.files.pathFor(asset.sha256), { type: asset.contentType }),
      },
      { subfolder: 'comfygate' },
    );
    const value = ref.subfolder ? `${ref.subfolder}/${ref.filename}` : ref.filename;
    cache.set(asset.sha256, value);
    return value;
  }
}

function stagedName(a: ResolvedAsset): string {
  return `cg_${a.sha256.slice(0, 24)}.${EXT[a.contentType] ?? 'png'}`;
}
