import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runStoreContract } from '../contract.js';
import { openSqliteStore } from './index.js';

runStoreContract('sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-store-'));
  const store = openSqliteStore(path.join(dir, 'test.db'));
  return { store, dispose: async () => (await store.close(), fs.rmSync(dir, { recursive: true, force: true })) };
});

it('survives reopening: migrations run once and data persists', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-store-'));
  try {
    const file = path.join(dir, 'x.db');
    const s1 = openSqliteStore(file);
    await s1.backends.saveCapabilities('a', 'http://127.0.0.1:1', { nodes: ['KSampler'], combos: {} });
    await s1.close();
    const s2 = openSqliteStore(file);
    expect(await s2.backends.all()).toMatchObject([{ name: 'a', capabilities: { nodes: ['KSampler'] } }]);
    await s2.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
