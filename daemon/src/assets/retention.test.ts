import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect, it, onTestFinished } from 'vitest';
import { tempStore } from '../store/sqlite/test-store.js';
import { AssetFiles } from './files.js';
import { sweep } from './retention.js';

const POLICY = {
  maxAgeMs: 365 * 86_400_000,
  maxDiskBytes: null,
  graceMs: 10 * 60_000,
  webhookDeliveriesMaxAgeMs: null,
  webhookDeliveriesPerWebhook: null,
};

it('removes blob files no asset row names (a crash between file and row), once older than the grace, and nothing else', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-orphans-'));
  onTestFinished(() => fs.rmSync(root, { recursive: true, force: true }));
  const store = tempStore();
  const files = new AssetFiles(root);
  const put = (text: string) => files.write(Readable.from([Buffer.from(text)]));
  const age = (sha: string, ms: number) =>
    fs.utimesSync(files.pathFor(sha), new Date(Date.now() - ms), new Date(Date.now() - ms));

  const orphan = await put('left by a crash');
  const fresh = await put('being written right now');
  const owned = await put('an upload with its row');
  await store.assets.upsert({
    sha256: owned.sha256,
    bytes: owned.bytes,
    contentType: 'image/png',
    width: 1,
    height: 1,
    createdAt: Date.now(),
  });
  age(orphan.sha256, 60 * 60_000);
  age(owned.sha256, 60 * 60_000);

  const dry = await sweep(store, files, POLICY, true);
  expect([dry.assets, dry.bytes]).toEqual([1, orphan.bytes]);
  expect(await files.has(orphan.sha256)).toBe(true);

  const real = await sweep(store, files, POLICY);
  expect([real.assets, real.bytes]).toEqual([1, orphan.bytes]);
  expect([await files.has(orphan.sha256), await files.has(fresh.sha256), await files.has(owned.sha256)]).toEqual([
    false,
    true,
    true,
  ]);
});
