import fs from 'node:fs';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/**
 * WAL with synchronous=NORMAL: a commit survives a crash or kill -9 of the daemon (the WAL is in the OS
 * cache), which is the failure crash-safe dispatch must survive; only a power loss can roll back the last
 * few commits, never corrupt the file. FULL would add an fsync to each of a job's ~5 transitions.
 */
export function openDb(file: string): Db {
  // Created owner-only before SQLite opens it: its -wal and -shm files take the database file's permissions.
  if (file !== ':memory:') fs.closeSync(fs.openSync(file, 'a', 0o600));
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const applied = new Set(
    db
      .prepare('SELECT version FROM schema_migrations')
      .all()
      .map((r) => (r as { version: number }).version),
  );
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
    })();
  }
}

export const json = {
  parse<T>(text: string | null): T | null {
    return text === null ? null : (JSON.parse(text) as T);
  },
  stringify(v: unknown): string | null {
    return v === null || v === undefined ? null : JSON.stringify(v);
  },
};
