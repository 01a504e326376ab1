import fs from 'node:fs/promises';
import type { AssetFiles } from './files.js';
import { assetRefIds } from '../engine/inputs.js';
import type { Store } from '../store/types.js';

export interface RetentionPolicy {
  /** Finished jobs (and uploads) older than this are removed; null keeps them. */
  maxAgeMs: number | null;
  /** Oldest finished jobs go first until the content store is below this; null means no bound. */
  maxDiskBytes: number | null;
  /** Under disk pressure, unreferenced uploads younger than this are still left alone (a job may be on its way). */
  graceMs: number;
  /** Webhook delivery records (and retired job webhooks) older than this are removed; null keeps them. */
  webhookDeliveriesMaxAgeMs: number | null;
  /** Delivery records kept per webhook, newest first; null means no bound. */
  webhookDeliveriesPerWebhook: number | null;
}

export interface SweepReport {
  dryRun: boolean;
  jobs: number;
  refs: number;
  assets: number;
  bytes: number;
  /** Retired job webhooks removed with their delivery records. */
  webhooks: number;
  /** Delivery records removed (those of removed webhooks included). */
  deliveries: number;
}

const LIVE = ['queued', 'dispatched', 'running', 'postprocessing'] as const;
const CHUNK = 50;

/**
 * Everything a job that is not finished may still need (its `core/ASSET` references): the blobs by sha256, and
 * the finished jobs owning an output it names by id (a chain step takes the previous step's output so), whose
 * deletion would take that output row with it.
 */
async function protectedBlobs(store: Store): Promise<{ shas: Set<string>; refIds: Set<string>; jobIds: string[] }> {
  const refIds = new Set<string>();
  for (const job of await store.jobs.inStates(LIVE))
    for (const id of assetRefIds(JSON.parse(job.graphJson))) refIds.add(id);
  const shas = new Set<string>();
  const jobIds = new Set<string>();
  for (const id of refIds) {
    const a = await store.assets.resolve(id);
    if (a) shas.add(a.sha256);
    const output = await store.outputs.get(id);
    if (output) jobIds.add(output.jobId);
  }
  return { shas, refIds, jobIds: [...jobIds] };
}

/**
 * One retention pass: expired jobs, expired uploads, then files nothing references, rows first and files
 * after (a crash in between leaves an orphan file for the next pass, never a row without its file).
 * Never removes a blob a live job references, nor a finished job whose output a live job takes as input (or whose
 * next chain step is still to be made). Then webhook history beyond its age and count.
 */
export async function sweep(
  store: Store,
  files: AssetFiles,
  policy: RetentionPolicy,
  dryRun = false,
): Promise<SweepReport> {
  const now = Date.now();
  const report: SweepReport = { dryRun, jobs: 0, refs: 0, assets: 0, bytes: 0, webhooks: 0, deliveries: 0 };
  // Reading every live job's graph is only worth it when jobs or files may go.
  if (policy.maxAgeMs !== null || policy.maxDiskBytes !== null)
    await sweepJobsAndFiles(store, files, policy, now, report);
  Object.assign(
    report,
    await store.retention.pruneWebhooks({
      before: policy.webhookDeliveriesMaxAgeMs === null ? null : now - policy.webhookDeliveriesMaxAgeMs,
      perWebhook: policy.webhookDeliveriesPerWebhook,
      dryRun,
    }),
  );
  return report;
}

async function sweepJobsAndFiles(
  store: Store,
  files: AssetFiles,
  policy: RetentionPolicy,
  now: number,
  report: SweepReport,
): Promise<void> {
  const { dryRun } = report;
  const keep = await protectedBlobs(store);
  if (policy.maxAgeMs !== null) {
    const ids = await store.retention.finishedJobIds(now - policy.maxAgeMs, 100_000, keep.jobIds);
    report.jobs += dryRun ? ids.length : await store.retention.deleteJobs(ids);
    const refs = (await store.retention.refsCreatedBefore(now - policy.maxAgeMs)).filter(
      (r) => !keep.refIds.has(r.id) && !keep.shas.has(r.sha256),
    );
    if (!dryRun) await store.retention.deleteRefs(refs.map((r) => r.id));
    report.refs = refs.length;
  }
  if (policy.maxDiskBytes !== null && !dryRun) {
    while ((await store.retention.totalAssetBytes()) > policy.maxDiskBytes) {
      const ids = await store.retention.finishedJobIds(now, CHUNK, keep.jobIds);
      if (ids.length === 0) break;
      report.jobs += await store.retention.deleteJobs(ids);
      await removeUnreferenced(store, files, now - policy.graceMs, keep.shas, report);
    }
  }
  // Uploads nothing uses yet are kept as long as jobs are: a client may upload now and submit later.
  if (policy.maxAgeMs !== null)
    await removeUnreferenced(store, files, now - policy.maxAgeMs, keep.shas, report, dryRun);
  await removeOrphanFiles(store, files, now - policy.graceMs, keep.shas, report);
}

/**
 * Files with no asset row: a crash between a file's rename into place and its row's commit (uploads, harvests)
 * leaves one, as does one between a row's deletion and its file's. Only files older than the grace: a write in
 * flight renames a fresh file, and each is looked at again right before it goes.
 */
async function removeOrphanFiles(
  store: Store,
  files: AssetFiles,
  before: number,
  keep: Set<string>,
  report: SweepReport,
): Promise<void> {
  const stillOrphan = async (sha256: string) => {
    const st = await fs.stat(files.pathFor(sha256)).catch(() => null);
    return st !== null && st.mtimeMs < before && (await store.retention.knownAssets([sha256])).size === 0;
  };
  let batch: { sha256: string; mtimeMs: number; bytes: number }[] = [];
  const flush = async () => {
    const known = await store.retention.knownAssets(batch.map((b) => b.sha256));
    for (const f of batch.filter((b) => !known.has(b.sha256) && !keep.has(b.sha256))) {
      if (!report.dryRun) {
        if (!(await stillOrphan(f.sha256))) continue;
        await fs.rm(files.pathFor(f.sha256), { force: true });
      }
      report.assets++;
      report.bytes += f.bytes;
    }
    batch = [];
  };
  for await (const f of files.blobs()) {
    if (f.mtimeMs >= before) continue;
    batch.push(f);
    if (batch.length >= 500) await flush();
  }
  if (batch.length > 0) await flush();
}

async function removeUnreferenced(
  store: Store,
  files: AssetFiles,
  before: number,
  keep: Set<string>,
  report: SweepReport,
  dryRun = false,
) {
  const gone = (await store.retention.unreferencedAssets(before)).filter((a) => !keep.has(a.sha256));
  if (gone.length === 0) return;
  report.assets += gone.length;
  report.bytes += gone.reduce((n, a) => n + a.bytes, 0);
  if (dryRun) return;
  await store.retention.deleteAssets(gone.map((a) => a.sha256));
  for (const a of gone) await fs.rm(files.pathFor(a.sha256), { force: true });
}
