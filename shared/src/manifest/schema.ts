import { z } from 'zod';
import { Op, VariantName } from '../postprocess.js';

/**
 * The asset manifest `comfygate.assets.json`: images a repository wants generated, declared like dependencies.
 * Output paths are relative to the manifest's folder and must stay inside it.
 */
export const MANIFEST_FILE = 'comfygate.assets.json';
export const LOCK_FILE = 'comfygate.assets.lock.json';
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'avif'] as const;

const relPath = z
  .string()
  .min(1)
  .max(500)
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p) && !p.split(/[\\/]/).includes('..'), {
    message: 'a path relative to the manifest, without ..',
  })
  .refine((p) => IMAGE_EXTENSIONS.some((e) => p.toLowerCase().endsWith(`.${e}`)), {
    message: `the file name ends with .${IMAGE_EXTENSIONS.join(', .')}`,
  });

const seed = z
  .union([z.number().int().min(0), z.string().regex(/^\d{1,20}$/)])
  .describe('fixed seed: the same inputs give the same image');
const edge = z.number().int().min(16).max(16384);

export const ManifestVariant = z.strictObject({
  output: relPath.describe('where this variant is written'),
  ops: z.array(Op).max(32).describe('post-processing ops (resize, crop, format, …) applied to the generated image'),
});
export type ManifestVariant = z.infer<typeof ManifestVariant>;

export const ManifestEntry = z.strictObject({
  output: relPath.describe('where the image is written, relative to the manifest, e.g. assets/hero.png'),
  template: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe('template name (default: the manifest default, else txt2img)'),
  prompt: z.string().max(32_768).optional(),
  negative: z.string().max(32_768).optional(),
  seed: seed.optional(),
  width: edge.optional(),
  height: edge.optional(),
  params: z.record(z.string(), z.unknown()).optional().describe('other template parameters, e.g. {"steps": 20}'),
  ops: z
    .array(Op)
    .max(32)
    .optional()
    .describe('post-processing of the main output; its format follows the file extension'),
  variants: z
    .record(VariantName, ManifestVariant)
    .optional()
    .describe('more files from the same image, e.g. a thumbnail'),
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

export const ManifestDefaults = z.strictObject({
  template: z.string().min(1).max(100).optional(),
  negative: z.string().max(32_768).optional(),
  width: edge.optional(),
  height: edge.optional(),
  params: z.record(z.string(), z.unknown()).optional(),
});

export const AssetManifest = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1).default(1),
    defaults: ManifestDefaults.optional().describe('values every entry takes unless it sets its own'),
    assets: z.array(ManifestEntry).max(1000),
  })
  .superRefine((m, ctx) => {
    const seen = new Map<string, string>();
    m.assets.forEach((a, i) => {
      const outs = [a.output, ...Object.values(a.variants ?? {}).map((v) => v.output)];
      for (const o of outs) {
        const key = o.replace(/\\/g, '/').toLowerCase();
        if (seen.has(key))
          ctx.addIssue({
            code: 'custom',
            path: ['assets', i, 'output'],
            message: `${o} is also written by ${seen.get(key)}`,
          });
        else seen.set(key, `assets[${i}]`);
      }
    });
  });
export type AssetManifest = z.output<typeof AssetManifest>;
export type AssetManifestInput = z.input<typeof AssetManifest>;

export const LockedFile = z.object({ output: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/** `comfygate.assets.lock.json`: what was generated from which inputs, keyed by the entry's output path. */
export const AssetLock = z.object({
  version: z.literal(1),
  assets: z.record(
    z.string(),
    z.object({
      hash: z.string().describe('input hash: template graph, parameters, seed, post-processing'),
      sha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .describe('of the written output file'),
      variants: z.record(z.string(), LockedFile).default({}),
      template: z.string(),
      seed: z.string().nullable().describe('the seed used (drawn by the daemon when the entry gives none)'),
      jobId: z.string(),
      generatedAt: z.string(),
    }),
  ),
});
export type AssetLock = z.infer<typeof AssetLock>;
export type LockEntry = AssetLock['assets'][string];
