import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../comfy/types.js';
import { MAX_TEXT_CHARS, MAX_TEXT_TOTAL_CHARS, fileRefs, textOutputs } from './harvest.js';

const ref = (filename: string, extra: Record<string, unknown> = {}) => ({
  filename,
  subfolder: '',
  type: 'output',
  ...extra,
});

/** History outputs as ComfyUI 0.3.64 writes them for each kind of output node. */
const entry: HistoryEntry = {
  outputs: {
    '9': { images: [ref('still_00001_.png'), ref('still_00002_.png')] },
    '10': { images: [ref('anim_00001_.webp')], animated: [true] },
    '11': { images: [ref('clip_00001_.webm')], animated: [true] },
    '12': { audio: [ref('sound_00001_.flac')] },
    '13': { gifs: [ref('vhs_00001.mp4', { format: 'video/h264-mp4', frame_rate: 8 })] },
    '14': { text: ['42', 'second'] },
    '15': { images: [ref('v3_00001_.png')], animated: [false] },
  },
};

describe('harvest: what ComfyUI reports', () => {
  it('finds every file under any key, with the animated flag and a named format', () => {
    const refs = fileRefs(entry).map((r) => [r.nodeId, r.index, r.ref.filename, r.animated, r.format]);
    expect(refs).toEqual(
      [
        ['9', 0, 'still_00001_.png', false, null],
        ['9', 1, 'still_00002_.png', false, null],
        ['10', 0, 'anim_00001_.webp', true, null],
        ['11', 0, 'clip_00001_.webm', true, null],
        ['12', 0, 'sound_00001_.flac', false, null],
        ['13', 0, 'vhs_00001.mp4', true, 'video/h264-mp4'], // VideoHelperSuite's gifs: animated, unflagged
        ['15', 0, 'v3_00001_.png', false, null],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]), 'en', { numeric: true })),
    );
  });

  it('keeps text outputs in node then list order, cut to a bound', () => {
    expect(textOutputs(entry)).toEqual([
      { nodeId: '14', index: 0, text: '42' },
      { nodeId: '14', index: 1, text: 'second' },
    ]);
    const long = textOutputs({ outputs: { '1': { text: ['x'.repeat(MAX_TEXT_CHARS + 10), 7] } } });
    expect(long).toHaveLength(1);
    expect(long[0]!.text.length).toBe(MAX_TEXT_CHARS + 1);
  });

  it('keeps at most MAX_TEXT_TOTAL_CHARS of text per job, the last kept text cut to fit', () => {
    const big = 'y'.repeat(MAX_TEXT_CHARS - 1000);
    const texts = textOutputs({ outputs: { '1': { text: Array.from({ length: 10 }, () => big) } } });
    expect(texts.length).toBe(Math.ceil(MAX_TEXT_TOTAL_CHARS / big.length));
    expect(texts.slice(0, -1).every((t) => t.text === big)).toBe(true);
    const total = texts.reduce((n, t) => n + t.text.replace(/…$/, '').length, 0);
    expect(total).toBe(MAX_TEXT_TOTAL_CHARS);
    expect(texts.at(-1)!.text.endsWith('…')).toBe(true);
  });
});
