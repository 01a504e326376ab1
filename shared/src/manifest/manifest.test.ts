import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Template } from '../templates.js';
import {
  AssetManifest,
  type AssetLock,
  ManifestError,
  fileSha256,
  inputHash,
  lockPath,
  manifestProblems,
  outputPath,
  parseManifest,
  planAssets,
  provenanceFromPng,
  readLock,
  readPngText,
  resolveEntry,
  writeFileAtomic,
  writeLock,
} from './index.js';

const template = (name: string, params: string[], graphSha256 = 'a'.repeat(64)): Template => ({
  id: `builtin-${name}`,
  name,
  description: null,
  builtin: true,
  createdAt: 0,
  graphSha256,
  params: params.map((p) => ({ name: p, node: '3', input: p, type: 'string' as const })),
});
const TXT2IMG = template('txt2img', ['prompt', 'negative', 'seed', 'width', 'height', 'steps']);

const manifest = (assets: unknown[], defaults?: unknown) => AssetManifest.parse({ assets, defaults });
const hashOf = (m: AssetManifest, i = 0, t = TXT2IMG) => inputHash(resolveEntry(m, m.assets[i]!), t.graphSha256!);

describe('input hash', () => {
  const base = { output: 'a.png', prompt: 'a red fox', seed: 7, width: 64, height: 64, params: { steps: 4 } };

  it('is the same for the same inputs written in another key order', () => {
    const reordered = { params: { steps: 4 }, height: 64, width: 64, seed: 7, prompt: 'a red fox', output: 'a.png' };
    expect(hashOf(manifest([base]))).toBe(hashOf(manifest([reordered])));
    expect(hashOf(manifest([base]))).toMatch(/^v1:[0-9a-f]{64}$/);
  });

  it('changes with the prompt, the seed, a parameter, the size, the post-processing and the template graph', () => {
    const h = hashOf(manifest([base]));
    const changed = [
      { ...base, prompt: 'a red fox.' },
      { ...base, seed: 8 },
      { ...base, params: { steps: 5 } },
      { ...base, width: 128 },
      { ...base, ops: [{ op: 'grayscale' }] },
      { ...base, output: 'a.webp' },
      { ...base, variants: { small: { output: 'a-small.png', ops: [{ op: 'resize', width: 16 }] } } },
    ];
    const hashes = changed.map((e) => hashOf(manifest([e])));
    for (const other of hashes) expect(other).not.toBe(h);
    expect(new Set(hashes).size).toBe(hashes.length);
    expect(hashOf(manifest([base]), 0, { ...TXT2IMG, graphSha256: 'b'.repeat(64) })).not.toBe(h);
  });

  it('takes defaults unless the entry sets its own, and the format from the extension', () => {
    const defaults = { width: 96, height: 48, params: { steps: 3 } };
    const m = manifest(
      [
        { output: 'x/y.webp', prompt: 'p' },
        { output: 'z.jpg', prompt: 'p', width: 32 },
      ],
      defaults,
    );
    const [a, b] = m.assets.map((e) => resolveEntry(m, e));
    expect(a!.params).toEqual({ prompt: 'p', width: 96, height: 48, steps: 3 });
    expect(b!.params.width).toBe(32);
    expect(a!.template).toBe('txt2img');
    expect(a!.postprocess.variants.file!.ops).toEqual([{ op: 'format', format: 'webp' }]);
    expect(b!.postprocess.variants.file!.ops).toEqual([{ op: 'format', format: 'jpeg' }]);
  });
});

