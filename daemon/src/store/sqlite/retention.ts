import type { AssetRecord, AssetRefRecord } from '../types.js';
import type { RetentionRepo } from '../retention.js';
import type { Db } from './db.js';

const inList = (n: number) => Array.from({ length: n }, () => '?').join(',');

const CHUNK = 5_000;

/**
 * One cut of rows by a WHERE clause: counted for a dry run, else deleted a chunk at a time, yielding to the
 * event loop between chunks so that the first prune of a large table does not stall the daemon.
 */
function cut(db: Db, table: string, where: string) {
  const count = db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`);
  const del = db.prepare(
    `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${where} LIMIT ${CHUNK})`,
  );
  return async (params: Record<string, unknown>, dryRun: boolean): Promise<number> => {
    if (dryRun) return (count.get(params) as { n: number }).n;
    let total = 0;
    for (;;) {
      const n = del.run(params).changes;
      total += n;
      if (n < CHUNK) return total;
      await new Promise((r) => setImmediate(r));
    }
  };
}

/**
 * The three cuts of pruneWebhooks, disjoint so that a dry run counts exactly what a real run removes: the
 * records of expired job webhooks, old records of the others, and records beyond each one's newest N that
 * the age cut leaves. `@before` is -1 when nothing expires by age.
 */
function webhookCuts(db: Db) {
  // A retired one whose job still exists is kept: a retry (or a later event) of that job revives it.
  const expired = `SELECT id FROM webhooks w WHERE job_id IS NOT NULL AND (disabled_at < @before
    OR (disabled_at IS NULL AND retired_at < @before AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = w.job_id)))`;
  return {
    expiredDeliveries: cut(db, 'webhook_deliveries', `webhook_id IN (${expired})`),
    expiredWebhooks: cut(db, 'webhooks', `id IN (${expired})`),
    oldDeliveries: cut(db, 'webhook_deliveries', `at < @before AND webhook_id NOT IN (${expired})`),
    overCap: cut(db, 'webhook_deliveries', 'webhook_id = @id AND id <= @edge AND at >= @before'),
    kept: db.prepare(`SELECT id FROM webhooks EXCEPT ${expired}`),
    // The newest record beyond the cap (index webhook_deliveries_hook): it and every older one go.
    edge: db.prepare('SELECT id FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?'),
  };
}

export function makeRetentionRepo(db: Db): RetentionRepo {
  // Kept: jobs named in @keep (a JSON array), and succeeded ones whose next chain step is still to be made.
  const finished =
    db.prepare(`SELECT id FROM jobs WHERE state IN ('succeeded','failed','canceled') AND finished_at < @before
    AND id NOT IN (SELECT value FROM json_each(@keep))
    AND NOT (state = 'succeeded' AND then_json IS NOT NULL AND chain_next IS NULL AND chain_stopped IS NULL)
    ORDER BY finished_at LIMIT @limit`);
  const refsBefore =
    db.prepare(`SELECT id, sha256, file_path AS filePath, content_type AS contentType, job_id AS jobId, created_at AS createdAt
    FROM asset_refs WHERE created_at < ?`);
  const unreferenced =
    db.prepare(`SELECT sha256, bytes, content_type AS contentType, width, height, created_at AS createdAt FROM assets a
    WHERE a.created_at < ?
      AND NOT EXISTS (SELECT 1 FROM outputs o WHERE o.sha256 = a.sha256)
      AND NOT EXISTS (SELECT 1 FROM output_variants v WHERE v.sha256 = a.sha256)
      AND NOT EXISTS (SELECT 1 FROM asset_refs r WHERE r.sha256 = a.sha256)`);
  const total = db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM assets');
  const hooks = webhookCuts(db);
  return {
    async pruneWebhooks({ before, perWebhook, dryRun }) {
      const p = { before: before ?? -1 };
      let deliveries = await hooks.expiredDeliveries(p, dryRun); // before their webhooks: the cascade would not count them
      const webhooks = await hooks.expiredWebhooks(p, dryRun);
      deliveries += await hooks.oldDeliveries(p, dryRun);
      if (perWebhook !== null) {
        for (const { id } of hooks.kept.all(p) as { id: string }[]) {
          const edge = hooks.edge.get(id, perWebhook) as { id: number } | undefined;
          if (edge) deliveries += await hooks.overCap({ ...p, id, edge: edge.id }, dryRun);
        }
      }
      return { webhooks, deliveries };
    },
    async finishedJobIds(before, limit, keep = []) {
      return (finished.all({ before, limit, keep: JSON.stringify(keep) }) as { id: string }[]).map((r) => r.id);
    },
    async deleteJobs(ids) {
      if (ids.length === 0) return 0;
      return db
        .prepare(`DELETE FROM jobs WHERE id IN (${inList(ids.length)}) AND state IN ('succeeded','failed','canceled')`)
        .run(...ids).changes;
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
    async knownAssets(shas) {
      const known = new Set<string>();
      for (let i = 0; i < shas.length; i += 500) {
        const chunk = shas.slice(i, i + 500);
        const rows = db
          .prepare(`SELECT sha256 FROM assets WHERE sha256 IN (${inList(chunk.length)})`)
          .all(...chunk) as { sha256: string }[];
        for (const r of rows) known.add(r.sha256);
      }
      return known;
    },
  };
}
