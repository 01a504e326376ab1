import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import type { Store } from '../types.js';
import { openSqliteStore } from './index.js';

/** For unit tests: a store in a fresh temp dir, closed and removed when the calling test finishes. */
export function tempStore(): Store {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-store-'));
  const store = openSqliteStore(path.join(dir, 'db.sqlite'));
  onTestFinished(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return store;
}
