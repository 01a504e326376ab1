import type { AssetRecord, AssetsRepo, AttemptRecord, AttemptState, AttemptsRepo, BackendsRepo, OutputRecord, OutputsRepo } from '../types.js';
import { type Db, json } from './db.js';

interface AttemptRow {
  id: string; job_id: string; backend: string; number: number; state: string; error_json: string | null;
  cleaned_up: number; created_at: number; ended_at: number | null;
}

const toAttempt = (r: AttemptRow): AttemptRecord => ({
  id: r.id,
  jobId: r.job_id,
  backend: r.backend,
  number: r.number,
  state: r.state as AttemptState,
  error: json.parse(r.error_json),
  cleanedUp: r.cleaned_up === 1,
  createdAt: r.created_at,
  endedAt: r.ended_at,
});

export function makeAttemptsRepo(db: Db): AttemptsRepo {
  const byId = db.prepare('SELECT * FROM attempts WHERE id = ?');
  const byJob = db.prepare('SELECT * FROM attempts WHERE job_id = ? ORDER BY number');
  const open = db.prepare(`SELECT * FROM attempts WHERE state IN ('posting','accepted','running')
    OR (state = 'abandoned' AND cleaned_up = 0) ORDER BY created_at`);
  const setState = db.prepare(`UPDATE attempts SET state = ?, error_json = COALESCE(?, error_json),
    ended_at = CASE WHEN ? IN ('done','failed','abandoned') THEN ? ELSE ended_at END WHERE id = ?`);
  const cleaned = db.prepare('UPDATE attempts SET cleaned_up = 1 WHERE id = ?');
  return {
    async get(id) {
      const r = byId.get(id) as AttemptRow | undefined;
      return r ? toAttempt(r) : null;
    },
    async forJob(jobId) {
      return (byJob.all(jobId) as AttemptRow[]).map(toAttempt);
    },
    async open() {
      return (open.all() as AttemptRow[]).map(toAttempt);
    },
    async setState(id, state, error) {
      setState.run(state, json.stringify(error ?? null), state, Date.now(), id);
    },
    async markCleanedUp(id) {
      cleaned.run(id);
    },
  };
}

interface OutputRow {
  id: string; job_id: string; attempt_id: string; node_id: string; idx: number; filename: string; kind: string;
  sha256: string; bytes: number; content_type: string; created_at: number;
}

const toOutput = (r: OutputRow): OutputRecord => ({
  id: r.id,
  jobId: r.job_id,
  attemptId: r.attempt_id,
  nodeId: r.node_id,
  index: r.idx,
  filename: r.filename,
  kind: r.kind as OutputRecord['kind'],
  sha256: r.sha256,
  bytes: r.bytes,
  contentType: r.content_type,
  createdAt: r.created_at,
});

export function makeOutputsRepo(db: Db): OutputsRepo {
  const byId = db.prepare('SELECT * FROM outputs WHERE id = ?');
  return {
    async forJobs(jobIds) {
      const map = new Map<string, OutputRecord[]>(jobIds.map((id) => [id, []]));
      if (jobIds.length === 0) return map;
      const sql = `SELECT * FROM outputs WHERE job_id IN (${jobIds.map(() => '?').join(',')}) ORDER BY node_id, idx`;
      for (const r of db.prepare(sql).all(...jobIds) as OutputRow[]) map.get(r.job_id)!.push(toOutput(r));
      return map;
    },
    async get(id) {
      const r = byId.get(id) as OutputRow | undefined;
      return r ? toOutput(r) : null;
    },
  };
}

export function makeAssetsRepo(db: Db): AssetsRepo {
  const upsert = db.prepare(`INSERT INTO assets (sha256, bytes, content_type, created_at) VALUES (@sha256, @bytes, @contentType, @createdAt)
    ON CONFLICT (sha256) DO NOTHING`);
  const get = db.prepare('SELECT sha256, bytes, content_type AS contentType, created_at AS createdAt FROM assets WHERE sha256 = ?');
  return {
    async upsert(a) {
      upsert.run(a);
    },
    async get(sha256) {
      return (get.get(sha256) as AssetRecord | undefined) ?? null;
    },
  };
}

export function makeBackendsRepo(db: Db): BackendsRepo {
  const save = db.prepare(`INSERT INTO backends (name, url, capabilities_json, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET url = excluded.url, capabilities_json = excluded.capabilities_json, updated_at = excluded.updated_at`);
  const all = db.prepare('SELECT * FROM backends');
  return {
    async saveCapabilities(name, url, capabilities) {
      save.run(name, url, JSON.stringify(capabilities), Date.now());
    },
    async all() {
      return (all.all() as { name: string; url: string; capabilities_json: string | null; updated_at: number }[]).map((r) => ({
        name: r.name,
        url: r.url,
        capabilities: json.parse(r.capabilities_json),
        updatedAt: r.updated_at,
      }));
    },
  };
}
