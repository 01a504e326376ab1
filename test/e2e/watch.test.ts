import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, expect, it } from 'vitest';
import { expectedColor, startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import {
  FAST_WATCH,
  listDir,
  paramsOf,
  pathOf,
  pixel,
  SMALL,
  tempFolders,
  waitForFile,
  waitForGone,
  watchJobs,
  writeSlowly,
} from '../helpers/watch.js';

const folders = tempFolders();
afterEach(() => folders.cleanup());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('prompts (.txt, .prompt.json) become images beside them under deterministic names; outputs are never inputs', async () => {
  await using fake = await startFakeComfy();
  const dir = folders.make();
  fs.writeFileSync(path.join(dir, 'early.txt'), 'there before the daemon'); // picked up by the startup scan
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'text', dir, params: SMALL }],
    watchOptions: FAST_WATCH,
  });
  fs.writeFileSync(path.join(dir, 'fox.txt'), 'a red fox\n');
  fs.writeFileSync(
    path.join(dir, 'owl.prompt.json'),
    JSON.stringify({
      prompt: 'an owl',
      params: { seed: 7, steps: 3 },
      variants: { small: { ops: [{ op: 'resize', width: 32 }] } },
    }),
  );
  for (const f of ['early.out.png', 'fox.out.png', 'owl.small.png']) await waitForFile(path.join(dir, f));

  const jobs = await watchJobs(g, 'text');
  expect(jobs.map(pathOf).sort()).toEqual(['early.txt', 'fox.txt', 'owl.prompt.json']);
  const fox = jobs.find((j) => pathOf(j) === 'fox.txt')!;
  expect(fox).toMatchObject({
    state: 'succeeded',
    priority: -10,
    metadata: { source: 'watch', template: 'txt2img', params: { prompt: 'a red fox', width: 64 } },
  });
  expect(await pixel(path.join(dir, 'fox.out.png'))).toEqual(expectedColor(paramsOf(fox).seed as number, 'a red fox'));
  const owl = jobs.find((j) => pathOf(j) === 'owl.prompt.json')!;
  expect(paramsOf(owl)).toMatchObject({ prompt: 'an owl', seed: 7, steps: 3 });
  expect((await sharp(path.join(dir, 'owl.small.png')).metadata()).width).toBe(32);

  const files = await g.client.watchFiles('text');
  expect(files.map((f) => [f.path, f.state])).toEqual([
    ['early.txt', 'done'],
    ['fox.txt', 'done'],
    ['owl.prompt.json', 'done'],
  ]);
  expect(files[1]!.outputs).toEqual([path.join(dir, 'fox.out.png')]);
  await sleep(FAST_WATCH.stableMs * 3); // time for any output to be (wrongly) taken as an input
  expect(await watchJobs(g, 'text')).toHaveLength(3);
  expect(listDir(dir)).toEqual([
    'early.out.png',
    'early.txt',
    'fox.out.png',
    'fox.txt',
    'owl.prompt.json',
    'owl.small.png',
  ]);
});

it('a broken .prompt.json writes <name>.error.txt naming the problem; fixing the file replaces it with the result', async () => {
  await using fake = await startFakeComfy();
  const dir = folders.make();
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'json', dir, params: SMALL }],
    watchOptions: FAST_WATCH,
  });
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  write('bad.prompt.json', '{\n  "prompt": "a cat",\n  "params": {"steps": 3},\n}\n');
  write('typo.prompt.json', JSON.stringify({ promt: 'a dog' }));
  write('range.prompt.json', JSON.stringify({ prompt: 'a cow', params: { steps: 0 } }));
  write('empty.txt', '  \n');
  const error = async (name: string) => (
    await waitForFile(path.join(dir, `${name}.error.txt`)),
    fs.readFileSync(path.join(dir, `${name}.error.txt`), 'utf8')
  );
  expect(await error('bad')).toMatch(/^bad\.prompt\.json: not valid JSON: .* \(line 4, column 1\)/);
  expect(await error('typo')).toMatch(/unknown field 'promt'/);
  expect(await error('range')).toMatch(/steps/);
  expect(await error('empty')).toContain('the prompt file is empty');
  const failed = await g.client.watchFiles('json', { state: 'failed' });
  expect(failed.map((f) => f.path)).toEqual(['bad.prompt.json', 'empty.txt', 'range.prompt.json', 'typo.prompt.json']);
  expect(failed[0]!.error).toContain('not valid JSON');

  write('bad.prompt.json', JSON.stringify({ prompt: 'a cat', params: { steps: 3 } }));
  await waitForFile(path.join(dir, 'bad.out.png'));
  await waitForGone(path.join(dir, 'bad.error.txt'));
  expect((await g.client.watchFiles('json', { state: 'done' })).map((f) => f.path)).toEqual(['bad.prompt.json']);
});

