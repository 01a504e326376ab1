import type { JobState } from '@comfygate/shared';
import { makeBatchListing } from './batch-list.js';
import type { BatchRecord, BatchesRepo, CreateResult, JobRecord, JobsRepo, NewJob, Transition } from '../types.js';
import type { QuotaClaim } from '../quota.js';
import type Database from 'better-sqlite3';
import { GatewayError } from '../../errors.js';
import { prepareChainAdvance } from './chains.js';
import { prepareRevive } from './webhooks.js';
import { ADMIN_TOKEN_ID } from '../../ownership/viewer.js';
import { type Db, json } from './db.js';
import type { makeEventWriter } from './events.js';
import { makeQuotaCounter } from './quota.js';
import { prepareAssetUpsert } from './repos.js';

interface JobRow {
  id: string;
  seq: number;
  state: string;
  priority: number;
  client: string;
  owner: string;
  backend_pin: string | null;
  graph_json: string;
  metadata_json: string;
  postprocess_json: string | null;
  batch_id: string | null;
  parent_job_id: string | null;
  then_json: string | null;
  attempts: number;
  max_attempts: number;
  not_before: number;
  avoid_backend: string | null;
  last_backend: string | null;
  error_json: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  cancel_requested: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  texts_json: string | null;
}

const toJob = (r: JobRow): JobRecord => ({
  id: r.id,
  seq: r.seq,
  state: r.state as JobState,
  priority: r.priority,
  client: r.client,
  owner: r.owner,
  backendPin: r.backend_pin,
  graphJson: r.graph_json,
  metadata: JSON.parse(r.metadata_json) as Record<string, unknown>,
  postprocess: json.parse(r.postprocess_json),
  batchId: r.batch_id,
  parentJobId: r.parent_job_id,
  then: json.parse<unknown[]>(r.then_json) ?? [],
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  notBefore: r.not_before,
  avoidBackend: r.avoid_backend,
  lastBackend: r.last_backend,
  error: json.parse(r.error_json),
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
  cancelRequested: r.cancel_requested === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  texts: json.parse<JobRecord['texts']>(r.texts_json) ?? [],
});

const PATCH_COLUMNS = {
  attempts: 'attempts',
  notBefore: 'not_before',
  avoidBackend: 'avoid_backend',
  lastBackend: 'last_backend',
  error: 'error_json',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  cancelRequested: 'cancel_requested',
  texts: 'texts_json',
} as const;

function patchValue(key: keyof typeof PATCH_COLUMNS, v: unknown): unknown {
  if (key === 'error' || key === 'texts') return json.stringify(v);
  if (key === 'cancelRequested') return v ? 1 : 0;
  return v;
}

