import { findNodeAtLocation, type Node, parseTree } from 'jsonc-parser';
import type { ManifestProblem } from '@comfygate/shared/manifest';

/** Offsets in the manifest's text: each entry's object, and the property a problem is about. */
export interface Span {
  offset: number;
  length: number;
}

export function entrySpans(text: string): Span[] {
  const root = parseTree(text);
  const assets = root && findNodeAtLocation(root, ['assets']);
  return (assets?.children ?? []).map((n) => ({ offset: n.offset, length: n.length }));
}

/** Where to put a problem: the offending key's value when it is written in the entry, else the whole entry. */
export function problemSpan(text: string, p: ManifestProblem): Span | null {
  const root = parseTree(text);
  if (!root) return null;
  const paths: (string | number)[][] =
    p.field === 'template'
      ? [
          ['assets', p.index, p.name],
          ['assets', p.index, 'template'],
          ['defaults', 'template'],
        ]
      : p.field === 'params'
        ? [
            ['assets', p.index, 'params', p.name],
            ['defaults', 'params', p.name],
          ]
        : [['assets', p.index, 'variants', p.name]];
  for (const path of [...paths, ['assets', p.index]]) {
    const node: Node | undefined = findNodeAtLocation(root, path);
    if (!node) continue;
    // A property's value node: step back to its key so the squiggle sits on the name the person typed.
    const target = node.parent?.type === 'property' && path.length > 2 ? node.parent : node;
    return { offset: target.offset, length: target.length };
  }
  return null;
}
