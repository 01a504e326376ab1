import { describe, expect, test } from 'vitest';
import { GatewayError } from '../errors.js';
import { PostprocessError } from './errors.js';
import { DEFAULT_THUMB, parseProvenance, planSpec } from './validate.js';

/** The issues a spec is refused with (and that it is refused as a 400 validation_failed GatewayError). */
function issuesOf(spec: unknown): string[] {
  try {
    planSpec(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(PostprocessError);
    expect(err).toBeInstanceOf(GatewayError);
    const e = err as PostprocessError;
    expect(e.code).toBe('validation_failed');
    expect(e.status).toBe(400);
    const issues = (e.details as { issues: string[] }).issues;
    expect(e.message.startsWith(issues[0]!)).toBe(true);
    return issues;
  }
  throw new Error('spec was accepted');
}

const ops = (...list: unknown[]) => ({ variants: { thumb: { ops: list } } });

describe('spec errors name the variant, the op index and the op', () => {
  test('a bound', () => {
    expect(issuesOf(ops({ op: 'resize', width: 10 }, { op: 'flip' }, { op: 'resize', width: 20000 }))).toEqual([
      'variants.thumb.ops[2] (resize): width must be ≤ 16384',
    ]);
  });

  test('unknown op, negative width, quality 0, unknown format: all reported at once', () => {
    const issues = issuesOf(
      ops(
        { op: 'blurr', sigma: 2 },
        { op: 'resize', width: -5 },
        { op: 'format', format: 'jpeg', quality: 0 },
        { op: 'format', format: 'gif' },
      ),
    );
    expect(issues).toContain(
      "variants.thumb.ops[0] (blurr): unknown op 'blurr' (expected one of resize, crop, extend, rotate, flip, flop, trim, modulate, grayscale, tint, sharpen, blur, gamma, watermark, format, metadata)",
    );
    expect(issues).toContain('variants.thumb.ops[1] (resize): width must be ≥ 1');
    expect(issues).toContain('variants.thumb.ops[2] (format): quality must be ≥ 1');
    expect(issues).toContain('variants.thumb.ops[3] (format): format must be one of png, jpeg, webp, avif');
  });

  test.each([
    [{ op: 'resize' }, 'variants.thumb.ops[0] (resize): needs width or height'],
    [{ op: 'resize', width: 1.5 }, 'variants.thumb.ops[0] (resize): width must be an integer'],
    [{ op: 'resize', width: '100' }, 'variants.thumb.ops[0] (resize): width must be a number'],
    [
      { op: 'resize', width: 10, fit: 'contain', position: 'attention' },
      'variants.thumb.ops[0] (resize): attention and entropy need fit cover',
    ],
    [{ op: 'resize', width: 10, widht: 5 }, 'variants.thumb.ops[0] (resize): unknown key widht'],
    [{ op: 'crop', width: 10, height: 10, left: 3 }, 'variants.thumb.ops[0] (crop): left and top go together'],
    [{ op: 'crop', width: 10 }, 'variants.thumb.ops[0] (crop): height is required'],
    [{ op: 'extend', top: 10_001 }, 'variants.thumb.ops[0] (extend): top must be ≤ 10000'],
    [
      { op: 'tint', color: 'red' },
      'variants.thumb.ops[0] (tint): color must be a hex colour like #rrggbb or #rrggbbaa',
    ],
    [{ op: 'modulate' }, 'variants.thumb.ops[0] (modulate): needs brightness, saturation, hue or lightness'],
    [{ op: 'blur', sigma: 0.1 }, 'variants.thumb.ops[0] (blur): sigma must be ≥ 0.3'],
    [{ op: 'watermark' }, 'variants.thumb.ops[0] (watermark): needs exactly one of text or image'],
    [{ op: 'watermark', text: 'x', opacity: 2 }, 'variants.thumb.ops[0] (watermark): opacity must be ≤ 1'],
    [
      { op: 'watermark', text: 'x'.repeat(201) },
      'variants.thumb.ops[0] (watermark): text must be ≤ 200 characters long',
    ],
    [
      { op: 'watermark', image: { sha256: 'abc' } },
      'variants.thumb.ops[0] (watermark): image.sha256 must be a lowercase sha256 hex digest',
    ],
    [
      { op: 'format', format: 'jpeg', lossless: true },
      'variants.thumb.ops[0] (format): lossless is not supported for jpeg',
    ],
    [{ op: 'format', format: 'webp', effort: 9 }, 'variants.thumb.ops[0] (format): effort must be 0..6 for webp'],
    [{ op: 'metadata', mode: 'drop' }, 'variants.thumb.ops[0] (metadata): mode must be one of keep, strip'],
    [{ sigma: 1 }, 'variants.thumb.ops[0]: op is required'],
  ])('%j', (op, message) => {
    expect(issuesOf(ops(op))).toEqual([message]);
  });

  test('variant-level and spec-level problems', () => {
    expect(issuesOf(ops({ op: 'format', format: 'png' }, { op: 'format', format: 'webp' }))).toEqual([
      'variants.thumb: at most one format op',
    ]);
    expect(issuesOf({ variants: { 'bad name': { ops: [] } } })[0]).toMatch(/^variants: invalid name 'bad name'/);
    expect(issuesOf({ variants: {}, extra: 1 })).toEqual(['unknown key extra']);
    expect(issuesOf({ variants: { a: { ops: Array(33).fill({ op: 'flip' }) } } })).toEqual([
      'variants.a: ops must be ≤ 32 items long',
    ]);
    expect(issuesOf(null)).toEqual(['value must be an object']);
  });
});

describe('planning', () => {
  test('a thumbnail is added unless the spec names one', () => {
    const plan = planSpec({ variants: { hero: { ops: [{ op: 'resize', width: 800 }] } } });
    expect(plan.variants.map((v) => v.name)).toEqual(['hero', 'thumb']);
    expect(plan.variants[1]!.ops).toEqual(DEFAULT_THUMB);
    expect(plan.provenance).toBe(true);
    const own = planSpec({ variants: { thumb: { ops: [{ op: 'resize', width: 64 }] } }, provenance: false });
    expect(own.variants).toEqual([{ name: 'thumb', ops: [{ op: 'resize', width: 64 }] }]);
    expect(own.provenance).toBe(false);
  });

  test('densities make @Nx variants with pixel sizes scaled, and relative ones untouched', () => {
    const plan = planSpec({
      variants: {
        card: {
          densities: [1, 2],
          ops: [
            { op: 'resize', width: 300, height: 200 },
            { op: 'extend', top: 5 },
            { op: 'blur', sigma: 1.5 },
            { op: 'watermark', text: 'x', margin: 8, fontSize: 0.05 },
          ],
        },
      },
    });
    expect(plan.variants.map((v) => v.name)).toEqual(['card@1x', 'card@2x', 'thumb']);
    expect(plan.variants[1]!.ops).toEqual([
      { op: 'resize', width: 600, height: 400 },
      { op: 'extend', top: 10 },
      { op: 'blur', sigma: 3 },
      { op: 'watermark', text: 'x', margin: 16, fontSize: 0.05 },
    ]);
  });

  test('bounds hold after scaling, and generated names must not collide', () => {
    expect(issuesOf({ variants: { big: { densities: [1, 4], ops: [{ op: 'resize', width: 5000 }] } } })).toEqual([
      'variants.big@4x.ops[0] (resize): width must be ≤ 16384',
    ]);
    expect(issuesOf({ variants: { a: { densities: [2], ops: [] }, 'a@2x': { ops: [] } } })).toEqual([
      'variants.a@2x: name is produced twice (check densities)',
    ]);
  });
});

describe('provenance', () => {
  test('bounded and strict', () => {
    expect(parseProvenance({ prompt: 'a cat', seed: '18446744073709551615' })).toEqual({
      prompt: 'a cat',
      seed: '18446744073709551615',
    });
    expect(() => parseProvenance({ prompt: 'x'.repeat(40_000) })).toThrow(
      'provenance: prompt must be ≤ 32768 characters long',
    );
    expect(() => parseProvenance({ seed: 1.5 })).toThrow('provenance: seed is invalid');
    expect(() => parseProvenance({ promt: 'typo' })).toThrow('provenance: unknown key promt');
  });
});
