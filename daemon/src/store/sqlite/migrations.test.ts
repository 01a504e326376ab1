import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, it, onTestFinished } from 'vitest';
import { openSqliteStore } from './index.js';
import { MIGRATIONS } from './migrations.js';
import { newJob } from '../new-job.fixture.js';

/** A database file as a version that had applied migrations up to `version`, filled by `fill`. */
function olderDatabase(version: number, fill: (db: Database.Database) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-migrate-'));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'comfygate.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(
    'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 0);
  }
  fill(db);
  db.close();
  return file;
}

it('migration 11 records the chains of an upgraded database as they are: no step is made for history', async () => {
  const now = Date.now();
  const upscale = JSON.stringify([{ template: 'upscale', params: { scale: 2 } }]);
  const file = olderDatabase(10, (db) => {
    const job =
      db.prepare(`INSERT INTO jobs (id, seq, state, client, graph_json, max_attempts, created_at, updated_at, finished_at, parent_job_id, then_json)
      VALUES (?, ?, ?, 'c', '{}', 1, ?, ?, ?, ?, ?)`);
    job.run('deleted-step', 1, 'succeeded', now, now, now, null, upscale); // its step was made, then deleted by the user
    job.run('refused', 2, 'succeeded', now, now, now, null, upscale); // the old version could not make its step
    job.run('made', 3, 'succeeded', now, now, now, null, upscale);
    job.run('made-step', 4, 'succeeded', now, now, now, 'made', null);
    job.run('running', 5, 'running', now, now, null, null, upscale); // still to finish: its chain goes on
    job.run('plain', 6, 'succeeded', now, now, now, null, '[]');
    db.prepare(`INSERT INTO events (type, job_id, data_json, at) VALUES ('job:warning', 'refused', ?, ?)`).run(
      JSON.stringify({ message: "chain stopped before 'upscale': 512×512 × 4 is over 100000 pixels" }),
      now,
    );
  });

  const store = openSqliteStore(file);
  try {
    expect(await store.chains.unadvanced()).toEqual([]);
    expect(await store.chains.stoppedReason('refused')).toBe(
      "chain stopped before 'upscale': 512×512 × 4 is over 100000 pixels",
    );
    expect(await store.chains.stoppedReason('deleted-step')).toBe(
      "before the upgrade: the step 'upscale' was not made or was deleted",
    );
    expect(await store.chains.stoppedReason('made')).toBeNull();
    expect(await store.chains.stoppedReason('running')).toBeNull();
    expect((await store.jobs.get('plain'))!.then).toEqual([]);
    // The recorded step closes the chain: a second step for 'made' is refused by the store.
    await expect(store.jobs.create(newJob({ id: 'again', parentJobId: 'made' }))).rejects.toMatchObject({
      code: 'conflict',
    });

    // A job unfinished at the upgrade advances as usual once it succeeds.
    await store.jobs.transition({
      jobId: 'running',
      from: ['running'],
      to: 'succeeded',
      event: { type: 'job:succeeded' },
      patch: { finishedAt: Date.now() },
    });
    expect(await store.chains.unadvanced()).toEqual(['running']);
  } finally {
    await store.close();
  }
});