describe('manifest schema', () => {
  it('refuses paths that leave the folder, absolute paths, non-image names and one file written twice', () => {
    for (const output of ['../x.png', '/etc/x.png', 'a/../../x.png', 'C:/x.png', 'notes.txt']) {
      expect(AssetManifest.safeParse({ assets: [{ output }] }).success, output).toBe(false);
    }
    const twice = AssetManifest.safeParse({
      assets: [{ output: 'a.png' }, { output: 'b.png', variants: { s: { output: 'A.png', ops: [] } } }],
    });
    expect(twice.success).toBe(false);
    expect(JSON.stringify(twice.error!.issues)).toContain('also written by assets[0]');
  });

  it('names the field of a bad entry', () => {
    expect(() => parseManifest('{"assets":[{"output":"a.png","seed":-1}]}')).toThrow(/assets\.0\.seed/);
    expect(() => parseManifest('{ not json')).toThrow(/not JSON/);
  });
});

describe('problems (diagnostics)', () => {
  it('names an unknown template and an unknown parameter, and nothing for a good entry', () => {
    const m = manifest([
      { output: 'a.png', prompt: 'ok', params: { steps: 2 } },
      { output: 'b.png', template: 'nope' },
      { output: 'c.png', params: { stepz: 2 } },
    ]);
    const problems = manifestProblems(m, [TXT2IMG]);
    expect(problems.map((p) => [p.index, p.field, p.name])).toEqual([
      [1, 'template', 'nope'],
      [2, 'params', 'stepz'],
    ]);
    expect(problems[0]!.message).toContain("no template 'nope'");
    expect(problems[1]!.message).toContain("has no parameter 'stepz'");
  });
});

describe('plan against the lock', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-manifest-'));
    dirs.push(d);
    return d;
  };

  it('skips only entries whose hash and files match the lock; new, changed, missing and modified are generated', () => {
    const dir = tmp();
    const m = manifest(['a', 'b', 'c', 'd', 'e'].map((n) => ({ output: `img/${n}.png`, prompt: n, seed: 1 })));
    const plan0 = planAssets({ manifest: m, lock: null, templates: [TXT2IMG], fileSha256: () => null });
    expect(plan0.map((p) => p.state)).toEqual(['new', 'new', 'new', 'new', 'new']);

    // "Generate": write each file and its lock entry.
    const lock: AssetLock = { version: 1, assets: {} };
    fs.mkdirSync(path.join(dir, 'img'));
    for (const p of plan0) {
      fs.writeFileSync(path.join(dir, p.entry.output), `png of ${p.entry.prompt}`);
      lock.assets[p.entry.output] = {
        hash: p.hash,
        sha256: fileSha256(path.join(dir, p.entry.output))!,
        variants: {},
        template: 'txt2img',
        seed: '1',
        jobId: `j${p.index}`,
        generatedAt: new Date(0).toISOString(),
      };
    }
    writeLock(dir, lock);
    const reread = readLock(dir)!;
    expect(reread).toEqual(lock);
    expect(fs.readFileSync(lockPath(dir), 'utf8').endsWith('}\n')).toBe(true);

    const sha = (rel: string) => fileSha256(path.join(dir, rel));
    const again = planAssets({ manifest: m, lock: reread, templates: [TXT2IMG], fileSha256: sha });
    expect(again.map((p) => p.state)).toEqual(['fresh', 'fresh', 'fresh', 'fresh', 'fresh']);

    const edited = manifest(m.assets.map((a, i) => (i === 2 ? { ...a, prompt: 'c, but blue' } : a)));
    fs.rmSync(path.join(dir, 'img/d.png'));
    fs.writeFileSync(path.join(dir, 'img/e.png'), 'edited by hand');
    const states = planAssets({ manifest: edited, lock: reread, templates: [TXT2IMG], fileSha256: sha }).map(
      (p) => p.state,
    );
    expect(states).toEqual(['fresh', 'fresh', 'changed', 'missing', 'modified']);
  });

  it('refuses an output path that leads out of the manifest folder through a symlinked folder', () => {
    const dir = tmp();
    const outside = tmp();
    fs.symlinkSync(outside, path.join(dir, 'linked'));
    expect(() => outputPath(dir, 'linked/a.png')).toThrow(/outside .* through a link/);
    expect(() => outputPath(dir, '../a.png')).toThrow(/outside/);
    expect(outputPath(dir, 'img/new/a.png')).toBe(path.join(dir, 'img/new/a.png'));
  });

  it('refuses a damaged lock instead of regenerating everything silently', () => {
    const dir = tmp();
    fs.writeFileSync(lockPath(dir), '{"version":1,"assets":{"a.png":{"hash":1}}}');
    expect(() => readLock(dir)).toThrow(/not a comfygate lock/);
    // Not JSON at all (a merge conflict): the same error a person reads, not a SyntaxError with a stack.
    fs.writeFileSync(lockPath(dir), '<<<<<<< HEAD\n{"version":1}\n');
    expect(() => readLock(dir)).toThrow(ManifestError);
    expect(() => readLock(dir)).toThrow(/is not a comfygate lock: .*JSON/);
  });

  it('writes images and the lock without following a link a repository planted at a temp name', () => {
    const dir = tmp();
    const outside = tmp();
    const victim = path.join(outside, 'bashrc');
    fs.writeFileSync(victim, 'mine');
    // A cloned repository can hold symlinks; the temp names next to an output must not be a way out of it.
    fs.symlinkSync(victim, path.join(dir, `a.png.${process.pid}.tmp`));
    fs.symlinkSync(victim, `${lockPath(dir)}.${process.pid}.tmp`);
    writeFileAtomic(path.join(dir, 'a.png'), new TextEncoder().encode('png bytes'));
    writeLock(dir, { version: 1, assets: {} });
    expect(fs.readFileSync(victim, 'utf8')).toBe('mine');
    expect(fs.readFileSync(path.join(dir, 'a.png'), 'utf8')).toBe('png bytes');
    expect(readLock(dir)).toEqual({ version: 1, assets: {} });
    expect(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp') && !fs.lstatSync(path.join(dir, f)).isSymbolicLink()),
    ).toEqual([]);
  });
});

