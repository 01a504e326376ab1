import { z } from 'zod';
import { PostprocessSpec } from './postprocess.js';

/**
 * Watched folders (DESIGN §7): a rule maps a folder and file patterns to a template and post-processing. Files
 * dropped there become jobs; results land beside them (or in `outputDir`) under deterministic names.
 */

export const WATCH_NAMING_DEFAULT = '{name}.{variant}.{ext}';
/** What a rule's patterns default to, by the kind of input its template takes. */
export const WATCH_TEXT_PATTERNS = ['*.txt', '*.prompt.json'] as const;
export const WATCH_IMAGE_PATTERNS = ['*.png', '*.jpg', '*.jpeg', '*.webp'] as const;

/** POSIX `/…`, Windows `C:\…` or `\\server\…`; checked here without node:path so the schema runs in browsers. */
const absolute = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(p), 'must be an absolute path');

const naming = z
  .string()
  .min(1)
  .max(200)
  .refine(
    (n) => n.includes('{name}') && n.includes('{variant}'),
    'needs {name} and {variant} (outputs of different inputs or variants would collide)',
  )
  .refine((n) => !/[\\/]|\.\./.test(n), 'a name pattern cannot contain / \\ or ..')
  .refine(
    (n) => !/\{(?!name\}|variant\}|ext\}|index\})/.test(n),
    'only {name}, {variant}, {ext} and {index} are known',
  );

export const WatchRule = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (1-64)')
    .optional()
    .describe('default: a uuid (API) or derived from dir+template (config)'),
  dir: absolute.describe('the folder to watch'),
  patterns: z
    .array(z.string().min(1).max(200))
    .min(1)
    .max(32)
    .optional()
    .describe(
      'globs (* ? ** {a,b}) against the path relative to dir; default by the template: prompts (*.txt, *.prompt.json) or images',
    ),
  template: z.string().min(1).max(100).optional().describe('default: txt2img for text inputs, img2img for images'),
  params: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('template parameters for every file (a .prompt.json may override them)'),
  postprocess: PostprocessSpec.optional().describe(
    'variants written for each output; none: the original as {variant}=out',
  ),
  outputDir: absolute.optional().describe('default: beside the input'),
  naming: naming.default(WATCH_NAMING_DEFAULT).describe('output file names: {name} {variant} {ext} {index}'),
  recursive: z.boolean().default(false),
  keepOld: z
    .boolean()
    .default(false)
    .describe('keep the outputs of earlier content (renamed with its short hash) instead of deleting them'),
  priority: z.number().int().min(-1000).max(1000).default(-10).describe('below interactive jobs (0) by default'),
});
export type WatchRule = z.output<typeof WatchRule>;
export type WatchRuleInput = z.input<typeof WatchRule>;

export const WatchFileState = z.enum(['pending', 'submitted', 'done', 'failed']);
export type WatchFileState = z.infer<typeof WatchFileState>;

export const WatchCounts = z.object({
  pending: z.number().int(),
  submitted: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
});
export type WatchCounts = z.infer<typeof WatchCounts>;

export const WatchRuleView = z.object({
  id: z.string(),
  rule: z.object({ ...WatchRule.shape, id: z.string() }).describe('the rule with its defaults filled in'),
  fromConfig: z.boolean().describe('defined in the config file (remove it there)'),
  status: z
    .enum(['watching', 'missing', 'stopped'])
    .describe('missing: the folder does not exist (watched again when it does)'),
  error: z.string().nullable().describe('why a rule from the config could not start (e.g. an unknown template)'),
  files: WatchCounts,
  createdAt: z.number(),
});
export type WatchRuleView = z.infer<typeof WatchRuleView>;

export const WatchFile = z.object({
  path: z.string().describe('relative to the rule folder'),
  sha256: z.string().describe('content hash (an image with a .prompt.txt sidecar: of both)'),
  state: WatchFileState,
  jobId: z.string().nullable(),
  error: z.string().nullable(),
  outputs: z.array(z.string()).describe('files written for the current content'),
  updatedAt: z.number(),
});
export type WatchFile = z.infer<typeof WatchFile>;

export const ListWatchFilesQuery = z.object({
  state: WatchFileState.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: z.string().optional().describe('cursor: paths after this one (sorted)'),
});
export type ListWatchFilesQuery = z.input<typeof ListWatchFilesQuery>;

/** A `.prompt.json` input: a prompt, template parameters and variants. Unknown keys are refused by name. */
export const WatchPromptFile = z
  .strictObject({
    prompt: z.string().max(32_768).optional(),
    negative: z.string().max(32_768).optional(),
    params: z.record(z.string(), z.unknown()).optional().describe('template parameters, e.g. {"steps": 30, "seed": 7}'),
    postprocess: PostprocessSpec.optional(),
    variants: PostprocessSpec.shape.variants.optional().describe('shorthand for postprocess.variants'),
  })
  .refine((f) => !(f.postprocess && f.variants), { message: 'give variants or postprocess, not both' });
export type WatchPromptFile = z.infer<typeof WatchPromptFile>;
