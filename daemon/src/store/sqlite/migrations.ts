/**
 * Numbered migrations, applied in order inside one transaction each. Append only: never edit one that
 * has shipped. Kept as strings (not .sql files) so a bundled daemon carries them.
 */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'init',
    sql: `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  state TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  client TEXT NOT NULL,
  backend_pin TEXT,
  graph_json TEXT NOT NULL,
  metadata_json TEXT NOT NULL DEFAULT '{}',
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  not_before INTEGER NOT NULL DEFAULT 0,
  avoid_backend TEXT,
  last_backend TEXT,
  error_json TEXT,
  idempotency_key TEXT UNIQUE,
  request_hash TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
);
CREATE INDEX jobs_queue ON jobs(state, client, priority DESC, seq);
CREATE INDEX jobs_seq ON jobs(seq);

CREATE TABLE attempts (
  id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  backend TEXT NOT NULL,
  number INTEGER NOT NULL,
  state TEXT NOT NULL,
  error_json TEXT,
  cleaned_up INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  ended_at INTEGER
);
CREATE INDEX attempts_job ON attempts(job_id);
CREATE INDEX attempts_open ON attempts(state) WHERE state IN ('posting','accepted','running') OR (state = 'abandoned' AND cleaned_up = 0);

CREATE TABLE assets (
  sha256 TEXT PRIMARY KEY,
  bytes INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE outputs (
  id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  attempt_id TEXT NOT NULL,
  node_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  filename TEXT NOT NULL,
  kind TEXT NOT NULL,
  sha256 TEXT NOT NULL REFERENCES assets(sha256),
  bytes INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (job_id, node_id, idx)
);
CREATE INDEX outputs_job ON outputs(job_id);

CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  job_id TEXT,
  data_json TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX events_job ON events(job_id);

CREATE TABLE backends (
  name TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  capabilities_json TEXT,
  updated_at INTEGER NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'tokens, audit, runtime backends',
    sql: `
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  daily_quota INTEGER,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  token_id TEXT,
  action TEXT NOT NULL,
  target TEXT,
  status INTEGER NOT NULL
);
CREATE INDEX audit_token_at ON audit(token_id, action, at);
ALTER TABLE backends ADD COLUMN added_by_api INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backends ADD COLUMN weight REAL;
ALTER TABLE backends ADD COLUMN inflight INTEGER;
ALTER TABLE assets ADD COLUMN width INTEGER;
ALTER TABLE assets ADD COLUMN height INTEGER;
CREATE TABLE asset_refs (
  id TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL REFERENCES assets(sha256),
  file_path TEXT NOT NULL,
  content_type TEXT NOT NULL,
  job_id TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX asset_refs_sha ON asset_refs(sha256);
`,
  },
  {
    version: 3,
    name: 'post-processing variants',
    sql: `
ALTER TABLE jobs ADD COLUMN postprocess_json TEXT;
CREATE TABLE output_variants (
  id TEXT PRIMARY KEY,
  output_id TEXT NOT NULL REFERENCES outputs(id) ON DELETE CASCADE,
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  variant TEXT NOT NULL,
  sha256 TEXT NOT NULL REFERENCES assets(sha256),
  bytes INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (output_id, variant)
);
CREATE INDEX output_variants_job ON output_variants(job_id);
`,
  },
  {
    version: 4,
    name: 'batches and webhooks',
    sql: `
CREATE TABLE batches (
  id TEXT PRIMARY KEY,
  name TEXT,
  client TEXT NOT NULL,
  job_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  canceled_at INTEGER
);
ALTER TABLE jobs ADD COLUMN batch_id TEXT REFERENCES batches(id) ON DELETE SET NULL;
CREATE INDEX jobs_batch ON jobs(batch_id);

CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  event_types_json TEXT NOT NULL,
  job_id TEXT,
  batch_id TEXT,
  last_event_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  disabled_at INTEGER
);
CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  status INTEGER,
  error TEXT,
  delivered INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);
`,
  },
  {
    version: 5,
    name: 'index for retry wake-ups',
    // Without it the scheduler's "earliest not_before" read every queued row on each pass (1.6 ms at 10k queued).
    sql: `CREATE INDEX jobs_wake ON jobs(state, not_before);`,
  },
  {
    version: 6,
    name: 'templates',
    sql: `
