import { Transform, type TransformCallback } from 'node:stream';

/**
 * PNG text chunks, by hand: sharp (libvips) cannot write arbitrary tEXt/iTXt, so provenance is spliced into the
 * encoded PNG right after IHDR (before IDAT, where streaming readers see it first).
 */

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Signature (8) + IHDR: length (4), type (4), data (13), CRC (4). */
const HEAD_BYTES = 8 + 4 + 4 + 13 + 4;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as PNG specifies), over any number of buffers. */
export function crc32(...parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const buf of parts) for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function encodeChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(head.subarray(4), data), 0);
  return Buffer.concat([head, data, crc]);
}

/** PNG keywords: 1-79 printable Latin-1 characters, no leading, trailing or double spaces. */
export function isValidKeyword(keyword: string): boolean {
  return /^[\x20-\x7e\xa1-\xff]{1,79}$/.test(keyword) && keyword.trim() === keyword && !keyword.includes('  ');
}

/** tEXt when the text is plain Latin-1 (widest reader support), otherwise uncompressed UTF-8 iTXt. */
export function textChunk(keyword: string, text: string): Buffer {
  if (!isValidKeyword(keyword)) throw new Error(`invalid PNG keyword '${keyword}'`);
  const key = Buffer.from(keyword, 'latin1');
  if (/^[\n\x20-\x7e\xa0-\xff]*$/.test(text)) {
    return encodeChunk('tEXt', Buffer.concat([key, Buffer.from([0]), Buffer.from(text, 'latin1')]));
  }
  // keyword \0, compression flag 0, method 0, empty language tag \0, empty translated keyword \0, text
  return encodeChunk('iTXt', Buffer.concat([key, Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]));
}

export interface PngChunk {
  type: string;
  data: Buffer;
  /** The whole chunk (length, type, data, CRC) as it appears in the file. */
  raw: Buffer;
  crcOk: boolean;
}

/** Walks a PNG's chunks; stops at IEND or at the first truncated chunk. */
export function* walkChunks(png: Buffer): Generator<PngChunk> {
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG');
  let at = 8;
  while (at + 12 <= png.length) {
    const len = png.readUInt32BE(at);
    const end = at + 12 + len;
    if (end > png.length) return;
    const typeBytes = png.subarray(at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    const crcOk = crc32(typeBytes, data) === png.readUInt32BE(at + 8 + len);
    const type = typeBytes.toString('latin1');
    yield { type, data, raw: png.subarray(at, end), crcOk };
    if (type === 'IEND') return;
    at = end;
  }
}

/** Decodes tEXt and uncompressed iTXt chunks (compressed ones are skipped: this reader exists for our own chunks). */
export function readTextChunks(png: Buffer): Array<{ keyword: string; text: string; type: string; crcOk: boolean }> {
  const out: Array<{ keyword: string; text: string; type: string; crcOk: boolean }> = [];
  for (const c of walkChunks(png)) {
    const nul = c.data.indexOf(0);
    if (nul < 0 || (c.type !== 'tEXt' && c.type !== 'iTXt')) continue;
    const keyword = c.data.subarray(0, nul).toString('latin1');
    if (c.type === 'tEXt') {
      out.push({ keyword, text: c.data.subarray(nul + 1).toString('latin1'), type: c.type, crcOk: c.crcOk });
      continue;
    }
    if (c.data[nul + 1] !== 0) continue;
    const lang = c.data.indexOf(0, nul + 3);
    const translated = lang < 0 ? -1 : c.data.indexOf(0, lang + 1);
    if (translated < 0) continue;
    out.push({ keyword, text: c.data.subarray(translated + 1).toString('utf8'), type: c.type, crcOk: c.crcOk });
  }
  return out;
}

/** The raw text chunks (tEXt, zTXt, iTXt) of a PNG, verbatim, minus the keywords in `except`. */
export function copyTextChunks(png: Buffer, except: ReadonlySet<string>): Buffer[] {
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) return [];
  const out: Buffer[] = [];
  for (const c of walkChunks(png)) {
    if (!c.crcOk || !['tEXt', 'zTXt', 'iTXt'].includes(c.type)) continue;
    const nul = c.data.indexOf(0);
    if (nul > 0 && !except.has(c.data.subarray(0, nul).toString('latin1'))) out.push(Buffer.from(c.raw));
  }
  return out;
}

/** A stream transform that splices `chunks` into a PNG right after IHDR; everything else passes through untouched. */
export function insertChunksAfterIHDR(chunks: Buffer[]): Transform {
  let head: Buffer | null = Buffer.alloc(0);
  return new Transform({
    transform(data: Buffer, _enc, cb: TransformCallback) {
      if (!head) return cb(null, data);
      head = Buffer.concat([head, data]);
      if (head.length < HEAD_BYTES) return cb();
      if (!head.subarray(0, 8).equals(PNG_SIGNATURE) || head.toString('latin1', 12, 16) !== 'IHDR') {
        return cb(new Error('encoder output is not a PNG starting with IHDR'));
      }
      const out = Buffer.concat([head.subarray(0, HEAD_BYTES), ...chunks, head.subarray(HEAD_BYTES)]);
      head = null;
      cb(null, out);
    },
    flush(cb: TransformCallback) {
      cb(head ? new Error('PNG ended before IHDR') : null);
    },
  });
}
