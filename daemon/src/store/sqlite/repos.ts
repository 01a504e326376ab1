import type {
  AssetRecord,
  AssetRefRecord,
  AssetsRepo,
  AttemptRecord,
  AttemptState,
  AttemptsRepo,
  AuditRepo,
  BackendsRepo,
  OutputRecord,
  OutputsRepo,
  OutputVariantRecord,
  ResolvedAsset,
  TokenRecord,
  TokensRepo,
} from '../types.js';
import { ADMIN_TOKEN_ID } from '../../ownership/viewer.js';
import { type Db, json } from './db.js';
import { makeQuotaCounter } from './quota.js';

interface AttemptRow {
  id: string;
  job_id: string;
  backend: string;
  number: number;
  state: string;
  error_json: string | null;
  cleaned_up: number;
  created_at: number;
  ended_at: number | null;
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
  id: string;
  job_id: string;
  attempt_id: string;
  node_id: string;
  idx: number;
  filename: string;
  kind: string;
  sha256: string;
  bytes: number;
  content_type: string;
  width: number | null;
  height: number | null;
  created_at: number;
  animated: number;
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
  width: r.width,
  height: r.height,
  animated: r.animated === 1,
  createdAt: r.created_at,
});

const VARIANT_COLUMNS = `id, output_id AS outputId, job_id AS jobId, variant, sha256, bytes, content_type AS contentType,
  width, height, created_at AS createdAt`;