CREATE TABLE templates (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  graph_json TEXT NOT NULL,
  params_json TEXT NOT NULL,
  builtin INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
`,
  },
  {
    version: 7,
    name: 'watched folders, style presets, chains',
    sql: `
CREATE TABLE watch_rules (
  id TEXT PRIMARY KEY,
  spec_json TEXT NOT NULL,
  from_config INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE watch_files (
  rule_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  job_id TEXT,
  state TEXT NOT NULL,
  error TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (rule_id, path)
);
CREATE INDEX watch_files_job ON watch_files(job_id);
CREATE TABLE presets (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL DEFAULT '',
  suffix TEXT NOT NULL DEFAULT '',
  negative TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
ALTER TABLE jobs ADD COLUMN parent_job_id TEXT;
ALTER TABLE jobs ADD COLUMN then_json TEXT;
CREATE INDEX jobs_parent ON jobs(parent_job_id);
`,
  },
  {
    version: 8,
    name: 'watched folders: submit keys, outputs written, pending order',
    // submit_key: the Idempotency-Key of the file's job, stored before the submit so a crash cannot make two jobs.
    // outputs_json: the files written for the current content, replaced (or kept aside) when the content changes.
    // The indexes serve the feeder: counts by state, and each rule's oldest pending files (rules take turns).
    sql: `
ALTER TABLE watch_files ADD COLUMN submit_key TEXT;
ALTER TABLE watch_files ADD COLUMN outputs_json TEXT;
CREATE INDEX watch_files_state ON watch_files(state, updated_at);
CREATE INDEX watch_files_rule_state ON watch_files(rule_id, state, updated_at);
`,
  },
  {
    version: 9,
    name: 'output dimensions',
    sql: `
ALTER TABLE outputs ADD COLUMN width INTEGER;
ALTER TABLE outputs ADD COLUMN height INTEGER;
`,
  },
  {
    version: 10,
    name: 'daily quota counters, retired webhooks, delivery pruning',
    // token_quota: jobs a token created on one UTC day (day = that day's start, ms), one row per token; taken
    // by a conditional upsert inside the transaction that inserts the jobs, so parallel submits cannot overshoot.
    // Seeded from today's audit rows, which is what quotas counted before.
    // retired_at: a job-scoped subscription whose job finished and whose last event went out (or was given up on);
    // retention deletes it, with its deliveries, once they have aged out. The indexes serve that and the age cut.
    sql: `
CREATE TABLE token_quota (
  token_id TEXT PRIMARY KEY REFERENCES tokens(id) ON DELETE CASCADE,
  day INTEGER NOT NULL,
  used INTEGER NOT NULL
);
INSERT INTO token_quota (token_id, day, used)
  SELECT token_id, CAST(strftime('%s', 'now', 'start of day') AS INTEGER) * 1000, COUNT(*) FROM audit
  WHERE action = 'job.create' AND status < 400 AND token_id IN (SELECT id FROM tokens)
    AND at >= CAST(strftime('%s', 'now', 'start of day') AS INTEGER) * 1000
  GROUP BY token_id;
ALTER TABLE webhooks ADD COLUMN retired_at INTEGER;
CREATE INDEX webhooks_job ON webhooks(job_id) WHERE job_id IS NOT NULL;
CREATE INDEX webhook_deliveries_at ON webhook_deliveries(at);
`,
  },
  {
    version: 11,
    name: 'chain steps made or stopped',
    // chain_next: the job created as this one's next step (written in the step's insert, so deleting that step
    // later does not bring it back); chain_stopped: why the next step could not be created (the chain ends there).
    // The partial index holds the chains still to advance, for the startup pass that finishes what a restart cut.
    // History is filled in, never advanced: a job that has a step records it (the first one made), and a succeeded
    // job with steps left and none made is stopped, with the reason the old version gave in its warning, if any
    // (an empty list of steps is stored as NULL, as the insert writes it).
    // Otherwise the first start would make steps for chains that ended long ago (a step deleted, or refused).
    sql: `
ALTER TABLE jobs ADD COLUMN chain_next TEXT;
ALTER TABLE jobs ADD COLUMN chain_stopped TEXT;
UPDATE jobs SET then_json = NULL WHERE then_json IS NOT NULL AND json_array_length(then_json) = 0;
UPDATE jobs SET chain_next = (SELECT c.id FROM jobs c WHERE c.parent_job_id = jobs.id ORDER BY c.seq LIMIT 1)
  WHERE EXISTS (SELECT 1 FROM jobs c WHERE c.parent_job_id = jobs.id);
UPDATE jobs SET chain_stopped = COALESCE(
    (SELECT json_extract(e.data_json, '$.message') FROM events e WHERE e.job_id = jobs.id AND e.type = 'job:warning'
      AND json_extract(e.data_json, '$.message') LIKE 'chain stopped before %' ORDER BY e.id DESC LIMIT 1),
    'before the upgrade: the step ''' || COALESCE(json_extract(then_json, '$[0].template'), '?') || ''' was not made or was deleted')
  WHERE state = 'succeeded' AND then_json IS NOT NULL AND chain_next IS NULL;
CREATE INDEX jobs_chain_open ON jobs(seq) WHERE state = 'succeeded' AND then_json IS NOT NULL AND chain_next IS NULL AND chain_stopped IS NULL;
`,
  },
  {
    version: 12,
    name: 'owners of jobs, batches, assets, webhooks, watch rules',
    // owner: the id of the token that made the row; everything made before owners existed was made by whoever held
    // the machine, so it goes to the token-file admin ('local-admin', see http/security/tokens.ts). events.owner is
    // the job's owner copied at append time, so a stream filters its replay in SQL and a job:deleted keeps its owner.
    // Assets are deduplicated by content: each token that uploaded the bytes has its own row in asset_owners (deleting
    // one owner's copy keeps the others'); v2 asset refs (named handles) are per owner. see_all: a read token trusted
    // to read everything (a team dashboard), never to act.
    sql: `
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT 'local-admin';
CREATE INDEX jobs_owner ON jobs(owner, seq);
ALTER TABLE batches ADD COLUMN owner TEXT NOT NULL DEFAULT 'local-admin';
ALTER TABLE webhooks ADD COLUMN owner TEXT NOT NULL DEFAULT 'local-admin';
ALTER TABLE watch_rules ADD COLUMN owner TEXT NOT NULL DEFAULT 'local-admin';
ALTER TABLE events ADD COLUMN owner TEXT;
UPDATE events SET owner = COALESCE((SELECT j.owner FROM jobs j WHERE j.id = events.job_id), 'local-admin') WHERE job_id IS NOT NULL;
ALTER TABLE asset_refs ADD COLUMN owner TEXT NOT NULL DEFAULT 'local-admin';
CREATE TABLE asset_owners (
  sha256 TEXT NOT NULL REFERENCES assets(sha256) ON DELETE CASCADE,
  owner TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (sha256, owner)
);
INSERT INTO asset_owners (sha256, owner, created_at) SELECT sha256, 'local-admin', created_at FROM assets;
ALTER TABLE tokens ADD COLUMN see_all INTEGER NOT NULL DEFAULT 0;
`,
  },
  {
    version: 13,
    name: 'animated outputs and text outputs',
    // animated: ComfyUI's `"animated": [true]` beside a node's files (animated WEBP/PNG, video savers).
    // texts_json: a job's text outputs (`PreviewAny`'s `text`), small strings kept on the job row, gone with it.
    sql: `
ALTER TABLE outputs ADD COLUMN animated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN texts_json TEXT;
`,
  },
  {
    version: 14,
    name: 'template conversion warnings',
    // What converting an imported workflow changed (values ignored, defaults for newer inputs, a PNG's damaged
    // prompt passed over): a JSON array, NULL for templates imported before (and for API graphs, unchanged).
    sql: `ALTER TABLE templates ADD COLUMN warnings_json TEXT;`,
  },
  {
    version: 15,
    name: 'batch listing',
    // GET /v1/batches pages newest first, for one owner or all. seq: the order batches were made in, as jobs.seq
    // (created_at ties within a millisecond; rowid may be renumbered by VACUUM), numbered for existing rows by their
    // creation time. jobs_batch grows a state column so a page's counts by state and its active/done filter are
    // read from the index alone (it still serves lookups by batch_id).
    sql: `
ALTER TABLE batches ADD COLUMN seq INTEGER;
UPDATE batches SET seq = r.n FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, rowid) AS n FROM batches) AS r
  WHERE r.id = batches.id;
CREATE UNIQUE INDEX batches_seq ON batches(seq);
CREATE INDEX batches_owner ON batches(owner, seq);
DROP INDEX jobs_batch;
CREATE INDEX jobs_batch ON jobs(batch_id, state);
`,
  },
];