describe('provenance from PNG text chunks', () => {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const png = (...chunks: Buffer[]) => Buffer.concat([SIGNATURE, ...chunks, chunk('IEND', Buffer.alloc(0))]);
  const text = (k: string, v: string) => chunk('tEXt', Buffer.from(`${k}\0${v}`, 'latin1'));
  const itxt = (k: string, v: string) =>
    chunk('iTXt', Buffer.concat([Buffer.from(`${k}\0\0\0\0\0`, 'latin1'), Buffer.from(v, 'utf8')]));

  it("reads comfygate's own chunk, including UTF-8 text in iTXt and a seed beyond 2^53 as digits", () => {
    const json = JSON.stringify({
      software: 'comfygate',
      prompt: 'a fox, ü 🎨',
      seed: '18446744073709551615',
      template: 'txt2img',
      jobId: 'j1',
    });
    const p = provenanceFromPng(png(text('parameters', 'a fox'), itxt('comfygate', json)));
    expect(p).toEqual({ prompt: 'a fox, ü 🎨', seed: '18446744073709551615', template: 'txt2img', jobId: 'j1' });
  });

  it("falls back to ComfyUI's prompt chunk (the API graph): the first sampler's seed and prompts", () => {
    const graph = {
      '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse' } },
      '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry' } },
      '3': { class_type: 'KSampler', inputs: { seed: 42, positive: ['6', 0], negative: ['7', 0] } },
    };
    expect(provenanceFromPng(png(text('prompt', JSON.stringify(graph))))).toEqual({
      prompt: 'a lighthouse',
      negative: 'blurry',
      seed: 42,
    });
  });

  it('says nothing for a PNG without provenance, a damaged chunk or a file that is not a PNG', () => {
    expect(provenanceFromPng(png())).toBeNull();
    expect(provenanceFromPng(png(text('comfygate', '{broken'), text('prompt', 'also broken')))).toBeNull();
    expect(provenanceFromPng(new Uint8Array([0xff, 0xd8, 0xff]))).toBeNull();
    expect(readPngText(png(text('a', 'b'), text('c', 'd')))).toEqual({ a: 'b', c: 'd' });
  });
});
