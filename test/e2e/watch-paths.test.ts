import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import { FAST_WATCH, listDir, pathOf, SMALL, tempFolders, waitForFile, watchJobs } from '../helpers/watch.js';

const folders = tempFolders();
afterEach(() => folders.cleanup());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('recursive rules see sub-folders (results beside each input, or mirrored under outputDir); others only the top', async () => {
  await using fake = await startFakeComfy();
  const [deep, flat, top, out] = [folders.make(), folders.make(), folders.make(), folders.make('cg-out-')];
  for (const d of [deep, flat, top]) fs.mkdirSync(path.join(d, 'sub', 'inner'), { recursive: true });
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [
      { id: 'deep', dir: deep, recursive: true, params: SMALL },
      { id: 'flat', dir: flat, recursive: true, outputDir: out, params: SMALL, patterns: ['sub/**/*.txt'] },
      { id: 'top', dir: top, params: SMALL },
    ],
    watchOptions: FAST_WATCH,
  });
  for (const d of [deep, flat, top]) {
    fs.writeFileSync(path.join(d, 'top.txt'), 'top');
    fs.writeFileSync(path.join(d, 'sub', 'inner', 'leaf.txt'), 'leaf');
  }
  await waitForFile(path.join(deep, 'top.out.png'));
  await waitForFile(path.join(deep, 'sub', 'inner', 'leaf.out.png'));
  await waitForFile(path.join(out, 'sub', 'inner', 'leaf.out.png'));
  await waitForFile(path.join(top, 'top.out.png'));
  await sleep(FAST_WATCH.stableMs * 3);
  expect((await watchJobs(g, 'deep')).map(pathOf).sort()).toEqual(['sub/inner/leaf.txt', 'top.txt']);
  expect((await watchJobs(g, 'flat')).map(pathOf)).toEqual(['sub/inner/leaf.txt']); // its pattern names the sub-folder
  expect(listDir(flat)).toEqual(['sub', 'top.txt']);
  expect((await watchJobs(g, 'top')).map(pathOf)).toEqual(['top.txt']); // not recursive: sub-folders are not its business
  expect(listDir(path.join(top, 'sub', 'inner'))).toEqual(['leaf.txt']);
});

it('symlinks are followed only inside the folder; outputs never land outside it', async () => {
  await using fake = await startFakeComfy();
  const [dir, outside] = [folders.make(), folders.make('cg-outside-')];
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'not for the gateway');
  fs.writeFileSync(path.join(dir, 'real.txt'), 'a real prompt');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'leak.txt'));
  fs.symlinkSync(path.join(dir, 'real.txt'), path.join(dir, 'alias.txt'));
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.symlinkSync(outside, path.join(dir, 'sub', 'escape')); // a sub-folder that is a way out
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'links', dir, recursive: true, params: SMALL }],
    watchOptions: FAST_WATCH,
  });
  await waitForFile(path.join(dir, 'alias.out.png'));
  await waitForFile(path.join(dir, 'real.out.png'));
  fs.writeFileSync(path.join(outside, 'planted.txt'), 'written through the link');
  await sleep(FAST_WATCH.stableMs * 3);
  expect((await watchJobs(g, 'links')).map(pathOf).sort()).toEqual(['alias.txt', 'real.txt']);
  expect(listDir(outside)).toEqual(['planted.txt', 'secret.txt']);
});

it('a config rule that cannot start is listed with its error; the daemon and the other rules run', async () => {
  await using fake = await startFakeComfy();
  const [good, bad] = [folders.make(), folders.make()];
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [
      { id: 'bad', dir: bad, template: 'no-such-template' },
      { id: 'good', dir: good, params: SMALL },
    ],
    watchOptions: FAST_WATCH,
  });
  const rules = await g.client.watchRules();
  expect(rules.map((r) => [r.id, r.status, r.error])).toEqual([
    ['bad', 'stopped', "no template 'no-such-template'; see GET /v1/templates"],
    ['good', 'watching', null],
  ]);
  expect((await g.fetch('/v1/watch/good', { method: 'DELETE' })).status).toBe(409); // config rules are changed in the config
  fs.writeFileSync(path.join(good, 'a.txt'), 'fine');
  await waitForFile(path.join(good, 'a.out.png'));
  await waitFor(async () => (await g.client.watchFiles('good'))[0]?.state === 'done', { what: 'done' });
});
