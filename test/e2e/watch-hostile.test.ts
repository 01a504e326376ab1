import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, expect, it } from 'vitest';
import type { WatchFile } from '@comfygate/shared';
import { INTERNAL } from '@comfygate/daemon';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import { FAST_WATCH, paramsOf, SMALL, tempFolders, waitForFile, watchJobs } from '../helpers/watch.js';

// Whoever can write into a watched folder is a stranger to the daemon: nothing they put there may make it
// read outside the folder, stall the rules, or hang shutdown (issue 13, items 2, 3, 8 and 11).

const folders = tempFolders();
afterEach(() => folders.cleanup());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SECRET = 'the contents of a private file outside the folder';

/** The ledger rows of a rule once every one of `names` has a final state. */
async function settled(g: TestGateway, rule: string, names: string[]): Promise<Map<string, WatchFile>> {
  let rows = new Map<string, WatchFile>();
  await waitFor(
    async () => {
      rows = new Map((await g.client.watchFiles(rule, { limit: 500 })).map((f) => [f.path, f]));
      return names.every((n) => rows.get(n)?.state === 'done' || rows.get(n)?.state === 'failed');
    },
    { timeoutMs: 30_000, what: `${names.join(', ')} to settle` },
  );
  return rows;
}

const tinyPng = () =>
  sharp({ create: { width: 32, height: 32, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();

async function expectNoSecret(g: TestGateway, rule: string, dir: string): Promise<void> {
  for (const job of await watchJobs(g, rule)) expect(JSON.stringify(paramsOf(job))).not.toContain(SECRET);
  for (const name of fs.readdirSync(dir))
    if (name.endsWith('.error.txt')) expect(fs.readFileSync(path.join(dir, name), 'utf8')).not.toContain(SECRET);
}

it('a .prompt.txt sidecar that is a symlink out of the folder is never read; one inside the folder still is', async () => {
  await using fake = await startFakeComfy();
  const [dir, outside] = [folders.make(), folders.make('cg-outside-')];
  fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET);
  fs.writeFileSync(path.join(dir, 'cat.png'), await tinyPng());
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'cat.prompt.txt'));
  fs.writeFileSync(path.join(dir, 'dog.png'), await tinyPng());
  fs.writeFileSync(path.join(dir, 'dog-prompt.md'), 'a dog on a sofa');
  fs.symlinkSync(path.join(dir, 'dog-prompt.md'), path.join(dir, 'dog.prompt.txt'));
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'side', dir, params: { steps: 2 } }],
    watchOptions: FAST_WATCH,
  });
  const rows = await settled(g, 'side', ['cat.png', 'dog.png']);
  expect(rows.get('cat.png')).toMatchObject({
    state: 'failed',
    error: expect.stringMatching(/cat\.prompt\.txt leads outside the watched folder/),
  });
  expect(rows.get('dog.png')).toMatchObject({ state: 'done', error: null });
  expect((await watchJobs(g, 'side')).map((j) => paramsOf(j).prompt)).toEqual(['a dog on a sofa']);
  await expectNoSecret(g, 'side', dir);
});

it('a pending .txt swapped for a symlink out of the folder is refused when it is read, not only when it was found', async () => {
  await using fake = await startFakeComfy();
  const [dir, outside] = [folders.make(), folders.make('cg-outside-')];
  fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET);
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'swap', dir, params: SMALL }],
    watchOptions: { ...FAST_WATCH, maxQueued: 1 },
  });
  await fake.control.down(); // the first job holds the only slot, so the second file waits in the ledger
  fs.writeFileSync(path.join(dir, 'first.txt'), 'first');
  await waitFor(async () => (await g.daemon.watch!.get('swap', INTERNAL)).files.submitted === 1, {
    what: 'first submitted',
  });
  fs.writeFileSync(path.join(dir, 'victim.txt'), 'an honest prompt');
  await waitFor(async () => (await g.daemon.watch!.get('swap', INTERNAL)).files.pending === 1, {
    what: 'victim pending',
  });
  fs.rmSync(path.join(dir, 'victim.txt'));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'victim.txt'));
  await sleep(FAST_WATCH.stableMs * 3);
  await fake.control.up();
  const rows = await settled(g, 'swap', ['first.txt', 'victim.txt']);
  expect(rows.get('first.txt')!.state).toBe('done');
  expect(rows.get('victim.txt')).toMatchObject({
    state: 'failed',
    error: expect.stringMatching(/victim\.txt leads outside the watched folder/),
  });
  await expectNoSecret(g, 'swap', dir);
});

