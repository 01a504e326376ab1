import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { GatewayClient } from '@comfygate/shared';
import { expectedColor, startFakeComfy } from '../fake-comfyui/src/index.js';
import { makeHome } from '../helpers/daemon.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';
import { repoRoot } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { FAST_WATCH, listDir, paramsOf, pixel, SMALL, tempFolders, waitForFile, watchJobs } from '../helpers/watch.js';

const folders = tempFolders();
afterEach(() => folders.cleanup());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const succeeded = async (g: Parameters<typeof watchJobs>[0], rule: string, n: number) =>
  waitFor(async () => (await watchJobs(g, rule)).filter((j) => j.state === 'succeeded').length >= n, {
    what: `${n} jobs of ${rule}`,
  });

it('an edited prompt is generated again and replaces its outputs; the same content never runs twice; keepOld sets old outputs aside', async () => {
  await using fake = await startFakeComfy();
  const [dir, kept] = [folders.make(), folders.make()];
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [
      { id: 'replace', dir, params: SMALL },
      { id: 'keep', dir: kept, params: SMALL, keepOld: true },
    ],
    watchOptions: FAST_WATCH,
  });
  for (const d of [dir, kept]) fs.writeFileSync(path.join(d, 'cat.txt'), 'a cat');
  await succeeded(g, 'replace', 1);
  await succeeded(g, 'keep', 1);
  await waitForFile(path.join(kept, 'cat.out.png'));
  const oldColour = await pixel(path.join(kept, 'cat.out.png'));

  fs.writeFileSync(path.join(dir, 'cat.txt'), 'a cat'); // rewritten, same bytes: nothing to do
  await sleep(FAST_WATCH.stableMs * 3);
  expect(await watchJobs(g, 'replace')).toHaveLength(1);

  for (const d of [dir, kept]) fs.writeFileSync(path.join(d, 'cat.txt'), 'a black cat');
  await succeeded(g, 'replace', 2);
  await succeeded(g, 'keep', 2);
  const [, second] = await watchJobs(g, 'replace');
  await waitFor(
    async () =>
      JSON.stringify(await pixel(path.join(dir, 'cat.out.png'))) ===
      JSON.stringify(expectedColor(paramsOf(second!).seed as number, 'a black cat')),
    { what: 'new image in place' },
  );
  expect(listDir(dir)).toEqual(['cat.out.png', 'cat.txt']);
  await waitFor(() => listDir(kept).length === 3, { what: 'old output set aside' });
  const aside = listDir(kept).find((f) => /^cat~[0-9a-f]{8}\.out\.png$/.test(f))!;
  expect(aside).toBeDefined();
  expect(await pixel(path.join(kept, aside))).toEqual(oldColour);

  // Variants that disappear from a changed .prompt.json take their files with them.
  const spec = (name: string) =>
    JSON.stringify({ prompt: 'a dog', variants: { [name]: { ops: [{ op: 'resize', width: 32 }] } } });
  fs.writeFileSync(path.join(dir, 'dog.prompt.json'), spec('a'));
  await waitForFile(path.join(dir, 'dog.a.png'));
  fs.writeFileSync(path.join(dir, 'dog.prompt.json'), spec('b'));
  await waitForFile(path.join(dir, 'dog.b.png'));
  await waitFor(() => !fs.existsSync(path.join(dir, 'dog.a.png')), { what: 'dog.a.png removed' });
  await sleep(FAST_WATCH.stableMs * 3);
  expect(await watchJobs(g, 'keep')).toHaveLength(2); // nothing written was taken for an input
  expect(await watchJobs(g, 'replace')).toHaveLength(4);
});

it('survives its folder being deleted and recreated', async () => {
  await using fake = await startFakeComfy();
  const inbox = path.join(folders.make(), 'inbox');
  fs.mkdirSync(inbox);
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'inbox', dir: inbox, params: SMALL }],
    watchOptions: FAST_WATCH,
  });
  fs.writeFileSync(path.join(inbox, 'a.txt'), 'first');
  await waitForFile(path.join(inbox, 'a.out.png'));
  fs.rmSync(inbox, { recursive: true });
  await waitFor(async () => (await g.client.watchRules())[0]!.status === 'missing', { what: 'status missing' });
  fs.mkdirSync(inbox);
  await waitFor(async () => (await g.client.watchRules())[0]!.status === 'watching', { what: 'status watching' });
  fs.writeFileSync(path.join(inbox, 'b.txt'), 'second');
  fs.writeFileSync(path.join(inbox, 'a.txt'), 'first'); // same content as before the folder went: not redone
  await waitForFile(path.join(inbox, 'b.out.png'));
  await sleep(FAST_WATCH.stableMs * 3);
  expect((await watchJobs(g, 'inbox')).map((j) => paramsOf(j).prompt)).toEqual(['first', 'second']);
});

