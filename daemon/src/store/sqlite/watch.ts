import { isSafeNumber, parse, stringify } from 'lossless-json';
import type { WatchCounts, WatchFileState } from '@comfygate/shared';
import type { WatchFileRecord, WatchOutputs, WatchRepo, WatchRuleRecord } from '../watch.js';
import { type Db, json } from './db.js';

/** Rule params may hold seeds above 2^53 (bigint): kept exact both ways. */
const parseExact = (text: string) =>
  parse(text, undefined, (v) => (isSafeNumber(v) ? Number(v) : /^-?\d+$/.test(v) ? BigInt(v) : Number(v)));

interface FileRow {
  rule_id: string;
  path: string;
  sha256: string;
  job_id: string | null;
  state: string;
  error: string | null;
  submit_key: string | null;
  outputs_json: string | null;
  updated_at: number;
}

const toFile = (r: FileRow): WatchFileRecord => ({
  ruleId: r.rule_id,
  path: r.path,
  sha256: r.sha256,
  state: r.state as WatchFileState,
  jobId: r.job_id,
  error: r.error,
  submitKey: r.submit_key,
  outputs: json.parse<WatchOutputs>(r.outputs_json),
  updatedAt: r.updated_at,
});

function ruleStatements(db: Db) {
  return {
    rules: db.prepare('SELECT id, spec_json, from_config, owner, created_at FROM watch_rules ORDER BY created_at, id'),
    putRule: db.prepare(`INSERT INTO watch_rules (id, spec_json, from_config, owner, created_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET spec_json = excluded.spec_json, from_config = excluded.from_config, owner = excluded.owner`),
    deleteRule: db.prepare('DELETE FROM watch_rules WHERE id = ?'),
    deleteFiles: db.prepare('DELETE FROM watch_files WHERE rule_id = ?'),
  };
}

function fileStatements(db: Db) {
  return {
    get: db.prepare('SELECT * FROM watch_files WHERE rule_id = ? AND path = ?'),
    // The WHERE on the upsert is what makes content idempotent: the same sha256 never becomes work again.
    observe: db.prepare(`INSERT INTO watch_files (rule_id, path, sha256, job_id, state, error, submit_key, updated_at)
      VALUES (@ruleId, @path, @sha256, NULL, 'pending', NULL, @key, @now)
      ON CONFLICT (rule_id, path) DO UPDATE SET sha256 = excluded.sha256, job_id = NULL, state = 'pending', error = NULL,
        submit_key = excluded.submit_key, updated_at = excluded.updated_at
      WHERE watch_files.sha256 <> excluded.sha256`),
    inState: db.prepare('SELECT * FROM watch_files WHERE state = ? ORDER BY updated_at, rowid LIMIT ?'),
    count: db.prepare('SELECT COUNT(*) AS n FROM watch_files WHERE state = ?'),
    submitted: db.prepare(`UPDATE watch_files SET state = 'submitted', job_id = ?, updated_at = ?
      WHERE rule_id = ? AND path = ? AND submit_key = ? AND state = 'pending'`),
    finish:
      db.prepare(`UPDATE watch_files SET state = @state, error = @error, outputs_json = COALESCE(@outputs, outputs_json), updated_at = @now
      WHERE rule_id = @ruleId AND path = @path AND sha256 = @sha256`),
    release: db.prepare(
      `UPDATE watch_files SET state = 'pending', job_id = NULL WHERE rule_id = ? AND path = ? AND submit_key = ?`,
    ),
    byJob: db.prepare('SELECT * FROM watch_files WHERE job_id = ? LIMIT 1'),
    counts: db.prepare('SELECT state, COUNT(*) AS n FROM watch_files WHERE rule_id = ? GROUP BY state'),
    outputs: db.prepare('SELECT outputs_json FROM watch_files WHERE rule_id = ? AND outputs_json IS NOT NULL'),
    forget: db.prepare(`DELETE FROM watch_files WHERE rule_id = ? AND path = ? AND state = 'pending'`),
  };
}

export function makeWatchRepo(db: Db): WatchRepo {
  const r = ruleStatements(db);
  const f = fileStatements(db);
  const one = (row: unknown) => (row ? toFile(row as FileRow) : null);
  return {
    async rules() {
      return (
        r.rules.all() as { id: string; spec_json: string; from_config: number; owner: string; created_at: number }[]
      ).map((x): WatchRuleRecord => ({
        id: x.id,
        spec: parseExact(x.spec_json),
        fromConfig: x.from_config === 1,
        owner: x.owner,
        createdAt: x.created_at,
      }));
    },
    async putRule(rule) {
      r.putRule.run(rule.id, stringify(rule.spec), rule.fromConfig ? 1 : 0, rule.owner, rule.createdAt);
    },
    async deleteRule(id, keepFiles = false) {
      return db.transaction(() => {
        if (!keepFiles) r.deleteFiles.run(id);
        return r.deleteRule.run(id).changes > 0;
      })();
    },
    async observe(ruleId, path, sha256, key) {
      return db.transaction(() => {
        const before = one(f.get.get(ruleId, path));
        const changed = f.observe.run({ ruleId, path, sha256, key, now: Date.now() }).changes > 0;
        return { changed, replacedJobId: changed && before?.state === 'submitted' ? before.jobId : null };
      })();
    },
    get: async (ruleId, path) => one(f.get.get(ruleId, path)),
    async pending(limit, ruleIds) {
      if (ruleIds.length === 0) return [];
      const sql = `SELECT * FROM watch_files WHERE state = 'pending' AND rule_id IN (${ruleIds.map(() => '?').join(',')}) ORDER BY updated_at, rowid LIMIT ?`;
      return (db.prepare(sql).all(...ruleIds, limit) as FileRow[]).map(toFile);
    },
    inState: async (state, limit) => (f.inState.all(state, limit) as FileRow[]).map(toFile),
    countInState: async (state) => (f.count.get(state) as { n: number }).n,
    async markSubmitted(ruleId, path, key, jobId) {
      return f.submitted.run(jobId, Date.now(), ruleId, path, key).changes > 0;
    },
    async finish(ruleId, path, sha256, x) {
      const outputs = x.outputs ? JSON.stringify(x.outputs) : null;
      return (
        f.finish.run({ ruleId, path, sha256, state: x.state, error: x.error, outputs, now: Date.now() }).changes > 0
      );
    },
    async release(ruleId, path, key) {
      f.release.run(ruleId, path, key);
    },
    byJob: async (jobId) => one(f.byJob.get(jobId)),
    async files(ruleId, q) {
      const where = ['rule_id = ?', ...(q.state ? ['state = ?'] : []), ...(q.after !== undefined ? ['path > ?'] : [])];
      const args = [ruleId, ...(q.state ? [q.state] : []), ...(q.after !== undefined ? [q.after] : []), q.limit];
      return (
        db
          .prepare(`SELECT * FROM watch_files WHERE ${where.join(' AND ')} ORDER BY path LIMIT ?`)
          .all(...args) as FileRow[]
      ).map(toFile);
    },
    async counts(ruleId) {
      const c: WatchCounts = { pending: 0, submitted: 0, done: 0, failed: 0 };
      for (const row of f.counts.all(ruleId) as { state: WatchFileState; n: number }[]) c[row.state] = row.n;
      return c;
    },
    async outputPaths(ruleId) {
      return (f.outputs.all(ruleId) as { outputs_json: string }[]).flatMap((row) => {
        const o = JSON.parse(row.outputs_json) as WatchOutputs;
        return [...o.paths, ...o.kept];
      });
    },
    async forget(ruleId, path) {
      f.forget.run(ruleId, path);
    },
  };
}
