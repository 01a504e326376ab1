import type { CreateJob } from '@comfygate/shared';
import type { Daemon } from '../daemon.js';
import { type InputKind, InputError, type ParsedInput } from './inputs.js';
import type { ActiveRule } from './rules.js';

/**
 * The job for one input: the rule's template (or txt2img for prompts, img2img for images), the rule's params
 * overridden by the file's, the image bound to the template's first image parameter, and the variants.
 * Watch jobs carry their own fairness key and a low priority, so interactive work goes first.
 */
export async function jobFor(
  daemon: Daemon,
  rule: ActiveRule,
  relPath: string,
  kind: InputKind,
  input: ParsedInput,
): Promise<CreateJob & { client: string }> {
  const template = rule.spec.template ?? (kind === 'image' ? 'img2img' : 'txt2img');
  const t = await daemon.templates.get(template);
  const imageParam = t.params.find((p) => p.type === 'image')?.name;
  if (kind === 'image' && !imageParam)
    throw new InputError(
      `template '${template}' takes no image (pick a template with an image parameter, e.g. img2img)`,
    );
  const params: Record<string, unknown> = { ...rule.spec.params, ...input.params };
  if (input.image && imageParam) params[imageParam] = input.image;
  if (imageParam && params[imageParam] === undefined) {
    throw new InputError(
      `template '${template}' needs an image (parameter '${imageParam}'): drop an image, or set it in the rule's params`,
    );
  }
  const postprocess = input.postprocess ?? rule.spec.postprocess;
  return {
    template,
    params,
    ...(postprocess ? { postprocess } : {}),
    priority: rule.spec.priority,
    client: `watch:${rule.spec.id}`,
    metadata: { source: 'watch', watch: { rule: rule.spec.id, path: relPath } },
  };
}
