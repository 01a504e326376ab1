import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite/index.js';
import { compileGlobs, globToRegExp } from './glob.js';
import { InputError, kindOf, parsePromptJson, stemOf } from './inputs.js';
import { configRuleId, relInside, renderName } from './rules.js';

describe('globs', () => {
  it('match names case-insensitively, * within a segment, ** across, {a,b} and classes', () => {
    expect(globToRegExp('*.txt').test('Fox.TXT')).toBe(true);
    expect(globToRegExp('*.txt').test('a/b.txt')).toBe(false);
    expect(globToRegExp('**/*.png').test('a/b/c.png')).toBe(true);
    expect(globToRegExp('**/*.png').test('c.png')).toBe(true);
    expect(globToRegExp('*.{jpg,jpeg}').test('x.jpeg')).toBe(true);
    expect(globToRegExp('shot[0-9].png').test('shot7.png')).toBe(true);
    expect(globToRegExp('shot[!0-9].png').test('shot7.png')).toBe(false);
  });
  it('a pattern without / matches the file name at any depth; with /, the relative path', () => {
    const m = compileGlobs(['*.txt', 'renders/*.png']);
    expect([m('deep/er/a.txt'), m('renders/x.png'), m('other/x.png')]).toEqual([true, true, false]);
  });
});

describe('names', () => {
  it('inputs by kind; our error reports and sidecars are never inputs', () => {
    expect(['a.txt', 'a.prompt.json', 'a.JPG', 'a.error.txt', 'a.prompt.txt', 'a.json'].map(kindOf)).toEqual([
      'text',
      'json',
      'image',
      null,
      null,
      null,
    ]);
    expect(['cat.prompt.json', 'cat.txt', 'cat.v2.png'].map(stemOf)).toEqual(['cat', 'cat', 'cat.v2']);
  });
  it('outputs are named deterministically; a batch without {index} gets -N after the first', () => {
    const n = '{name}.{variant}.{ext}';
    expect(renderName(n, { name: 'cat', variant: 'web', ext: 'webp', index: 0 })).toBe('cat.web.webp');
    expect(renderName(n, { name: 'cat', variant: 'out', ext: 'png', index: 2 })).toBe('cat-2.out.png');
    expect(renderName('{name}_{index}_{variant}.{ext}', { name: 'cat', variant: 'out', ext: 'png', index: 2 })).toBe(
      'cat_2_out.png',
    );
  });
  it('paths stay inside their root', () => {
    expect(relInside('/w/in', '/w/in/a/b.txt')).toBe('a/b.txt');
    expect([
      relInside('/w/in', '/w/in'),
      relInside('/w/in', '/w/inbox/a.txt'),
      relInside('/w/in', '/w/in/../x.txt'),
    ]).toEqual([null, null, null]);
  });
  it('config rules without an id get a stable one', () => {
    const spec = { dir: '/w/in', naming: '{name}.{variant}.{ext}', recursive: false, keepOld: false, priority: -10 };
    expect(configRuleId(spec)).toBe(configRuleId({ ...spec }));
    expect(configRuleId(spec)).not.toBe(configRuleId({ ...spec, template: 'img2img' }));
  });
});

describe('.prompt.json', () => {
  const error = (text: string) => {
    try {
      parsePromptJson(text);
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      return (err as Error).message;
    }
    throw new Error('no error');
  };
  it('takes a prompt, params and variants', () => {
    expect(parsePromptJson('{"prompt":"a","negative":"b","params":{"steps":3},"variants":{"w":{"ops":[]}}}')).toEqual({
      params: { steps: 3, prompt: 'a', negative: 'b' },
      postprocess: { variants: { w: { ops: [] } } },
    });
  });
  it('errors name the problem and where it is', () => {
    expect(error('{\n "prompt": "a",\n}')).toMatch(/^not valid JSON: .*\(line 3, column 1\)$/);
    expect(error('{"steps": 3}')).toBe(
      '(file): unknown field \'steps\' (template parameters go under "params", e.g. {"params": {"steps": 30}})',
    );
    expect(error('{"prompt": 5}')).toBe('prompt: expected a string, got 5');
    expect(error('{"variants": {"w": {"ops": [{"op": "resize"}]}}}')).toMatch(
      /^variants\.w\.ops\[0\]: needs width or height/,
    );
  });
});

describe('ledger', () => {
  it('the same content at the same path is recorded once; new content is pending again with a new key', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-watch-'));
    const store = openSqliteStore(path.join(dir, 'db'));
    try {
      const w = store.watch;
      expect((await w.observe('r', 'a.txt', 'sha1', 'k1')).changed).toBe(true);
      expect((await w.observe('r', 'a.txt', 'sha1', 'k2')).changed).toBe(false);
      expect(await w.markSubmitted('r', 'a.txt', 'k2', 'job-x')).toBe(false); // not its key
      expect(await w.markSubmitted('r', 'a.txt', 'k1', 'job-1')).toBe(true);
      expect(await w.observe('r', 'a.txt', 'sha2', 'k3')).toEqual({ changed: true, replacedJobId: 'job-1' });
      expect(await w.byJob('job-1')).toBeNull(); // the old job's result is stale now
      expect(await w.finish('r', 'a.txt', 'sha1', { state: 'done', error: null })).toBe(false);
      expect(await w.pending(10, ['r'])).toMatchObject([{ path: 'a.txt', sha256: 'sha2', submitKey: 'k3' }]);
      expect(await w.pending(10, ['other'])).toEqual([]);
      await w.finish('r', 'a.txt', 'sha2', {
        state: 'done',
        error: null,
        outputs: { sha256: 'sha2', paths: ['/o/a.out.png'], kept: [] },
      });
      expect(await w.outputPaths('r')).toEqual(['/o/a.out.png']);
      expect(await w.counts('r')).toEqual({ pending: 0, submitted: 0, done: 1, failed: 0 });
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