it('rules over the API: admin only, validated, kept across a restart that picks up files dropped meanwhile', async () => {
  await using fake = await startFakeComfy();
  const home = makeHome();
  const dir = folders.make();
  const out = path.join(folders.make(), 'results');
  try {
    const start = () => startTestGateway({ backends: [{ name: 'a', url: fake.url }], home, watchOptions: FAST_WATCH });
    const g1 = await start();
    const reader = await g1.client.createToken({ name: 'viewer', scope: 'read' });
    const rule = { id: 'api', dir, template: 'txt2img', params: SMALL, outputDir: out };
    const asReader = new GatewayClient({ baseUrl: g1.url, token: reader.token });
    await expect(asReader.addWatchRule(rule)).rejects.toMatchObject({ status: 403 });
    const bad = async (body: unknown) =>
      jsonBody(
        await g1.fetch('/v1/watch', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      );
    expect((await bad({ ...rule, dir: 'relative/dir' })).error.message).toContain('absolute');
    expect((await bad({ ...rule, dir: path.join(dir, 'nope') })).error.message).toContain('no folder');
    expect((await bad({ ...rule, template: 'nope' })).error.code).toBe('not_found');
    expect((await bad({ ...rule, naming: '{name}.png' })).error.message).toContain('{variant}');

    const added = await g1.client.addWatchRule(rule);
    expect(added).toMatchObject({
      id: 'api',
      status: 'watching',
      fromConfig: false,
      rule: { patterns: ['*.txt', '*.prompt.json'], priority: -10 },
    });
    fs.writeFileSync(path.join(dir, 'a.txt'), 'one');
    await waitForFile(path.join(out, 'a.out.png'));
    await g1.close();

    fs.writeFileSync(path.join(dir, 'b.txt'), 'two'); // arrives while the daemon is stopped
    fs.writeFileSync(path.join(dir, 'a.txt'), 'one'); // rewritten with the same content
    await using g2 = await start();
    expect((await g2.client.watchRules()).map((r) => r.id)).toEqual(['api']);
    await waitForFile(path.join(out, 'b.out.png'));
    await sleep(FAST_WATCH.stableMs * 3);
    expect((await watchJobs(g2, 'api')).map((j) => paramsOf(j).prompt)).toEqual(['one', 'two']);
    expect(listDir(dir)).toEqual(['a.txt', 'b.txt']); // results went to the output folder

    expect((await g2.fetch('/v1/watch/api', { method: 'DELETE' })).status).toBe(204);
    expect(await g2.client.watchRules()).toEqual([]);
    expect((await g2.fetch('/v1/watch/api/files')).status).toBe(404);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});

/** The real CLI in a child process. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tsx, path.join(repoRoot, 'daemon/src/cli/main.ts'), ...args],
      { cwd: repoRoot, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

it('comfygate watch add / list / files / remove', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], watchOptions: FAST_WATCH });
  const [dir, out] = [folders.make(), folders.make('cg-out-')];
  const auth = ['--url', g.url, '--token', g.token];
  const add = await cli([
    ...auth,
    'watch',
    'add',
    dir,
    '--id',
    'cli',
    '--template',
    'txt2img',
    '--param',
    'width=64',
    '--param',
    'height=64',
    '--param',
    'steps=2',
    '--variant',
    'small={"ops":[{"op":"resize","width":32}]}',
    '--out',
    out,
  ]);
  expect(add).toMatchObject({ code: 0, stdout: `watching ${dir} (*.txt, *.prompt.json) as rule cli\n` });
  fs.writeFileSync(path.join(dir, 'a.txt'), 'from the cli');
  await waitForFile(path.join(out, 'a.small.png'));
  await waitFor(async () => (await g.client.watchFiles('cli'))[0]?.state === 'done', { what: 'a.txt done' });
  const list = JSON.parse((await cli([...auth, '--json', 'watch', 'list'])).stdout);
  expect(list).toMatchObject([
    { id: 'cli', rule: { params: { width: 64 }, postprocess: { variants: { small: {} } } }, files: { done: 1 } },
  ]);
  expect((await cli([...auth, 'watch', 'files', 'cli'])).stdout).toMatch(/a\.txt\s+done/);
  expect((await cli([...auth, 'watch', 'remove', 'cli'])).stdout).toBe('removed watch rule cli\n');
  expect((await cli([...auth, 'watch', 'list'])).stdout).toContain('no watched folders');
});
