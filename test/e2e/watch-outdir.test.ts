import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { FAST_WATCH, tempFolders } from '../helpers/watch.js';

// A rule's outputDir that cannot be a folder was a 500 (mkdir's EEXIST/ENOTDIR), and one under /proc never
// answered at all: Node 20's recursive mkdir spins there for good, on a thread-pool thread.

const folders = tempFolders();
afterEach(() => folders.cleanup());

it('an outputDir that is a file, under a file, or where no folder can be made is a 400, promptly', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], watchOptions: FAST_WATCH });
  const dir = folders.make();
  const file = path.join(dir, 'notes');
  fs.writeFileSync(file, 'x');
  for (const outputDir of [file, path.join(file, 'out'), '/proc/comfygate-nope/out']) {
    const res = await g.fetch('/v1/watch', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dir, outputDir }),
      signal: AbortSignal.timeout(5000),
    });
    const body = await jsonBody(res);
    expect([res.status, body.error?.code], `${outputDir}: ${JSON.stringify(body)}`).toEqual([400, 'bad_request']);
    expect(body.error.message).toContain(outputDir);
  }
  expect(await g.client.watchRules()).toEqual([]);
  // A folder that does not exist yet is still made, parents included.
  const made = path.join(dir, 'out', 'deeper');
  const body = JSON.stringify({ dir, outputDir: made });
  const ok = await g.fetch('/v1/watch', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(ok.status, JSON.stringify(await jsonBody(ok.clone()))).toBe(201);
  expect(fs.statSync(made).isDirectory()).toBe(true);
});