export function makeOutputsRepo(db: Db): OutputsRepo {
  const byId = db.prepare('SELECT * FROM outputs WHERE id = ?');
  const clearVariants = db.prepare('DELETE FROM output_variants WHERE job_id = ?');
  const insertVariant =
    db.prepare(`INSERT INTO output_variants (id, output_id, job_id, variant, sha256, bytes, content_type, width, height, created_at)
    VALUES (@id, @outputId, @jobId, @variant, @sha256, @bytes, @contentType, @width, @height, @createdAt)`);
  const variantById = db.prepare(`SELECT ${VARIANT_COLUMNS} FROM output_variants WHERE id = ?`);
  return {
    async putVariants(jobId, variants) {
      db.transaction(() => {
        clearVariants.run(jobId);
        for (const v of variants) insertVariant.run(v);
      })();
    },
    async variantsForJobs(jobIds) {
      const map = new Map<string, OutputVariantRecord[]>(jobIds.map((id) => [id, []]));
      if (jobIds.length === 0) return map;
      const sql = `SELECT ${VARIANT_COLUMNS} FROM output_variants WHERE job_id IN (${jobIds.map(() => '?').join(',')}) ORDER BY output_id, variant`;
      for (const v of db.prepare(sql).all(...jobIds) as OutputVariantRecord[]) map.get(v.jobId)!.push(v);
      return map;
    },
    async getVariant(id) {
      return (variantById.get(id) as OutputVariantRecord | undefined) ?? null;
    },
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

/** A blob's row, or the pixel size an older row lacks; shared with job transitions, which commit outputs' blobs. */
export const prepareAssetUpsert = (db: Db) =>
  db.prepare(`INSERT INTO assets (sha256, bytes, content_type, width, height, created_at)
    VALUES (@sha256, @bytes, @contentType, @width, @height, @createdAt)
    ON CONFLICT (sha256) DO UPDATE SET width = COALESCE(assets.width, excluded.width), height = COALESCE(assets.height, excluded.height)`);

const REF_COLUMNS =
  'id, sha256, file_path AS filePath, content_type AS contentType, job_id AS jobId, owner, created_at AS createdAt';

export function makeAssetsRepo(db: Db): AssetsRepo {
  const upsert = prepareAssetUpsert(db);
  const addOwner = db.prepare(
    'INSERT INTO asset_owners (sha256, owner, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  );
  // Bytes are the owner's if it uploaded them (either API), or one of its jobs holds them as an output or variant.
  const ownedBy = db
    .prepare(
      `SELECT EXISTS (SELECT 1 FROM asset_owners WHERE sha256 = @sha AND owner = @owner)
    OR EXISTS (SELECT 1 FROM asset_refs WHERE sha256 = @sha AND owner = @owner)
    OR EXISTS (SELECT 1 FROM outputs o JOIN jobs j ON j.id = o.job_id WHERE o.sha256 = @sha AND j.owner = @owner)
    OR EXISTS (SELECT 1 FROM output_variants v JOIN jobs j ON j.id = v.job_id WHERE v.sha256 = @sha AND j.owner = @owner)`,
    )
    .pluck();
  const get = db.prepare(
    'SELECT sha256, bytes, content_type AS contentType, width, height, created_at AS createdAt FROM assets WHERE sha256 = ?',
  );
  const insertRef = db.prepare(`INSERT INTO asset_refs (id, sha256, file_path, content_type, job_id, owner, created_at)
    VALUES (@id, @sha256, @filePath, @contentType, @jobId, @owner, @createdAt)`);
  const getRef = db.prepare(`SELECT ${REF_COLUMNS} FROM asset_refs WHERE id = ?`);
  const deleteRef = db.prepare('DELETE FROM asset_refs WHERE id = ?');
  const findRef = db.prepare(`SELECT ${REF_COLUMNS} FROM asset_refs WHERE sha256 = ? AND file_path = ? AND owner = ?
    ORDER BY created_at, id LIMIT 1`);
  const outputRef =
    db.prepare(`SELECT o.sha256, o.content_type AS contentType, o.filename AS filePath, j.owner FROM outputs o
    JOIN jobs j ON j.id = o.job_id WHERE o.id = ?`);
  const owns = (sha: string, owner: string) => ownedBy.get({ sha, owner }) === 1;
  return {
    async ownedBy(sha256, owner) {
      return owns(sha256, owner);
    },
    async createRef(r) {
      insertRef.run({ ...r, owner: r.owner ?? ADMIN_TOKEN_ID });
    },
    async getRef(id) {
      return (getRef.get(id) as AssetRefRecord | undefined) ?? null;
    },
    async deleteRef(id) {
      return deleteRef.run(id).changes > 0;
    },
    async findRef(sha256, filePath, owner) {
      return (findRef.get(sha256, filePath, owner ?? ADMIN_TOKEN_ID) as AssetRefRecord | undefined) ?? null;
    },
    async resolve(id, owner) {
      const usable = (r: ResolvedAsset & { owner: string }): ResolvedAsset | null =>
        owner === undefined || r.owner === owner
          ? { sha256: r.sha256, contentType: r.contentType, filePath: r.filePath }
          : null;
      const ref = getRef.get(id) as AssetRefRecord | undefined;
      if (ref) return usable(ref);
      const out = outputRef.get(id) as (ResolvedAsset & { owner: string }) | undefined;
      if (out) return usable(out);
      if (!/^[0-9a-f]{64}$/.test(id)) return null;
      const a = get.get(id) as AssetRecord | undefined;
      if (!a || (owner !== undefined && !owns(id, owner))) return null;
      return { sha256: a.sha256, contentType: a.contentType, filePath: `${a.sha256.slice(0, 16)}` };
    },
    async upsert(a, owner) {
      db.transaction(() => {
        upsert.run(a);
        if (owner !== undefined) addOwner.run(a.sha256, owner, a.createdAt);
      })();
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
  const addRuntime =
    db.prepare(`INSERT INTO backends (name, url, updated_at, added_by_api, weight, inflight) VALUES (@name, @url, @now, 1, @weight, @inflight)
    ON CONFLICT (name) DO UPDATE SET url = excluded.url, added_by_api = 1, weight = excluded.weight, inflight = excluded.inflight, updated_at = excluded.updated_at`);
  const removeRuntime = db.prepare('DELETE FROM backends WHERE name = ?');
  const runtime = db.prepare('SELECT name, url, weight, inflight FROM backends WHERE added_by_api = 1 ORDER BY name');
  return {
    async addRuntime(b) {
      addRuntime.run({ ...b, now: Date.now() });
    },
    async removeRuntime(name) {
      removeRuntime.run(name);
    },
    async runtime() {
      return runtime.all() as { name: string; url: string; weight: number; inflight: number }[];
    },
    async saveCapabilities(name, url, capabilities) {
      save.run(name, url, JSON.stringify(capabilities), Date.now());
    },
    async all() {
      return (all.all() as { name: string; url: string; capabilities_json: string | null; updated_at: number }[]).map(
        (r) => ({
          name: r.name,
          url: r.url,
          capabilities: json.parse(r.capabilities_json),
          updatedAt: r.updated_at,
        }),
      );
    },
  };
}

interface TokenRow {
  id: string;
  name: string;
  scope: string;
  hash: string;
  daily_quota: number | null;
  see_all: number;
  created_at: number;
  revoked_at: number | null;
}

const toToken = (r: TokenRow): TokenRecord => ({
  id: r.id,
  name: r.name,
  scope: r.scope as TokenRecord['scope'],
  hash: r.hash,
  dailyQuota: r.daily_quota,
  seeAll: r.see_all === 1,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export function makeTokensRepo(db: Db): TokensRepo {
  const put = db.prepare(`INSERT INTO tokens (id, name, scope, hash, daily_quota, see_all, created_at, revoked_at)
    VALUES (@id, @name, @scope, @hash, @dailyQuota, @seeAll, @createdAt, @revokedAt)
    ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, name = excluded.name, scope = excluded.scope, see_all = excluded.see_all,
      revoked_at = excluded.revoked_at`);
  const byHash = db.prepare('SELECT * FROM tokens WHERE hash = ?');
  const list = db.prepare('SELECT * FROM tokens ORDER BY created_at');
  const revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const quotas = makeQuotaCounter(db);
  return {
    async put(t) {
      put.run({ ...t, seeAll: t.seeAll === true ? 1 : 0 });
    },
    async byHash(hash) {
      const r = byHash.get(hash) as TokenRow | undefined;
      return r ? toToken(r) : null;
    },
    async list() {
      return (list.all() as TokenRow[]).map(toToken);
    },
    async revoke(id) {
      return revoke.run(Date.now(), id).changes > 0;
    },
    async quotaUsed(tokenId, day) {
      return quotas.used(tokenId, day);
    },
  };
}

export function makeAuditRepo(db: Db): AuditRepo {
  const insert = db.prepare('INSERT INTO audit (at, token_id, action, target, status) VALUES (?, ?, ?, ?, ?)');
  const count = db.prepare(
    'SELECT COUNT(*) AS n FROM audit WHERE token_id = ? AND action = ? AND at >= ? AND status < 400',
  );
  return {
    async record(e) {
      insert.run(Date.now(), e.tokenId, e.action, e.target, e.status);
    },
    async countSince(tokenId, action, since) {
      return (count.get(tokenId, action, since) as { n: number }).n;
    },
  };
}
