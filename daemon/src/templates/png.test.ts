import zlib from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { uiToApi } from './convert.js';
import { defaultGraph } from './fixtures/graphs.js';
import { objectInfo } from './fixtures/support.js';
import { crc32 } from '../postprocess/png-text.js';
import { PngError, readComfyPng, readPngChunks } from './png.js';

/** A chunk as the PNG spec lays it out: length, type, data, CRC over type + data. */
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.from(type, 'latin1'), data), 0);
  return Buffer.concat([head, data, crc]);
}

const tEXt = (key: string, text: string) => chunk('tEXt', Buffer.concat([Buffer.from(`${key}\0`, 'latin1'), Buffer.from(text, 'latin1')]));
const zTXt = (key: string, text: string) => chunk('zTXt', Buffer.concat([Buffer.from(`${key}\0\0`, 'latin1'), zlib.deflateSync(Buffer.from(text, 'latin1'))]));
const iTXt = (key: string, text: string, compress: boolean) =>
  chunk('iTXt', Buffer.concat([Buffer.from(`${key}\0${compress ? '\x01' : '\0'}\0en\0\0`, 'latin1'), compress ? zlib.deflateSync(Buffer.from(text, 'utf8')) : Buffer.from(text, 'utf8')]));

/** Inserts chunks right after IHDR (8-byte signature + 25-byte IHDR chunk), as PIL places ComfyUI's text. */
function withChunks(png: Buffer, ...chunks: Buffer[]): Buffer {
  return Buffer.concat([png.subarray(0, 33), ...chunks, png.subarray(33)]);
}

const image = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).png().toBuffer();

// A prompt as ComfyUI writes it (json.dumps), with a seed above 2^53 that JSON.parse would round.
const PROMPT_TEXT =
  '{"3": {"inputs": {"seed": 18446744073709551615, "steps": 20, "cfg": 8.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["4", 0]}, "class_type": "KSampler", "_meta": {"title": "KSampler"}}, ' +
  '"4": {"inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}, "class_type": "CheckpointLoaderSimple"}}';

describe('PNG metadata', () => {
  it('reads the prompt and workflow tEXt chunks of a ComfyUI PNG', async () => {
    const png = withChunks(await image(), tEXt('prompt', PROMPT_TEXT), tEXt('workflow', JSON.stringify(defaultGraph())));
    const meta = readComfyPng(png);
    expect(meta.prompt?.['3']?.inputs.seed).toBe(18446744073709551615n);
    expect(meta.prompt?.['4']).toEqual({ class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } });
    expect(meta.workflow).toEqual(JSON.parse(JSON.stringify(defaultGraph())));
    const converted = uiToApi(meta.workflow, objectInfo());
    expect(converted.ok && converted.graph['3']?.inputs.seed).toBe(156680208700286);
  });

  it('reads zTXt and iTXt (compressed or not, UTF-8) chunks too', async () => {
    const png = withChunks(await image(), zTXt('prompt', PROMPT_TEXT), iTXt('workflow', JSON.stringify(defaultGraph()), true), iTXt('note', 'café ✓', false));
    const meta = readComfyPng(png);
    expect(meta.prompt?.['3']?.class_type).toBe('KSampler');
    expect(meta.workflow?.nodes).toHaveLength(7);
    expect(meta.text.note).toBe('café ✓');
  });

  it('returns neither for a PNG without ComfyUI metadata, and keeps other text chunks', async () => {
    const meta = readComfyPng(withChunks(await image(), tEXt('Software', 'sharp')));
    expect(meta).toEqual({ text: { Software: 'sharp' } });
  });

  it('rejects bad CRCs, non-PNG input, and chunks that are not what ComfyUI writes', async () => {
    const good = withChunks(await image(), tEXt('prompt', PROMPT_TEXT));
    const bad = Buffer.from(good);
    bad[45] = (bad[45] as number) ^ 0xff; // a byte inside the tEXt data
    expect(() => readPngChunks(bad)).toThrow(/tEXt at byte 33 fails its CRC check/);
    expect(() => readComfyPng(Buffer.from('GIF89a'))).toThrow(PngError);
    const plain = await image();
    expect(() => readComfyPng(withChunks(plain, tEXt('prompt', '{"3": NaN}')))).toThrow(/'prompt' chunk is not valid JSON/);
    expect(() => readComfyPng(withChunks(plain, tEXt('workflow', '{"a": 1}')))).toThrow(/not a UI workflow/);
  });
});