it('FIFOs, sockets and 1 GB sparse files are refused without being opened or hashed; other files go on; shutdown is prompt', async () => {
  await using fake = await startFakeComfy();
  const dir = folders.make();
  execFileSync('mkfifo', [path.join(dir, 'pipe.txt')]);
  fs.writeFileSync(path.join(dir, 'img.png'), await tinyPng());
  execFileSync('mkfifo', [path.join(dir, 'img.prompt.txt')]); // a sidecar nobody will ever write to
  const sock = net.createServer();
  await new Promise<void>((r) => sock.listen(path.join(dir, 'sock.txt'), r));
  try {
    for (const name of ['huge.txt', 'huge.png'])
      (fs.writeFileSync(path.join(dir, name), ''), fs.truncateSync(path.join(dir, name), 2 ** 30)); // sparse
    const g = await startTestGateway({
      backends: [{ name: 'a', url: fake.url }],
      watch: [{ id: 'odd', dir, params: { steps: 2 } }],
      watchOptions: FAST_WATCH,
    });
    try {
      fs.writeFileSync(path.join(dir, 'good.txt'), 'a normal prompt');
      await waitForFile(path.join(dir, 'good.out.png'));
      const rows = await settled(g, 'odd', ['pipe.txt', 'img.png', 'sock.txt', 'huge.txt', 'huge.png']);
      expect(rows.get('pipe.txt')!.error).toMatch(/pipe\.txt is a FIFO, not a regular file/);
      expect(rows.get('img.png')!.error).toMatch(/img\.prompt\.txt is a FIFO, not a regular file/);
      expect(rows.get('sock.txt')!.error).toMatch(/sock\.txt is a socket, not a regular file/);
      expect(rows.get('huge.txt')!.error).toMatch(/huge\.txt: 1073741824 bytes is more than the 262144 allowed/);
      expect(rows.get('huge.png')!.error).toMatch(/huge\.png: 1073741824 bytes is more than the 52428800 allowed/);
      expect([...rows.values()].filter((r) => r.state === 'failed').length).toBe(5);
    } finally {
      const t0 = Date.now();
      await g.close();
      expect(Date.now() - t0).toBeLessThan(10_000); // a hang, not a speed: a FIFO opened for reading blocks forever
    }
  } finally {
    sock.close();
  }
}, 60_000);

it('a file that is not an image, dropped in an image folder, is reported as unsupported input, not a storage error', async () => {
  await using fake = await startFakeComfy();
  const dir = folders.make();
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'img', dir, template: 'img2img', params: { steps: 2 } }],
    watchOptions: FAST_WATCH,
  });
  fs.writeFileSync(path.join(dir, 'notes.png'), 'this is a text file with an image name\n');
  const rows = await settled(g, 'img', ['notes.png']);
  expect(rows.get('notes.png')!.error).toMatch(/^notes\.png: unsupported input: not a PNG, JPEG or WebP image/);
  expect(rows.get('notes.png')!.error).not.toMatch(/storage_error/);
  await waitForFile(path.join(dir, 'notes.error.txt')); // written right after the row is marked failed
  expect(fs.readFileSync(path.join(dir, 'notes.error.txt'), 'utf8')).toMatch(/unsupported input/);
  expect(await watchJobs(g, 'img')).toEqual([]);
});

it('file names that are not UTF-8 are reported, present at start or dropped later, not skipped in silence', async () => {
  await using fake = await startFakeComfy();
  const dir = folders.make();
  const raw = (prefix: string, bytes: number[]) =>
    Buffer.concat([Buffer.from(path.join(dir, prefix)), Buffer.from(bytes), Buffer.from('.txt')]);
  fs.writeFileSync(raw('early-', [0xff, 0xfe]), 'a prompt under a Latin-1 name');
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'names', dir, params: SMALL }],
    watchOptions: FAST_WATCH,
  });
  fs.writeFileSync(raw('late-', [0xc3, 0x28]), 'another');
  const rows = await settled(g, 'names', ['early-\uFFFD\uFFFD.txt', 'late-\uFFFD(.txt']);
  expect(rows.get('early-\uFFFD\uFFFD.txt')).toMatchObject({
    state: 'failed',
    error: expect.stringMatching(/not valid UTF-8 \(bytes 6561726c792dfffe2e747874\)/),
  });
  expect(rows.get('late-\uFFFD(.txt')).toMatchObject({
    state: 'failed',
    error: expect.stringMatching(/not valid UTF-8/),
  });
  expect(await watchJobs(g, 'names')).toEqual([]);
});

it('a rule that is not recursive takes no file from a sub-folder, even one there before the daemon started', async () => {
  await using fake = await startFakeComfy();
  const dir = folders.make();
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'early.txt'), 'in a sub-folder before the start');
  fs.writeFileSync(path.join(dir, 'top.txt'), 'at the top');
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'flat', dir, params: SMALL }],
    watchOptions: FAST_WATCH,
  });
  fs.writeFileSync(path.join(dir, 'sub', 'late.txt'), 'in a sub-folder after the start');
  await waitForFile(path.join(dir, 'top.out.png'));
  await sleep(FAST_WATCH.stableMs * 3);
  expect((await g.client.watchFiles('flat')).map((f) => f.path)).toEqual(['top.txt']);
  expect(fs.readdirSync(path.join(dir, 'sub')).sort()).toEqual(['early.txt', 'late.txt']);
});
