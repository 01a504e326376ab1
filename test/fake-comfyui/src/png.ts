// Minimal PNG chunk surgery: sharp cannot write arbitrary tEXt chunks, and ComfyUI's PNGs carry `prompt`
// and `workflow` ones (§7.1). We insert them after IHDR, as PIL does, and can read them back.

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

interface RawChunk {
  type: string;
  data: Buffer;
  start: number;
  end: number;
}

function* chunks(png: Buffer): Generator<RawChunk> {
  if (png.length < 8 || !png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG file');
  let off = 8;
  while (off + 12 <= png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const end = off + 12 + len;
    yield { type, data: png.subarray(off + 8, off + 8 + len), start: off, end };
    off = end;
  }
}

/** Insert tEXt chunks (keyword NUL Latin-1 text) right after IHDR. */
export function insertTextChunks(png: Buffer, entries: Array<[string, string]>): Buffer {
  if (entries.length === 0) return png;
  const first = chunks(png).next();
  if (first.done || first.value.type !== 'IHDR') throw new Error('PNG without IHDR');
  const text = entries.map(([k, v]) =>
    chunk('tEXt', Buffer.concat([Buffer.from(k, 'latin1'), Buffer.from([0]), Buffer.from(v, 'latin1')])),
  );
  return Buffer.concat([png.subarray(0, first.value.end), ...text, png.subarray(first.value.end)]);
}

/** The tEXt chunks of a PNG as keyword -> text. */
export function readPngText(png: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of chunks(png)) {
    if (c.type !== 'tEXt') continue;
    const nul = c.data.indexOf(0);
    if (nul < 0) continue;
    out[c.data.toString('latin1', 0, nul)] = c.data.toString('latin1', nul + 1);
  }
  return out;
}
