import type { SelectedNode } from '../protocol';
import { provenanceOf } from './provenance';

/** A layer of this name inside the selected frame is the inpainting mask (drawn over the image by the designer). */
export const MASK_NAME = 'mask';

export const isFillable = (n: SceneNode): n is SceneNode & MinimalFillsMixin => 'fills' in n && n.type !== 'TEXT';

export function maskIn(node: SceneNode): SceneNode | null {
  if (!('children' in node)) return null;
  return node.children.find((c) => c.name.trim().toLowerCase() === MASK_NAME) ?? null;
}

export function describe(node: SceneNode): SelectedNode {
  return {
    id: node.id,
    name: node.name,
    type: node.type,
    width: Math.round(node.width),
    height: Math.round(node.height),
    fillable: isFillable(node),
    hasMask: maskIn(node) !== null,
    provenance: provenanceOf(node),
  };
}

export const describeSelection = (page: PageNode): SelectedNode[] => page.selection.map(describe);