export function makeJobsRepo(
  db: Db,
  tx: <T>(fn: () => T) => T,
  writeEvent: ReturnType<typeof makeEventWriter>,
): JobsRepo & { batches: BatchesRepo } {
  const byId = db.prepare('SELECT * FROM jobs WHERE id = ?');
  const stateOf = db.prepare('SELECT state FROM jobs WHERE id = ?').pluck();
  const byKey = db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?');
  const nextSeq = db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM jobs');
  const insert =
    db.prepare(`INSERT INTO jobs (id, seq, state, priority, client, owner, backend_pin, graph_json, metadata_json,
    postprocess_json, batch_id, parent_job_id, then_json, max_attempts, idempotency_key, request_hash, created_at, updated_at)
    VALUES (@id, @seq, 'queued', @priority, @client, @owner, @backendPin, @graphJson, @metadataJson, @postprocessJson, @batchId, @parentJobId,
    @thenJson, @maxAttempts, @idempotencyKey, @requestHash, @now, @now)`);
  const quotas = makeQuotaCounter(db);
  /** A job with follow-up steps pays for them now: the daemon makes them later, with no caller to charge. */
  const jobsOf = (job: NewJob) => 1 + (job.then?.length ?? 0);
  // One index probe per client: the clients are few, the queued jobs may be many.
  const queuedClients = db.prepare(`SELECT DISTINCT client FROM jobs WHERE state = 'queued'`);
  const clientHead = db.prepare(`SELECT * FROM jobs WHERE state = 'queued' AND client = ? AND not_before <= ?
    ORDER BY priority DESC, seq LIMIT ?`);
  const nextWake = db.prepare(`SELECT MIN(not_before) AS t FROM jobs WHERE state = 'queued' AND not_before > ?`);
  const counts = db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state');
  const countIn = db.prepare('SELECT COUNT(*) AS n FROM jobs WHERE state = ?');
  const children = db.prepare('SELECT * FROM jobs WHERE parent_job_id = ? ORDER BY seq');
  const insertAttempt = db.prepare(`INSERT INTO attempts (id, job_id, backend, number, state, created_at)
    VALUES (@id, @jobId, @backend, @number, @state, @now)`);
  const updateAttempt = db.prepare(`UPDATE attempts SET state = ?, error_json = COALESCE(?, error_json),
    ended_at = CASE WHEN ? IN ('done','failed','abandoned') THEN ? ELSE ended_at END WHERE id = ?`);
  const upsertAsset = prepareAssetUpsert(db);
  const insertOutput =
    db.prepare(`INSERT INTO outputs (id, job_id, attempt_id, node_id, idx, filename, kind, sha256, bytes, content_type,
      width, height, animated, created_at)
    VALUES (@id, @jobId, @attemptId, @nodeId, @index, @filename, @kind, @sha256, @bytes, @contentType, @width, @height, @animatedInt, @createdAt)
    ON CONFLICT (job_id, node_id, idx) DO UPDATE SET attempt_id = excluded.attempt_id, filename = excluded.filename,
      sha256 = excluded.sha256, bytes = excluded.bytes, content_type = excluded.content_type, width = excluded.width, height = excluded.height,
      animated = excluded.animated`);
  const position = db.prepare(`SELECT (SELECT COUNT(*) FROM jobs q WHERE q.state = 'queued'
    AND (q.priority > j.priority OR (q.priority = j.priority AND q.seq < j.seq))) + 1 AS pos
    FROM jobs j WHERE j.id = ? AND j.state = 'queued'`);
  const reprioritize = db.prepare(`UPDATE jobs SET priority = ?, updated_at = ? WHERE id = ? AND state = 'queued'`);
  const cancelFlag = db.prepare(
    `UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ? AND state NOT IN ('succeeded','failed','canceled')`,
  );
  const chainAdvance = prepareChainAdvance(db);
  const reviveHooks = prepareRevive(db);

  // Transitions patch a handful of column sets: prepare each once, not on every call.
  const updates = new Map<string, Database.Statement>();
  const updateFor = (sets: string) => {
    let stmt = updates.get(sets);
    if (!stmt) updates.set(sets, (stmt = db.prepare(`UPDATE jobs SET ${sets} WHERE id = ?`)));
    return stmt;
  };

  const get = (id: string) => {
    const r = byId.get(id) as JobRow | undefined;
    return r ? toJob(r) : null;
  };

  function create(job: NewJob, quota?: QuotaClaim): CreateResult {
    if (job.idempotencyKey) {
      const prior = byKey.get(job.idempotencyKey) as JobRow | undefined;
      if (prior)
        return { kind: prior.request_hash === job.requestHash ? 'existing' : 'key_conflict', job: toJob(prior) };
    }
    if (quota) quotas.take(quota, jobsOf(job)); // after the replay check: a replay creates nothing, so it costs nothing
    // A chain step: its parent records it here, once (a second maker, or a stopped chain, writes nothing).
    if (job.parentJobId && chainAdvance.run(job.id, job.parentJobId).changes === 0) {
      throw new GatewayError({
        code: 'conflict',
        message: `the step after job ${job.parentJobId} was already made, or its chain stopped`,
      });
    }
    const now = Date.now();
    const { seq } = nextSeq.get() as { seq: number };
    insert.run({
      ...job,
      owner: job.owner ?? ADMIN_TOKEN_ID,
      seq,
      now,
      metadataJson: JSON.stringify(job.metadata),
      postprocessJson: json.stringify(job.postprocess),
      batchId: job.batchId ?? null,
      parentJobId: job.parentJobId ?? null,
      thenJson: job.then?.length ? JSON.stringify(job.then) : null,
    });
    writeEvent('job:queued', job.id, { priority: job.priority, client: job.client }, now);
    return { kind: 'created', job: get(job.id)! };
  }

  function transition(t: Transition): JobRecord | null {
    // The state alone decides the compare-and-set: the whole row is read once, after the change.
    const from = stateOf.get(t.jobId) as JobState | undefined;
    if (!from || !t.from.includes(from)) return null;
    const now = Date.now();
    const sets = ['state = ?', 'updated_at = ?'];
    const values: unknown[] = [t.to, now];
    for (const [key, value] of Object.entries(t.patch ?? {})) {
      const k = key as keyof typeof PATCH_COLUMNS;
      sets.push(`${PATCH_COLUMNS[k]} = ?`);
      values.push(patchValue(k, value));
    }
    updateFor(sets.join(', ')).run(...values, t.jobId);
    if (t.newAttempt) insertAttempt.run({ ...t.newAttempt, now });
    if (t.attemptUpdate) {
      const u = t.attemptUpdate;
      updateAttempt.run(u.state, json.stringify(u.error ?? null), u.state, now, u.id);
    }
    for (const a of t.assets ?? []) upsertAsset.run(a); // before the outputs: their sha256 references it
    for (const o of t.outputs ?? []) insertOutput.run({ ...o, animatedInt: o.animated ? 1 : 0 });
    writeEvent(t.event.type, t.jobId, { from, to: t.to, ...t.event.data }, now);
    return get(t.jobId);
  }

  const insertBatch = db.prepare(
    `INSERT INTO batches (id, seq, name, client, owner, job_count, created_at)
    VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM batches), ?, ?, ?, ?, ?)`,
  );
  const batchById = db.prepare(
    `SELECT id, name, client, owner, job_count AS jobCount, created_at AS createdAt, canceled_at AS canceledAt FROM batches WHERE id = ?`,
  );
  const batchJobs = db.prepare('SELECT * FROM jobs WHERE batch_id = ? ORDER BY seq');
  const cancelBatch = db.prepare('UPDATE batches SET canceled_at = ? WHERE id = ? AND canceled_at IS NULL');
  const batches: BatchesRepo = {
    async create(batch, jobs, quota) {
      return tx(() => {
        if (quota)
          quotas.take(
            quota,
            jobs.reduce((n, j) => n + jobsOf(j), 0),
          );
        const owner = batch.owner ?? ADMIN_TOKEN_ID;
        insertBatch.run(batch.id, batch.name, batch.client, owner, jobs.length, Date.now());
        for (const j of jobs) create({ ...j, owner, batchId: batch.id, idempotencyKey: null });
        return batchById.get(batch.id) as BatchRecord;
      });
    },
    async get(id) {
      return (batchById.get(id) as BatchRecord | undefined) ?? null;
    },
    ...makeBatchListing(db),
    async jobs(id) {
      return (batchJobs.all(id) as JobRow[]).map(toJob);
    },
    async markCanceled(id) {
      cancelBatch.run(Date.now(), id);
    },
  };

  return {
    batches,
    async create(job, quota) {
      return tx(() => create(job, quota));
    },
    async get(id) {
      return get(id);
    },
    async list(q) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.state) (where.push('state = ?'), args.push(q.state));
      if (q.client) (where.push('client = ?'), args.push(q.client));
      if (q.owner !== undefined) (where.push('owner = ?'), args.push(q.owner));
      if (q.beforeSeq !== undefined) (where.push('seq < ?'), args.push(q.beforeSeq));
      const sql = `SELECT * FROM jobs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT ?`;
      return (db.prepare(sql).all(...args, q.limit) as JobRow[]).map(toJob);
    },
    async queueHeads(now, perClient) {
      const clients = queuedClients.all() as { client: string }[];
      return clients.flatMap(({ client }) => (clientHead.all(client, now, perClient) as JobRow[]).map(toJob));
    },
    async nextWakeAt(now) {
      return (nextWake.get(now) as { t: number | null }).t;
    },
    async inStates(states) {
      const sql = `SELECT * FROM jobs WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY seq`;
      return (db.prepare(sql).all(...states) as JobRow[]).map(toJob);
    },
    async countByState() {
      const out = { queued: 0, dispatched: 0, running: 0, postprocessing: 0, succeeded: 0, failed: 0, canceled: 0 };
      for (const r of counts.all() as { state: JobState; n: number }[]) out[r.state] = r.n;
      return out;
    },
    async children(parentId) {
      return (children.all(parentId) as JobRow[]).map(toJob);
    },
    async countInState(state) {
      return (countIn.get(state) as { n: number }).n;
    },
    async transition(t) {
      return tx(() => transition(t));
    },
    async retry(jobId, quota) {
      return tx(() => {
        const job = transition({
          jobId,
          from: ['failed', 'canceled'],
          to: 'queued',
          event: { type: 'job:queued', data: { retry: true } },
          patch: {
            attempts: 0,
            error: null,
            finishedAt: null,
            notBefore: 0,
            cancelRequested: false,
            avoidBackend: null,
          },
        });
        if (!job) return null;
        if (quota) quotas.take(quota, 1); // throws, rolling the move back; its chain steps were paid at submit
        reviveHooks(jobId); // its webhooks retired with the last run; they hear this one
        return job;
      });
    },
    async delete(id) {
      return tx(() => {
        const s = stateOf.get(id) as JobState | undefined;
        if (!s || !['succeeded', 'failed', 'canceled'].includes(s)) return false;
        writeEvent('job:deleted', id, {}); // while the row is there: the event takes the job's owner from it
        db.prepare('DELETE FROM jobs WHERE id = ?').run(id);
        reviveHooks(id, 'job:deleted'); // retired when the job finished: they still hear this
        return true;
      });
    },
    async requestCancel(id) {
      cancelFlag.run(Date.now(), id);
      return get(id);
    },
    async queuePosition(id) {
      return (position.get(id) as { pos: number } | undefined)?.pos ?? null;
    },
    async setPriority(id, priority) {
      return reprioritize.run(priority, Date.now(), id).changes === 0 ? null : get(id);
    },
  };
}
