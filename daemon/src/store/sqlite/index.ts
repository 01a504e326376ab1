import fs from 'node:fs';
import path from 'node:path';
import type { GatewayEvent } from '@comfygate/shared';
import type { Store } from '../types.js';
import { openDb } from './db.js';
import { makeEventWriter, makeEventsRepo } from './events.js';
import { makeJobsRepo } from './jobs.js';
import { makeWebhooksRepo } from './webhooks.js';
import { makeRetentionRepo } from './retention.js';
import { makeTemplatesRepo } from './templates.js';
import { makeWatchRepo } from './watch.js';
import { makePresetsRepo } from './presets.js';
import { makeChainsRepo } from './chains.js';
import {
  makeAssetsRepo,
  makeAttemptsRepo,
  makeAuditRepo,
  makeBackendsRepo,
  makeOutputsRepo,
  makeTokensRepo,
} from './repos.js';

/** Opens (and migrates) the SQLite store at `file`. Listeners hear each event only after its transaction commits. */
export function openSqliteStore(file: string): Store {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = openDb(file);
  const listeners = new Set<(e: GatewayEvent, owner: string | null) => void>();
  let pending: [GatewayEvent, string | null][] = [];
  let depth = 0;

  const flush = () => {
    const batch = pending;
    pending = [];
    for (const [e, owner] of batch) for (const l of listeners) l(e, owner);
  };
  const writeEvent = makeEventWriter(db, (e, owner) => {
    pending.push([e, owner]);
    if (depth === 0) flush();
  });
  const tx = <T>(fn: () => T): T => {
    depth++;
    try {
      const result = db.transaction(fn)();
      depth--;
      if (depth === 0) flush();
      return result;
    } catch (err) {
      depth--;
      if (depth === 0) pending = [];
      throw err;
    }
  };

  let closed = false;
  const { batches, ...jobs } = makeJobsRepo(db, tx, writeEvent);
  return {
    jobs,
    batches,
    attempts: makeAttemptsRepo(db),
    outputs: makeOutputsRepo(db),
    assets: makeAssetsRepo(db),
    events: makeEventsRepo(db, writeEvent),
    backends: makeBackendsRepo(db),
    tokens: makeTokensRepo(db),
    audit: makeAuditRepo(db),
    webhooks: makeWebhooksRepo(db),
    retention: makeRetentionRepo(db),
    templates: makeTemplatesRepo(db),
    watch: makeWatchRepo(db),
    presets: makePresetsRepo(db),
    chains: makeChainsRepo(db, tx, writeEvent),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      db.close();
    },
  };
}
