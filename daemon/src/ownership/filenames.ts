import { GatewayError } from '../errors.js';

/**
 * File names in a graph that would let a token read what is not its own from a backend's disk. ComfyUI's image
 * loaders read any name they are given relative to its input folder, and with an annotation (` [output]`,
 * ` [temp]`), a `..` or an absolute path, from its other folders too: the outputs of every token's jobs and the
 * staged copies of every token's uploads (engine/inputs.ts `stagedName`: `comfygate/cg_<24 hex>.<ext>`). A token
 * that may not use every upload (any but the admin) names uploads as `core/ASSET` ids, which are checked, and
 * gives loaders plain names of the backend's own inputs. Custom nodes that take any path are the backend's
 * business: only its core loaders are known here.
 */

/** A staged copy, however spelled: any folders before it, any case, an annotation after it. */
const STAGED_NAME = /^(?:.*[\\/])?cg_[0-9a-f]{24}\.[a-z0-9]+(?: \[[a-z]+\])?$/is;
/** The core nodes that load an image by file name, and that input. */
const LOADERS: Record<string, string> = { LoadImage: 'image', LoadImageMask: 'image', LoadImageOutput: 'image' };
const OTHER_FOLDER = / \[(?!input\])[a-z]+\]$/i;
const UP = /(^|[\\/])\.\.([\\/]|$)/;
const ABSOLUTE = /^([\\/]|[a-z]:)/i;

const refuse = (id: string, input: string, value: string, why: string) =>
  new GatewayError({
    code: 'validation_failed',
    message: `node ${id} input '${input}' (${value}) ${why}`,
    details: { node: id, input },
  });

/** Throws (400) for the first such name; see above. */
export function checkGraphFileNames(
  graph: Record<string, { class_type?: unknown; inputs?: Record<string, unknown> }>,
): void {
  for (const [id, node] of Object.entries(graph)) {
    for (const [input, value] of Object.entries(node.inputs ?? {})) {
      if (typeof value !== 'string') continue;
      if (STAGED_NAME.test(value)) {
        throw refuse(
          id,
          input,
          value,
          'names a staged upload; refer to the asset as {"__type": "core/ASSET", "info": {"id": …}}',
        );
      }
      if (typeof node.class_type !== 'string' || LOADERS[node.class_type] !== input) continue;
      if (OTHER_FOLDER.test(value) || UP.test(value) || ABSOLUTE.test(value)) {
        throw refuse(
          id,
          input,
          value,
          "leads out of the backend's input folder; upload the image and refer to it as a core/ASSET id",
        );
      }
    }
  }
}