it('images go to img2img with their .prompt.txt sidecar; editing the sidecar runs the image again', async () => {
  await using fake = await startFakeComfy();
  const dir = folders.make();
  const variants = { web: { ops: [{ op: 'format' as const, format: 'webp' as const }] } };
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'img', dir, params: { steps: 2 }, postprocess: { variants } }],
    watchOptions: FAST_WATCH,
  });
  const png = await sharp({ create: { width: 48, height: 32, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
  fs.writeFileSync(path.join(dir, 'photo.prompt.txt'), 'watercolour');
  fs.writeFileSync(path.join(dir, 'photo.png'), png);
  await waitForFile(path.join(dir, 'photo.web.webp'));
  const meta = await sharp(path.join(dir, 'photo.web.webp')).metadata();
  expect([meta.format, meta.width, meta.height]).toEqual(['webp', 48, 32]); // the reference image set the size
  const [first] = await watchJobs(g, 'img');
  expect(first!.metadata).toMatchObject({ template: 'img2img', params: { prompt: 'watercolour' } });
  const before = fs.readFileSync(path.join(dir, 'photo.web.webp'));

  fs.writeFileSync(path.join(dir, 'photo.prompt.txt'), 'oil painting');
  await waitFor(async () => (await watchJobs(g, 'img')).filter((j) => j.state === 'succeeded').length === 2, {
    what: 'second job',
  });
  await waitFor(() => !fs.readFileSync(path.join(dir, 'photo.web.webp')).equals(before), { what: 'output replaced' });
  const second = (await watchJobs(g, 'img'))[1]!;
  expect(paramsOf(second)).toMatchObject({ prompt: 'oil painting', image: paramsOf(first!).image });
  expect(listDir(dir)).toEqual(['photo.png', 'photo.prompt.txt', 'photo.web.webp']);
});

it('a file written in chunks over 600 ms is processed once, after it is complete', async () => {
  await using fake = await startFakeComfy();
  const dir = folders.make();
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'slow', dir, params: SMALL }],
    watchOptions: FAST_WATCH,
  });
  const text = 'a lighthouse on a cliff at dusk, long exposure, waves crashing below';
  await writeSlowly(path.join(dir, 'slow.txt'), text, 6, 100);
  await waitForFile(path.join(dir, 'slow.out.png'));
  await sleep(FAST_WATCH.stableMs * 3);
  const jobs = await watchJobs(g, 'slow');
  expect(jobs.map((j) => paramsOf(j).prompt)).toEqual([text]);
});

it('atomic saves: a temp file renamed into place, or a file moved in, makes one job; temp names never do', async () => {
  await using fake = await startFakeComfy();
  const dir = folders.make();
  const elsewhere = folders.make('cg-elsewhere-');
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    watch: [{ id: 'atomic', dir, params: SMALL }],
    watchOptions: FAST_WATCH,
  });
  const at = (name: string) => path.join(dir, name);
  fs.writeFileSync(at('story.txt.tmp'), 'a story'); // editors and downloaders: write aside, then rename
  fs.writeFileSync(at('.story.txt.swp'), 'swap');
  fs.renameSync(at('story.txt.tmp'), at('story.txt'));
  fs.writeFileSync(path.join(elsewhere, 'moved.txt'), 'moved in');
  fs.renameSync(path.join(elsewhere, 'moved.txt'), at('moved.txt'));
  await waitForFile(at('story.out.png'));
  await waitForFile(at('moved.out.png'));

  fs.writeFileSync(at('.story.txt.new'), 'a longer story'); // an atomic save over an existing input
  fs.renameSync(at('.story.txt.new'), at('story.txt'));
  await waitFor(async () => (await watchJobs(g, 'atomic')).filter((j) => j.state === 'succeeded').length === 3, {
    what: 'three jobs',
  });
  await sleep(FAST_WATCH.stableMs * 3);
  const jobs = await watchJobs(g, 'atomic');
  expect(jobs.map((j) => [pathOf(j), paramsOf(j).prompt]).sort()).toEqual([
    ['moved.txt', 'moved in'],
    ['story.txt', 'a longer story'],
    ['story.txt', 'a story'],
  ]);
});

it("images go to the rule's own template (remove-background, upscale); its default patterns take images only", async () => {
  await using fake = await startFakeComfy({ extraNodes: ['RemoveBackground'] });
  const [nobg, big] = [folders.make(), folders.make()];
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }], watchOptions: FAST_WATCH });
  const rule = await g.client.addWatchRule({ id: 'rb', dir: nobg, template: 'remove-background' });
  expect(rule.rule.patterns).toEqual(['*.png', '*.jpg', '*.jpeg', '*.webp']);
  await g.client.addWatchRule({ id: 'up', dir: big, template: 'upscale', params: { width: 80, height: 48 } });
  const jpeg = await sharp({ create: { width: 40, height: 24, channels: 3, background: '#ff0000' } })
    .jpeg()
    .toBuffer();
  for (const d of [nobg, big]) {
    fs.writeFileSync(path.join(d, 'notes.txt'), 'not an input here');
    fs.writeFileSync(path.join(d, 'logo.jpg'), jpeg);
  }
  await waitForFile(path.join(nobg, 'logo.out.png'));
  await waitForFile(path.join(big, 'logo.out.png'));
  expect(await sharp(path.join(nobg, 'logo.out.png')).metadata()).toMatchObject({ width: 40, height: 24 });
  expect(await sharp(path.join(big, 'logo.out.png')).metadata()).toMatchObject({ width: 80, height: 48 });
  await sleep(FAST_WATCH.stableMs * 3);
  expect((await watchJobs(g, 'rb')).map((j) => [pathOf(j), j.metadata.template])).toEqual([
    ['logo.jpg', 'remove-background'],
  ]);
  expect((await watchJobs(g, 'up')).map((j) => [pathOf(j), j.metadata.template])).toEqual([['logo.jpg', 'upscale']]);
});