it('migration 12 gives every row of a version-11 database to the token-file admin: no other token sees it, streams included', async () => {
  const now = Date.now();
  const sha = 'a'.repeat(64);
  const file = olderDatabase(11, (db) => {
    db.prepare(
      `INSERT INTO tokens (id, name, scope, hash, created_at) VALUES ('t-read', 'reader', 'read', 'h1', ?)`,
    ).run(now);
    db.prepare(`INSERT INTO batches (id, name, client, job_count, created_at) VALUES ('b1', NULL, 'c', 1, ?)`).run(now);
    db.prepare(
      `INSERT INTO jobs (id, seq, state, client, graph_json, max_attempts, created_at, updated_at, batch_id)
      VALUES ('j1', 1, 'queued', 'c', '{}', 1, ?, ?, 'b1')`,
    ).run(now, now);
    db.prepare(
      `INSERT INTO events (type, job_id, data_json, at) VALUES ('job:queued', 'j1', '{}', ?), ('backend:up', NULL, '{}', ?)`,
    ).run(now, now);
    db.prepare(`INSERT INTO assets (sha256, bytes, content_type, created_at) VALUES (?, 3, 'image/png', ?)`).run(
      sha,
      now,
    );
    db.prepare(
      `INSERT INTO asset_refs (id, sha256, file_path, content_type, created_at) VALUES ('r1', ?, 'in.png', 'image/png', ?)`,
    ).run(sha, now);
    db.prepare(
      `INSERT INTO webhooks (id, url, secret, event_types_json, job_id, last_event_id, created_at)
      VALUES ('wh_1', 'http://x', 's', '["*"]', 'j1', 0, ?)`,
    ).run(now);
    db.prepare(`INSERT INTO watch_rules (id, spec_json, created_at) VALUES ('rule', '{}', ?)`).run(now);
  });

  const store = openSqliteStore(file);
  try {
    expect((await store.jobs.get('j1'))!.owner).toBe('local-admin');
    expect((await store.batches.get('b1'))!.owner).toBe('local-admin');
    expect((await store.webhooks.get('wh_1'))!.owner).toBe('local-admin');
    expect((await store.assets.getRef('r1'))!.owner).toBe('local-admin');
    expect((await store.watch.rules()).map((r) => r.owner)).toEqual(['local-admin']);
    expect(await store.assets.ownedBy(sha, 'local-admin')).toBe(true);
    expect(await store.assets.ownedBy(sha, 't-read')).toBe(false);
    expect(await store.assets.resolve(sha, 't-read')).toBeNull();
    expect((await store.tokens.list()).find((t) => t.id === 't-read')!.seeAll).toBe(false);
    expect(await store.jobs.list({ owner: 't-read', limit: 10 })).toEqual([]);
    expect(await store.webhooks.list('t-read')).toEqual([]);
    // The job's old event is the admin's; the backend's is everyone's.
    expect((await store.events.after(0, 10, 't-read')).map((e) => e.type)).toEqual(['backend:up']);
    expect((await store.events.after(0, 10, 'local-admin')).map((e) => e.type)).toEqual(['job:queued', 'backend:up']);
  } finally {
    await store.close();
  }
});

it('migration 13 keeps outputs and jobs of an upgraded database: not animated, no text outputs', async () => {
  const now = Date.now();
  const sha = 'a'.repeat(64);
  const file = olderDatabase(11, (db) => {
    db.prepare(
      `INSERT INTO jobs (id, seq, state, client, graph_json, max_attempts, created_at, updated_at, finished_at)
      VALUES ('old', 1, 'succeeded', 'c', '{}', 1, ?, ?, ?)`,
    ).run(now, now, now);
    db.prepare(`INSERT INTO assets (sha256, bytes, content_type, created_at) VALUES (?, 3, 'image/png', ?)`).run(
      sha,
      now,
    );
    db.prepare(
      `INSERT INTO outputs (id, job_id, attempt_id, node_id, idx, filename, kind, sha256, bytes, content_type, created_at)
      VALUES ('o1', 'old', 'a1', '9', 0, 'x.png', 'output', ?, 3, 'image/png', ?)`,
    ).run(sha, now);
  });
  const store = openSqliteStore(file);
  try {
    expect((await store.jobs.get('old'))!.texts).toEqual([]);
    expect(await store.outputs.get('o1')).toMatchObject({ id: 'o1', animated: false, contentType: 'image/png' });
  } finally {
    await store.close();
  }
});

it('migration 15 numbers the batches of a version-14 database by creation time, and new ones follow them', async () => {
  const file = olderDatabase(14, (db) => {
    const batch = db.prepare(
      `INSERT INTO batches (id, name, client, owner, job_count, created_at) VALUES (?, NULL, 'c', ?, 0, ?)`,
    );
    // Inserted out of time order: the listing follows createdAt, not insertion.
    batch.run('late', 'local-admin', 3000);
    batch.run('early', 'tok', 1000);
    batch.run('middle', 'local-admin', 2000);
  });
  const store = openSqliteStore(file);
  try {
    expect((await store.batches.list({ limit: 10 })).map((b) => b.id)).toEqual(['late', 'middle', 'early']);
    await store.batches.create({ id: 'new', name: null, client: 'c', owner: 'tok' }, [newJob({ id: 'j' })]);
    expect((await store.batches.list({ limit: 10, owner: 'tok' })).map((b) => b.id)).toEqual(['new', 'early']);
    expect((await store.batches.list({ limit: 2, before: 'late' })).map((b) => b.id)).toEqual(['middle', 'early']);
  } finally {
    await store.close();
  }
});
