/**
 * The `remove-background` built-in runs whichever background-removal node a backend of the job's pool has:
 * ComfyUI-Inspyrenet-Rembg's `InspyrenetRembg`, or a node named `RemoveBackground` (from any pack, or a small
 * wrapper of your own) that takes `image` and returns the cut-out image first. Routing then sends the job only
 * where that node exists.
 */
import type { ComfyGraph } from '@comfygate/shared';
import { GatewayError } from '../errors.js';
import type { Choice, ChoiceContext } from './upscale.js';

interface Remover {
  classType: string;
  /** Inputs besides `image`, at the node's defaults. */
  inputs: Record<string, unknown>;
}

const REMOVERS: Remover[] = [
  { classType: 'InspyrenetRembg', inputs: { torchscript_jit: 'default' } },
  { classType: 'RemoveBackground', inputs: {} },
];
const FALLBACK = REMOVERS[REMOVERS.length - 1]!;

const graphFor = (r: Remover): ComfyGraph => ({
  '1': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
  '2': { class_type: r.classType, inputs: { image: ['1', 0], ...r.inputs } },
  '3': { class_type: 'SaveImage', inputs: { filename_prefix: 'comfygate_nobg', images: ['2', 0] } },
});

export const REMOVE_BG_PARAMS = [{ name: 'image', node: '1', input: 'image', type: 'image' }];
export const REMOVE_BG_GRAPH = graphFor(FALLBACK);

export async function chooseRemoveBackground(values: Record<string, unknown>, ctx: ChoiceContext): Promise<Choice> {
  const found = REMOVERS.find((r) => ctx.capabilities.some((c) => c.nodes.includes(r.classType)));
  if (!found && ctx.complete && ctx.capabilities.length > 0) {
    throw new GatewayError({
      code: 'no_capable_backend',
      message: 'remove-background needs a background-removal node on a backend: install ComfyUI-Inspyrenet-Rembg (InspyrenetRembg), or a custom node named RemoveBackground',
    });
  }
  const remover = found ?? FALLBACK; // capabilities not all known yet: routing decides when they are
  return { variant: `node:${remover.classType}`, graph: graphFor(remover), params: REMOVE_BG_PARAMS, values: { ...values }, warning: null };
}
