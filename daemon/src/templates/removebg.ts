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

const graphFor = (r: Remover): ComfyGraph => ({
  '1': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
  '2': { class_type: r.classType, inputs: { image: ['1', 0], ...r.inputs } },
  '3': { class_type: 'SaveImage', inputs: { filename_prefix: 'comfygate_nobg', images: ['2', 0] } },
});

export const REMOVE_BG_PARAMS = [{ name: 'image', node: '1', input: 'image', type: 'image' }];
/** What the template list shows; each job gets the graph of the node its backends have. */
export const REMOVE_BG_GRAPH = graphFor(REMOVERS[REMOVERS.length - 1]!);

export async function chooseRemoveBackground(values: Record<string, unknown>, ctx: ChoiceContext): Promise<Choice> {
  const found = REMOVERS.find((r) => ctx.capabilities.some((c) => c.nodes.includes(r.classType)));
  if (found)
    return {
      variant: `node:${found.classType}`,
      graph: graphFor(found),
      params: REMOVE_BG_PARAMS,
      values: { ...values },
      warning: null,
    };
  // The graph is fixed at submit, so it cannot be guessed for a backend whose node list was never read.
  if (!ctx.complete) {
    throw new GatewayError({
      code: 'backend_unavailable',
      message:
        "remove-background picks its node from the backends' node lists, and a backend that may have one was never reached yet; try again when it is up",
    });
  }
  throw new GatewayError({
    code: 'no_capable_backend',
    message:
      'remove-background needs a background-removal node on a backend: install ComfyUI-Inspyrenet-Rembg (InspyrenetRembg), or a custom node named RemoveBackground',
  });
}
