import type { AssetRecord, AssetRefRecord } from './types.js';

/** The queries the retention sweeper needs; only the store speaks SQL. */
export interface RetentionRepo {
  /** Finished (terminal) jobs, oldest first, finished before `before`. */
  finishedJobIds(before: number, limit: number): Promise<string[]>;
  /** Deletes terminal jobs with their attempts, outputs and variants (rows only). */
  deleteJobs(ids: readonly string[]): Promise<number>;
  refsCreatedBefore(before: number): Promise<AssetRefRecord[]>;
  deleteRefs(ids: readonly string[]): Promise<void>;
  /** Assets no output, variant or asset ref points at, created before `before` (a grace for uploads in flight). */
  unreferencedAssets(before: number): Promise<AssetRecord[]>;
  deleteAssets(sha256s: readonly string[]): Promise<void>;
  totalAssetBytes(): Promise<number>;
  /**
   * Webhook history: job-scoped webhooks retired (or disabled) before `before`, with their deliveries; then
   * other deliveries older than `before`; then all but the newest `perWebhook` of each webhook (null: no such
   * cut). Returns what went, or with `dryRun` what would go, deleting nothing.
   */
  pruneWebhooks(opts: { before: number | null; perWebhook: number | null; dryRun: boolean }): Promise<{ webhooks: number; deliveries: number }>;
}
