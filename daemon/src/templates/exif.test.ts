import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readExifTexts } from './exif.js';

describe('WEBP EXIF texts', () => {
  it("reads ComfyUI's layout (workflow in Make, prompt in Model, further keys below) and ignores other tags", async () => {
    const webp = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .webp()
      .withExif({
        IFD0: {
          Make: 'workflow:{"nodes": []}',
          Model: 'prompt:{"1": {}}',
          Software: 'sharp',
          ImageDescription: 'extra:{"a": 1}',
        },
      })
      .toBuffer();
    const exif = (await sharp(webp).metadata()).exif!;
    expect(readExifTexts(exif)).toEqual({ workflow: '{"nodes": []}', prompt: '{"1": {}}', extra: '{"a": 1}' });
  });

  it('never throws on damaged EXIF: every cut and flipped byte gives some texts or none', async () => {
    const webp = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .webp()
      .withExif({ IFD0: { Make: 'workflow:{}' } })
      .toBuffer();
    const exif = (await sharp(webp).metadata()).exif!;
    for (let cut = 0; cut < exif.length; cut++) expect(() => readExifTexts(exif.subarray(0, cut))).not.toThrow();
    for (let i = 0; i < Math.min(exif.length, 64); i++) {
      const bad = Buffer.from(exif);
      bad[i] = 0xff;
      expect(() => readExifTexts(bad)).not.toThrow();
    }
  });
});
