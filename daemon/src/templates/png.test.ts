import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { uiToApi } from './convert.js';
import { defaultGraph } from './fixtures/graphs.js';
import { objectInfo } from './fixtures/support.js';
import { crc32 } from '../postprocess/png-text.js';
import { MAX_INFLATED_TEXT_BYTES, PngError, readComfyPng, readPngChunks, readPngText } from './png.js';

/** A chunk as the PNG spec lays it out: length, type, data, CRC over type + data. */
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.from(type, 'latin1'), data), 0);
  return Buffer.concat([head, data, crc]);
}

const tEXt = (key: string, text: string) =>
  chunk('tEXt', Buffer.concat([Buffer.from(`${key}\0`, 'latin1'), Buffer.from(text, 'latin1')]));
const zTXtRaw = (key: string, deflated: Buffer) =>
  chunk('zTXt', Buffer.concat([Buffer.from(`${key}\0\0`, 'latin1'), deflated]));
const zTXt = (key: string, text: string) => zTXtRaw(key, zlib.deflateSync(Buffer.from(text, 'latin1')));
const iTXtRaw = (key: string, body: Buffer, compressed: boolean) =>
  chunk('iTXt', Buffer.concat([Buffer.from(`${key}\0${compressed ? '\x01' : '\0'}\0en\0\0`, 'latin1'), body]));
const iTXt = (key: string, text: string, compress: boolean) =>
  iTXtRaw(key, compress ? zlib.deflateSync(Buffer.from(text, 'utf8')) : Buffer.from(text, 'utf8'), compress);

/** Inserts chunks right after IHDR (8-byte signature + 25-byte IHDR chunk), as PIL places ComfyUI's text. */
function withChunks(png: Buffer, ...chunks: Buffer[]): Buffer {
  return Buffer.concat([png.subarray(0, 33), ...chunks, png.subarray(33)]);
}

const image = () =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();

// A prompt as ComfyUI writes it (json.dumps), with a seed above 2^53 that JSON.parse would round.
const PROMPT_TEXT =
  '{"3": {"inputs": {"seed": 18446744073709551615, "steps": 20, "cfg": 8.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["4", 0]}, "class_type": "KSampler", "_meta": {"title": "KSampler"}}, ' +
  '"4": {"inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}, "class_type": "CheckpointLoaderSimple"}}';

describe('PNG metadata', () => {
  it('reads the prompt and workflow tEXt chunks of a ComfyUI PNG', async () => {
    const png = withChunks(
      await image(),
      tEXt('prompt', PROMPT_TEXT),
      tEXt('workflow', JSON.stringify(defaultGraph())),
    );
    const meta = readComfyPng(png);
    expect(meta.prompt?.['3']?.inputs.seed).toBe(18446744073709551615n);
    expect(meta.prompt?.['4']).toEqual({
      class_type: 'CheckpointLoaderSimple',
      inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' },
    });
    expect(meta.workflow).toEqual(JSON.parse(JSON.stringify(defaultGraph())));
    const converted = uiToApi(meta.workflow, objectInfo());
    expect(converted.ok && converted.graph['3']?.inputs.seed).toBe(156680208700286);
  });

  it('reads zTXt and iTXt (compressed or not, UTF-8) chunks too', async () => {
    const png = withChunks(
      await image(),
      zTXt('prompt', PROMPT_TEXT),
      iTXt('workflow', JSON.stringify(defaultGraph()), true),
      iTXt('note', 'café ✓', false),
    );
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
    expect(() => readComfyPng(withChunks(plain, tEXt('prompt', '{"3": NaN}')))).toThrow(
      /'prompt' chunk is not valid JSON/,
    );
    expect(() => readComfyPng(withChunks(plain, tEXt('workflow', '{"a": 1}')))).toThrow(/not a UI workflow/);
  });

  describe('compressed text', () => {
    afterEach(() => vi.restoreAllMocks());

    it('inflates only prompt and workflow, once each: a small PNG of many compressed chunks stays small', async () => {
      // 2000 chunks of ~200 bytes, each inflating to 160 KiB: ~320 MiB if every one were read.
      const bomb = zlib.deflateSync(Buffer.alloc(160 * 1024, 0x41));
      const others = Array.from({ length: 2000 }, (_, i) =>
        i % 2 ? zTXtRaw(`note${i}`, bomb) : iTXtRaw(`meta${i}`, bomb, true),
      );
      const png = withChunks(
        await image(),
        tEXt('Software', 'x'),
        ...others,
        zTXt('prompt', PROMPT_TEXT),
        zTXtRaw('prompt', bomb),
        iTXt('workflow', JSON.stringify(defaultGraph()), true),
      );
      expect(png.length).toBeLessThan(2_000 * 400);
      const inflate = vi.spyOn(zlib, 'inflateSync');
      const meta = readComfyPng(png);
      expect(inflate).toHaveBeenCalledTimes(2); // the first prompt and the workflow; the second prompt is not read
      expect(meta.prompt?.['3']?.class_type).toBe('KSampler');
      expect(meta.workflow?.nodes).toHaveLength(7);
      expect(Object.keys(meta.text).sort()).toEqual(['Software', 'prompt', 'workflow']);
    });

    it('refuses compressed text beyond the total budget with a PngError, without inflating past it', async () => {
      const plain = await image();
      // 40 MiB of spaces deflate to ~180 KiB; zlib stops at the budget instead of allocating it all.
      const big = zlib.deflateSync(Buffer.alloc(MAX_INFLATED_TEXT_BYTES + 8 * 1024 * 1024, 0x20), { level: 1 });
      expect(big.length).toBeLessThan(200_000);
      const err = (() => {
        try {
          readComfyPng(withChunks(plain, zTXtRaw('prompt', big)));
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(PngError);
      expect((err as Error).message).toBe(
        "compressed text in the PNG inflates to more than 32 MiB (zTXt 'prompt' passes the limit)",
      );
      // The budget is for the whole file: each chunk fits alone, both together do not.
      const two = withChunks(
        plain,
        zTXt('prompt', PROMPT_TEXT),
        iTXt('workflow', JSON.stringify(defaultGraph()), true),
      );
      expect(() => readComfyPng(two, { maxInflatedBytes: PROMPT_TEXT.length + 100 })).toThrow(
        /more than .* \(iTXt 'workflow' passes the limit\)/,
      );
      expect(readComfyPng(two).workflow?.nodes).toHaveLength(7);
    });

    it('reads compressed text of other keywords only when asked to', async () => {
      const plain = await image();
      const png = withChunks(plain, zTXt('parameters', 'steps: 20'), iTXt('note', 'café', true));
      expect(readPngText(png)).toEqual({});
      expect(readPngText(png, { inflate: ['parameters', 'note'] })).toEqual({ parameters: 'steps: 20', note: 'café' });
      expect(() => readPngText(withChunks(plain, zTXtRaw('prompt', Buffer.from('not zlib'))))).toThrow(
        /cannot inflate zTXt 'prompt'/,
      );
    });
  });
});
