import type { Batch } from '../batches.js';
import type { GatewayClient } from '../client.js';
import type { Job } from '../jobs.js';
import type { Template } from '../templates.js';
import {
  fileSha256,
  loadManifest,
  type LoadedManifest,
  ManifestError,
  outputPath,
  readLock,
  writeFileAtomic,
  writeLock,
} from './files.js';
import { sha256Hex } from './hash.js';
import { isStale, manifestProblems, type ManifestProblem, planAssets, type PlannedEntry } from './plan.js';
import { jobFor, MAIN_VARIANT } from './resolve.js';
import type { AssetLock } from './schema.js';

export interface AssetsCheck {
  loaded: LoadedManifest;
  templates: Template[];
  problems: ManifestProblem[];
  planned: PlannedEntry[];
}

/** Reads the manifest and the lock and asks the daemon for its templates: what is fresh, what would be generated. */
export async function checkAssets(client: GatewayClient, manifestFile: string): Promise<AssetsCheck> {
  const loaded = loadManifest(manifestFile);
  const templates = await client.templates();
  const problems = manifestProblems(loaded.manifest, templates);
  const lock = readLock(loaded.dir);
  const planned = planAssets({
    manifest: loaded.manifest,
    lock,
    templates,
    fileSha256: (rel) => fileSha256(outputPath(loaded.dir, rel)),
  });
  return { loaded, templates, problems, planned };
}

export interface AssetsResult extends AssetsCheck {
  /** The one batch of the stale entries; null when everything was fresh. */
  batch: Batch | null;
  written: string[];
  failed: { output: string; message: string }[];
}

export interface GenerateOptions {
  /** `metadata.source` of the jobs, e.g. `cli` or `vscode`. */
  source: string;
  /** Aborting cancels the batch on the daemon. */
  signal?: AbortSignal;
  onBatch?(batch: Batch): void;
  onProgress?(batch: Batch): void;
  pollMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * Generate Assets: every stale entry in one batch, the outputs written beside the manifest, the lock updated for
 * what succeeded (and pruned of entries the manifest no longer has). Entries naming a template or parameter the
 * daemon does not know stop the run before anything is submitted.
 */
export async function generateAssets(
  client: GatewayClient,
  manifestFile: string,
  o: GenerateOptions,
): Promise<AssetsResult> {
  const check = await checkAssets(client, manifestFile);
  if (check.problems.length > 0) {
    const issues = check.problems.map((p) => ({ path: `assets.${p.index}.${p.field}`, message: p.message }));
    throw new ManifestError(`${check.loaded.file}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  const stale = check.planned.filter(isStale);
  const lock: AssetLock = readLock(check.loaded.dir) ?? { version: 1, assets: {} };
  const keep = new Set(check.loaded.manifest.assets.map((a) => a.output));
  for (const k of Object.keys(lock.assets)) if (!keep.has(k)) delete lock.assets[k];
  if (stale.length === 0) {
    writeLock(check.loaded.dir, lock);
    return { ...check, batch: null, written: [], failed: [] };
  }
  const jobs = stale.map((p) => jobFor(p.resolved, o.source));
  let batch = await client.createBatch({ name: `assets: ${stale.length} of ${check.planned.length}`, jobs });
  o.onBatch?.(batch);
  while (batch.done < batch.total) {
    if (o.signal?.aborted) {
      await client.cancelBatch(batch.id).catch(() => undefined);
      throw new ManifestError(`canceled; batch ${batch.id} canceled`);
    }
    await sleep(o.pollMs ?? 300, o.signal);
    batch = await client.getBatch(batch.id);
    o.onProgress?.(batch);
  }
  const written: string[] = [];
  const failed: AssetsResult['failed'] = [];
  for (const [i, planned] of stale.entries()) {
    const job = await client.getJob(batch.jobIds[i]!);
    try {
      if (job.state !== 'succeeded')
        throw new Error(`job ${job.id} ${job.state}${job.error ? `: ${job.error.message}` : ''}`);
      lock.assets[planned.entry.output] = await saveEntry(client, check.loaded.dir, planned, job, written);
    } catch (err) {
      failed.push({ output: planned.entry.output, message: (err as Error).message });
    }
  }
  writeLock(check.loaded.dir, lock);
  return { ...check, batch, written, failed };
}

async function saveEntry(client: GatewayClient, dir: string, planned: PlannedEntry, job: Job, written: string[]) {
  const output = job.outputs.find((out) => out.kind === 'output' && out.variants.length > 0) ?? job.outputs[0];
  if (!output) throw new Error(`job ${job.id} has no output`);
  const shas: Record<string, string> = {};
  for (const [name, rel] of Object.entries(planned.resolved.files)) {
    const variant = output.variants.find((v) => v.variant === name);
    if (!variant) throw new Error(`job ${job.id} made no '${name}' variant`);
    const bytes = new Uint8Array(await (await client.output(variant.id)).arrayBuffer());
    const file = outputPath(dir, rel);
    writeFileAtomic(file, bytes);
    written.push(file);
    shas[name] = sha256Hex(bytes);
  }
  const params = (job.metadata.params ?? {}) as Record<string, unknown>;
  const { [MAIN_VARIANT]: _main, ...variants } = planned.resolved.files;
  return {
    hash: planned.hash,
    sha256: shas[MAIN_VARIANT]!,
    variants: Object.fromEntries(
      Object.entries(variants).map(([name, rel]) => [name, { output: rel, sha256: shas[name]! }]),
    ),
    template: planned.resolved.template,
    seed: params.seed === undefined ? null : String(params.seed),
    jobId: job.id,
    generatedAt: new Date(job.finishedAt ?? Date.now()).toISOString(),
  };
}
