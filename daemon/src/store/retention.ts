import type { AssetRecord, AssetRefRecord } from './types.js';

/** The queries the retention sweeper needs; only the store speaks SQL. */
export interface RetentionRepo {
  /**
   * Finished (terminal) jobs, oldest first, finished before `before`, except those in `keep` (jobs whose outputs an
   * unfinished job takes as input) and succeeded jobs whose next chain step is still to be made (it takes their output).
   */
  finishedJobIds(before: number, limit: number, keep?: readonly string[]): Promise<string[]>;
  /** Deletes terminal jobs with their attempts, outputs and variants (rows only). */
  deleteJobs(ids: readonly string[]): Promise<number>;
  refsCreatedBefore(before: number): Promise<AssetRefRecord[]>;
  deleteRefs(ids: readonly string[]): Promise<void>;
  /** Assets no output, variant or asset ref points at, created before `before` (a grace for uploads in flight). */
  unreferencedAssets(before: number): Promise<AssetRecord[]>;
  deleteAssets(sha256s: readonly string[]): Promise<void>;
  totalAssetBytes(): Promise<number>;
  /** Which of these blobs have an asset row (a file without one is an orphan a crash left). */
  knownAssets(sha256s: readonly string[]): Promise<Set<string>>;
  /**
   * Webhook history: job-scoped webhooks disabled before `before`, or retired before it with their job gone
   * (a retired one whose job remains is revived by a retry or a later event of it), with their deliveries; then
   * other deliveries older than `before`; then all but the newest `perWebhook` of each webhook (null: no such
   * cut). Returns what went, or with `dryRun` what would go, deleting nothing.
   */
  pruneWebhooks(opts: {
    before: number | null;
    perWebhook: number | null;
    dryRun: boolean;
  }): Promise<{ webhooks: number; deliveries: number }>;
}
