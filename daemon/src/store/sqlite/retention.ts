import type { AssetRecord, AssetRefRecord } from '../types.js';
import type { RetentionRepo } from '../retention.js';
import type { Db } from './db.js';

const inList = (n: number) => Array.from({ length: n }, () => '?').join(',');

export function makeRetentionRepo(db: Db): RetentionRepo {
  const finished = db.prepare(`SELECT id FROM jobs WHERE state IN ('succeeded','failed','canceled') AND finished_at < ?
    ORDER BY finished_at LIMIT ?`);
  const refsBefore = db.prepare(`SELECT id, sha256, file_path AS filePath, content_type AS contentType, job_id AS jobId, created_at AS createdAt
    FROM asset_refs WHERE created_at < ?`);
  const unreferenced = db.prepare(`SELECT sha256, bytes, content_type AS contentType, width, height, created_at AS createdAt FROM assets a
    WHERE a.created_at < ?
      AND NOT EXISTS (SELECT 1 FROM outputs o WHERE o.sha256 = a.sha256)
      AND NOT EXISTS (SELECT 1 FROM output_variants v WHERE v.sha256 = a.sha256)
      AND NOT EXISTS (SELECT 1 FROM asset_refs r WHERE r.sha256 = a.sha256)`);
  const total = db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM assets');
  return {
    async finishedJobIds(before, limit) {
      return (finished.all(before, limit) as { id: string }[]).map((r) => r.id);
    },
    async deleteJobs(ids) {
      if (ids.length === 0) return 0;
      return db.prepare(`DELETE FROM jobs WHERE id IN (${inList(ids.length)}) AND state IN ('succeeded','failed','canceled')`).run(...ids).changes;
    },
    async refsCreatedBefore(before) {
      return refsBefore.all(before) as AssetRefRecord[];
    },
    async deleteRefs(ids) {
      if (ids.length > 0) db.prepare(`DELETE FROM asset_refs WHERE id IN (${inList(ids.length)})`).run(...ids);
    },
    async unreferencedAssets(before) {
      return unreferenced.all(before) as AssetRecord[];
    },
    async deleteAssets(shas) {
      if (shas.length > 0) db.prepare(`DELETE FROM assets WHERE sha256 IN (${inList(shas.length)})`).run(...shas);
    },
    async totalAssetBytes() {
      return (total.get() as { n: number }).n;
    },
  };
}
