import { z } from 'zod';

/**
 * Post-processing contract (DESIGN §4): per job, named variants, each an ordered list of image ops. Every number is
 * bounded so that a spec alone can never ask the daemon for unbounded memory or CPU.
 */

/** Largest edge any op may ask for: WebP's own limit, and 16384² RGBA is already 1 GiB. */
export const MAX_EDGE = 16384;
export const MAX_VARIANTS = 16;
export const MAX_OPS = 32;
/** An inline watermark image (base64) is kept small: it travels inside the job's JSON. */
export const MAX_WATERMARK_BASE64 = 2_800_000;
export const OUTPUT_FORMATS = ['png', 'jpeg', 'webp', 'avif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const edge = z.number().int().min(1).max(MAX_EDGE);
const offset = z.number().int().min(0).max(MAX_EDGE);
const pad = z.number().int().min(0).max(10_000); // sharp's own extend bound
/** Hex only: bounded, unambiguous, and never handed to a permissive colour parser. */
const colour = z
  .string()
  .regex(/^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i, 'must be a hex colour like #rrggbb or #rrggbbaa');
export const Gravity = z.enum([
  'north',
  'northeast',
  'east',
  'southeast',
  'south',
  'southwest',
  'west',
  'northwest',
  'centre',
  'center',
]);
export type Gravity = z.infer<typeof Gravity>;
/** Where to anchor a crop: a gravity, or sharp's content-aware strategies. */
export const CropPosition = z.enum([...Gravity.options, 'attention', 'entropy']);
export type CropPosition = z.infer<typeof CropPosition>;

const op = <T extends string, S extends z.ZodRawShape>(name: T, shape: S) =>
  z.strictObject({ op: z.literal(name), ...shape });

export const ResizeOp = op('resize', {
  width: edge.optional(),
  height: edge.optional(),
  fit: z.enum(['cover', 'contain', 'fill', 'inside', 'outside']).optional(),
  position: CropPosition.optional(),
  kernel: z.enum(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']).optional(),
  withoutEnlargement: z.boolean().optional(),
  background: colour.optional().describe('padding colour for fit=contain'),
})
  .refine((o) => o.width !== undefined || o.height !== undefined, { message: 'needs width or height' })
  .refine((o) => !['attention', 'entropy'].includes(o.position ?? '') || (o.fit ?? 'cover') === 'cover', {
    message: 'attention and entropy need fit cover',
  });

/** Either a box (`left`, `top`, `width`, `height`) or a `width`×`height` window placed by `position`, never scaled. */
export const CropOp = op('crop', {
  width: edge,
  height: edge,
  left: offset.optional(),
  top: offset.optional(),
  position: CropPosition.optional(),
})
  .refine((o) => (o.left === undefined) === (o.top === undefined), { message: 'left and top go together' })
  .refine((o) => o.left === undefined || o.position === undefined, {
    message: 'a box (left/top) and position exclude each other',
  });

export const ExtendOp = op('extend', {
  top: pad.optional(),
  bottom: pad.optional(),
  left: pad.optional(),
  right: pad.optional(),
  background: colour.optional(),
  extendWith: z.enum(['background', 'copy', 'repeat', 'mirror']).optional(),
});

export const RotateOp = op('rotate', { angle: z.number().min(-360).max(360), background: colour.optional() });
export const FlipOp = op('flip', {});
export const FlopOp = op('flop', {});
export const TrimOp = op('trim', {
  threshold: z.number().min(0).max(255).optional(),
  background: colour.optional(),
  margin: z.number().int().min(0).max(1000).optional(),
});

export const ModulateOp = op('modulate', {
  brightness: z.number().min(0).max(10).optional(),
  saturation: z.number().min(0).max(10).optional(),
  hue: z.number().int().min(-360).max(360).optional(),
  lightness: z.number().min(-100).max(100).optional(),
}).refine((o) => Object.keys(o).length > 1, { message: 'needs brightness, saturation, hue or lightness' });
export const GrayscaleOp = op('grayscale', {});
export const TintOp = op('tint', { color: colour });
export const SharpenOp = op('sharpen', {
  sigma: z.number().min(0.3).max(100).optional(),
  m1: z.number().min(0).max(100).optional(),
  m2: z.number().min(0).max(100).optional(),
});
export const BlurOp = op('blur', { sigma: z.number().min(0.3).max(100).optional() });
/** sharp's gamma: resize in linear light (darken before, brighten after), so it matters with a resize. */
export const GammaOp = op('gamma', { gamma: z.number().min(1).max(3), gammaOut: z.number().min(1).max(3).optional() });

export const WatermarkImage = z.union([
  z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase sha256 hex digest') }),
  z.strictObject({
    base64: z
      .string()
      .min(1)
      .max(MAX_WATERMARK_BASE64)
      .regex(/^[A-Za-z0-9+/]+=*$/, 'must be base64'),
  }),
]);
export type WatermarkImage = z.infer<typeof WatermarkImage>;

/** Sizes are relative to the image (so one spec suits @1x and @2x); `margin` is in pixels at @1x. */
export const WatermarkOp = op('watermark', {
  text: z.string().min(1).max(200).optional(),
  image: WatermarkImage.optional(),
  gravity: Gravity.optional(),
  margin: z.number().int().min(0).max(4096).optional(),
  opacity: z.number().min(0).max(1).optional(),
  fontSize: z.number().min(0.005).max(0.5).optional().describe('text height as a fraction of the image width'),
  color: colour.optional(),
  scale: z.number().min(0.01).max(1).optional().describe('image watermark width as a fraction of the image width'),
})
  .refine((o) => (o.text === undefined) !== (o.image === undefined), { message: 'needs exactly one of text or image' })
  .refine((o) => o.text !== undefined || (o.fontSize === undefined && o.color === undefined), {
    message: 'fontSize and color apply to text only',
  })
  .refine((o) => o.image !== undefined || o.scale === undefined, { message: 'scale applies to image only' });

/** Which knobs each encoder has, and their ranges (sharp's). */
export const FORMAT_LIMITS: Record<
  OutputFormat,
  { effort?: [number, number]; lossless: boolean; progressive: boolean }
> = {
  png: { effort: [1, 10], lossless: false, progressive: true },
  jpeg: { lossless: false, progressive: true },
  webp: { effort: [0, 6], lossless: true, progressive: false },
  avif: { effort: [0, 9], lossless: true, progressive: false },
};

export const FormatOp = op('format', {
  format: z.enum(OUTPUT_FORMATS),
  quality: z.number().int().min(1).max(100).optional(),
  effort: z.number().int().min(0).max(10).optional(),
  lossless: z.boolean().optional(),
  progressive: z.boolean().optional(),
}).superRefine((o, ctx) => {
  const lim = FORMAT_LIMITS[o.format];
  const bad = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (o.effort !== undefined && !lim.effort) bad('effort', `effort is not supported for ${o.format}`);
  if (o.effort !== undefined && lim.effort && (o.effort < lim.effort[0] || o.effort > lim.effort[1])) {
    bad('effort', `effort must be ${lim.effort[0]}..${lim.effort[1]} for ${o.format}`);
  }
  if (o.lossless !== undefined && !lim.lossless) bad('lossless', `lossless is not supported for ${o.format}`);
  if (o.progressive !== undefined && !lim.progressive)
    bad('progressive', `progressive is not supported for ${o.format}`);
});

/** `keep`: provenance plus the source PNG's own text chunks (ComfyUI's prompt/workflow); `strip`: nothing at all. */
export const MetadataOp = op('metadata', { mode: z.enum(['keep', 'strip']) });

export const Op = z.discriminatedUnion('op', [
  ResizeOp,
  CropOp,
  ExtendOp,
  RotateOp,
  FlipOp,
  FlopOp,
  TrimOp,
  ModulateOp,
  GrayscaleOp,
  TintOp,
  SharpenOp,
  BlurOp,
  GammaOp,
  WatermarkOp,
  FormatOp,
  MetadataOp,
]);
export type Op = z.infer<typeof Op>;
export type OpName = Op['op'];
export const OP_NAMES: readonly OpName[] = Op.options.map((o) => o.shape.op.value);

/** `@` is allowed so that explicit `hero@2x` names are possible; `densities` generates such names. */
export const VariantName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, 'variant names are 1-64 of A-Z a-z 0-9 _ . @ -');

export const Variant = z
  .strictObject({
    ops: z.array(Op).max(MAX_OPS),
    /** `[1, 2]` makes `name@1x` and `name@2x`, pixel sizes multiplied by the density. */
    densities: z.array(z.number().int().min(1).max(4)).min(1).max(4).optional(),
  })
  .refine((v) => v.ops.filter((o) => o.op === 'format').length <= 1, { message: 'at most one format op' })
  .refine((v) => v.ops.filter((o) => o.op === 'metadata').length <= 1, { message: 'at most one metadata op' })
  .refine((v) => !v.densities || new Set(v.densities).size === v.densities.length, {
    message: 'densities must be distinct',
  });
export type Variant = z.infer<typeof Variant>;

export const PostprocessSpec = z.strictObject({
  variants: z
    .record(VariantName, Variant)
    .refine((r) => Object.keys(r).length <= MAX_VARIANTS, { message: `at most ${MAX_VARIANTS} variants` }),
  /** Write provenance into each file (unless a variant strips metadata). Default true. */
  provenance: z.boolean().optional(),
});
export type PostprocessSpec = z.infer<typeof PostprocessSpec>;

const text = (max: number) => z.string().max(max).optional();
/** What made the image. Seeds above 2^53 arrive as decimal strings. */
export const Provenance = z.strictObject({
  prompt: text(32_768),
  negative: text(32_768),
  seed: z.union([z.number().int(), z.string().regex(/^-?\d{1,40}$/)]).optional(),
  template: text(200),
  jobId: text(200),
  backend: text(200),
  model: text(500),
});
export type Provenance = z.infer<typeof Provenance>;

export const CONTENT_TYPES: Record<OutputFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
};
