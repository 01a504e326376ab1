import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { gradient } from './fixtures.js';
import {
  copyTextChunks,
  crc32,
  encodeChunk,
  insertChunksAfterIHDR,
  isValidKeyword,
  readTextChunks,
  textChunk,
  walkChunks,
} from './png-text.js';

async function spliced(png: Buffer, chunks: Buffer[], pieceSize: number): Promise<Buffer> {
  const pieces = [];
  for (let i = 0; i < png.length; i += pieceSize) pieces.push(png.subarray(i, i + pieceSize));
  const out: Buffer[] = [];
  for await (const c of Readable.from(pieces).pipe(insertChunksAfterIHDR(chunks))) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe('crc32', () => {
  test('matches the standard check value and zlib on random data', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
    for (const n of [1, 7, 1000, 65_537]) {
      const buf = crypto.randomBytes(n);
      expect(crc32(buf)).toBe(zlib.crc32(buf));
      expect(crc32(buf.subarray(0, 3), buf.subarray(3))).toBe(zlib.crc32(buf));
    }
  });

  test('matches the CRC libpng wrote for IHDR', async () => {
    const png = await gradient(8, 8);
    const ihdr = [...walkChunks(png)][0]!;
    expect(ihdr.type).toBe('IHDR');
    expect(ihdr.crcOk).toBe(true);
    expect(encodeChunk('IHDR', ihdr.data)).toEqual(ihdr.raw);
  });
});

describe('text chunks', () => {
  test('Latin-1 text becomes tEXt, anything else UTF-8 iTXt; both read back', () => {
    const latin = textChunk('parameters', 'a café\nSeed: 1');
    const utf8 = textChunk('comfygate', '{"prompt":"猫 🎨"}');
    expect(latin.toString('latin1', 4, 8)).toBe('tEXt');
    expect(utf8.toString('latin1', 4, 8)).toBe('iTXt');
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      latin,
      utf8,
      encodeChunk('IEND', Buffer.alloc(0)),
    ]);
    expect(readTextChunks(png).map(({ keyword, text, crcOk }) => ({ keyword, text, crcOk }))).toEqual([
      { keyword: 'parameters', text: 'a café\nSeed: 1', crcOk: true },
      { keyword: 'comfygate', text: '{"prompt":"猫 🎨"}', crcOk: true },
    ]);
  });

  test('keywords follow the PNG rules', () => {
    expect(isValidKeyword('comfygate:prompt')).toBe(true);
    for (const bad of ['', ' lead', 'trail ', 'two  spaces', 'x'.repeat(80), 'nul\0', 'émoji🎨'])
      expect(isValidKeyword(bad)).toBe(false);
    expect(() => textChunk('', 'x')).toThrow(/keyword/);
  });

  test('a flipped byte is caught by the CRC', () => {
    const chunk = textChunk('k', 'value');
    chunk.writeUInt8(chunk.readUInt8(10) ^ 0xff, 10);
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk]);
    expect([...walkChunks(png)][0]!.crcOk).toBe(false);
    expect(copyTextChunks(png, new Set())).toEqual([]);
  });
});

describe('splicing into an encoded PNG', () => {
  test.each([1, 5, 33, 64 * 1024])('right after IHDR, whatever the stream chunking (%i-byte pieces)', async (piece) => {
    const png = await gradient(64, 48);
    const out = await spliced(png, [textChunk('comfygate', '{"seed":1}'), textChunk('parameters', 'ü 🎨')], piece);
    const types = [...walkChunks(out)].map((c) => c.type);
    expect(types.slice(0, 3)).toEqual(['IHDR', 'tEXt', 'iTXt']);
    expect([...walkChunks(out)].every((c) => c.crcOk)).toBe(true);
    expect(readTextChunks(out).map((t) => t.text)).toEqual(['{"seed":1}', 'ü 🎨']);
    // libpng (through sharp) still decodes it to the same pixels
    const [a, b] = await Promise.all([sharp(png).raw().toBuffer(), sharp(out).raw().toBuffer()]);
    expect(b.equals(a)).toBe(true);
  });

  test('refuses a stream that is not a PNG', async () => {
    const jpeg = await sharp(await gradient(16, 16))
      .jpeg()
      .toBuffer();
    await expect(spliced(jpeg, [textChunk('k', 'v')], 1024)).rejects.toThrow(/not a PNG/);
    await expect(spliced(Buffer.from([0x89, 0x50]), [], 1024)).rejects.toThrow(/ended before IHDR/);
  });

  test('copyTextChunks keeps other keywords verbatim and drops the excepted ones', async () => {
    const png = await spliced(
      await gradient(8, 8),
      [textChunk('workflow', '{"nodes":[]}'), textChunk('parameters', 'old')],
      4096,
    );
    const kept = copyTextChunks(png, new Set(['parameters']));
    expect(kept).toHaveLength(1);
    expect(kept[0]!.equals(textChunk('workflow', '{"nodes":[]}'))).toBe(true);
  });
});
