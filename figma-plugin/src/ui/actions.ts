import type { CreateJob } from '@comfygate/shared/browser';
import type { Action, SelectedNode } from '../protocol';
import { outpaintMargins } from '../sizes';

/** The built-in template each gesture runs; `generate` uses the template picked in the form. */
export const ACTION_TEMPLATE: Record<Exclude<Action, 'generate' | 'variations'>, string> = {
  edit: 'img2img',
  inpaint: 'inpaint',
  'remove-background': 'remove-background',
  upscale: 'upscale',
  expand: 'outpaint',
};

export const ACTION_LABEL: Record<Action, string> = {
  generate: 'Generate into frame',
  edit: 'Edit',
  inpaint: 'Inpaint (layer named “mask”)',
  'remove-background': 'Remove background',
  upscale: 'Upscale',
  expand: 'Expand to the frame',
  variations: 'Variations',
};

/** Which form fields each gesture uses (the rest are hidden). */
export const ACTION_FIELDS: Record<Action, readonly string[]> = {
  generate: ['template', 'prompt', 'negative', 'size', 'count', 'seed', 'preset', 'postprocess', 'advanced'],
  edit: ['prompt', 'negative', 'strength', 'count', 'seed', 'preset', 'postprocess'],
  inpaint: ['prompt', 'negative', 'count', 'seed', 'preset', 'postprocess'],
  'remove-background': ['postprocess'],
  upscale: ['postprocess'],
  expand: ['prompt', 'negative', 'seed', 'preset', 'postprocess'],
  variations: ['count', 'postprocess'],
};

/** Parameters the panel fills itself; the schema form shows the template's others. */
export const HANDLED_PARAMS = new Set([
  'prompt',
  'negative',
  'seed',
  'width',
  'height',
  'batch_size',
  'image',
  'mask',
  'denoise',
  'left',
  'top',
  'right',
  'bottom',
]);

export const needsImage = (a: Action, selected: SelectedNode | null) =>
  a !== 'generate' && !(a === 'variations' && selected?.provenance && !('image' in selected.provenance.params));

export interface FormValues {
  action: Action;
  template: string;
  prompt: string;
  negative: string;
  width: number;
  height: number;
  count: number;
  seed: string;
  strength: number;
  preset: string;
  postprocess: string;
  extra: Record<string, unknown>;
}

/** Seeds past 2^53 travel as digit strings (JSON numbers would round them). */
const seedValue = (s: bigint): number | string => (s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s.toString());

/** Small, named post-processing choices, each made as the `figma` variant the result is taken from. */
export const POSTPROCESS: Record<string, { label: string; ops: unknown[] } | null> = {
  none: null,
  sharpen: { label: 'Sharpen', ops: [{ op: 'sharpen' }] },
  grayscale: { label: 'Grayscale', ops: [{ op: 'grayscale' }] },
  trim: { label: 'Trim empty edges', ops: [{ op: 'trim' }] },
};
export const FIGMA_VARIANT = 'figma';

/**
 * The jobs one press of Generate makes: `count` of them (a grid), seeds consecutive from the given one or drawn
 * per job by the daemon. `image`/`mask` are asset ids already uploaded.
 */
export function buildJobs(
  v: FormValues,
  sel: SelectedNode | null,
  assets: { image?: string; mask?: string; imageSize?: { width: number; height: number } },
  /** The picked template's parameter names: a user template without `width` must not be sent one. */
  known: ReadonlySet<string> | null,
): CreateJob[] {
  const base: Record<string, unknown> = {};
  let template = v.template;
  const prompt = { prompt: v.prompt, negative: v.negative };
  switch (v.action) {
    case 'generate':
      Object.assign(base, v.extra, prompt, { width: v.width, height: v.height });
      for (const k of Object.keys(base)) if (known && !known.has(k)) delete base[k];
      break;
    case 'edit':
      template = ACTION_TEMPLATE.edit;
      Object.assign(base, prompt, { image: assets.image, denoise: v.strength });
      break;
    case 'inpaint':
      template = ACTION_TEMPLATE.inpaint;
      Object.assign(base, prompt, { image: assets.image, mask: assets.mask });
      break;
    case 'remove-background':
    case 'upscale':
      template = ACTION_TEMPLATE[v.action];
      Object.assign(base, { image: assets.image }, v.action === 'upscale' ? { scale: 2 } : {});
      break;
    case 'expand': {
      template = ACTION_TEMPLATE.expand;
      const margins = outpaintMargins(assets.imageSize ?? { width: 1, height: 1 }, sel ?? { width: 1, height: 1 });
      Object.assign(base, prompt, margins, { image: assets.image });
      break;
    }
    case 'variations': {
      const p = sel?.provenance;
      if (p) ((template = p.template), Object.assign(base, p.params));
      else ((template = ACTION_TEMPLATE.edit), Object.assign(base, { image: assets.image, denoise: 0.5 }));
      delete base.seed;
      break;
    }
  }
  const pp = POSTPROCESS[v.postprocess];
  const count =
    v.action === 'remove-background' || v.action === 'upscale' || v.action === 'expand'
      ? 1
      : Math.max(1, Math.min(16, v.count));
  const seed = v.seed.trim() === '' || v.action === 'variations' ? null : BigInt(v.seed.trim());
  return Array.from({ length: count }, (_, i) => ({
    template,
    params: { ...base, ...(seed !== null ? { seed: seedValue(seed + BigInt(i)) } : {}) },
    client: 'figma',
    metadata: { figma: { action: v.action } },
    ...(v.preset && 'prompt' in base ? { preset: v.preset } : {}),
    ...(pp ? { postprocess: { variants: { [FIGMA_VARIANT]: { ops: pp.ops } } } } : {}),
  })) as CreateJob[];
}
