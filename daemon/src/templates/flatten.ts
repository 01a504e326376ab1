/**
 * Flattens subgraph instances into executable nodes with ids `"<instance>:<inner>"` (nested `a:b:c`), as the
 * frontend's ExecutableNodeDTO does (docs/comfyui-protocol.md §5.3 item 5), and classifies every node.
 */
import { MODE_BYPASS, MODE_MUTED, SUBGRAPH_INPUT_ID, type Scope, type UiNode } from './workflow.js';
import type { ObjectInfo } from './objectInfo.js';
import { NodeError } from './errors.js';

export interface ExecNode {
  /** Execution id: the instance path and the node's own id joined with ':'. */
  id: string;
  node: UiNode;
  scope: Scope;
  /** Ids of the enclosing subgraph instances, outermost first. */
  path: string[];
  /** The enclosing subgraph instance, if any. */
  parent?: ExecNode;
  /** The node's mode, or muted when an enclosing instance is muted or bypassed (its inner nodes never run). */
  mode: number;
}

export type NodeKind = 'class' | 'subgraph' | 'reroute' | 'primitive' | 'note' | 'groupnode' | 'unknown';

/** Nodes that exist only in the editor (virtual); everything else must be a backend class or a subgraph. */
const VIRTUAL: Record<string, NodeKind> = {
  Reroute: 'reroute',
  PrimitiveNode: 'primitive',
  Note: 'note',
  MarkdownNote: 'note',
};

export function nodeKind(type: string, info: ObjectInfo, subgraphs: Map<string, Scope>): NodeKind {
  if (subgraphs.has(type)) return 'subgraph';
  if (Object.hasOwn(VIRTUAL, type)) return VIRTUAL[type] as NodeKind;
  if (Object.hasOwn(info, type)) return 'class';
  if (type.startsWith('workflow>') || type.startsWith('workflow/')) return 'groupnode';
  return 'unknown';
}

/**
 * Limits on what a workflow expands to. Real ones nest subgraphs a few levels and hold hundreds of nodes; a
 * definition holding two instances of the next one doubles the count per level, so a few KB of JSON could
 * otherwise ask for millions of nodes (or overflow the stack when nested thousands of levels deep).
 */
export const MAX_SUBGRAPH_DEPTH = 64;
export const MAX_EXEC_NODES = 20_000;

/** Every node of the root graph and of every (nested) subgraph instance, keyed by execution id. */
export function flatten(root: Scope, subgraphs: Map<string, Scope>): Map<string, ExecNode> {
  const out = new Map<string, ExecNode>();
  const visit = (scope: Scope, path: string[], parent: ExecNode | undefined, active: string[]): void => {
    for (const node of scope.nodes) {
      const id = [...path, String(node.id)].join(':');
      if (out.size >= MAX_EXEC_NODES) {
        throw new NodeError(
          id,
          node.type,
          `the workflow expands to more than ${MAX_EXEC_NODES} nodes (subgraph instances included)`,
        );
      }
      const hidden = parent !== undefined && (parent.mode === MODE_MUTED || parent.mode === MODE_BYPASS);
      const exec: ExecNode = { id, node, scope, path, parent, mode: hidden ? MODE_MUTED : (node.mode ?? 0) };
      out.set(id, exec);
      const inner = subgraphs.get(node.type);
      if (!inner) continue;
      // A definition that contains itself would expand forever; the frontend throws a RecursionError too.
      if (active.includes(node.type))
        throw new NodeError(id, node.type, 'subgraph contains itself (circular definition)');
      if (path.length >= MAX_SUBGRAPH_DEPTH)
        throw new NodeError(id, node.type, `subgraphs nest more than ${MAX_SUBGRAPH_DEPTH} levels deep`);
      visit(inner, [...path, String(node.id)], exec, [...active, node.type]);
    }
  };
  visit(root, [], undefined, []);
  return out;
}

/** The execution node a link origin in `from`'s scope refers to, or undefined. */
export function originNode(exec: Map<string, ExecNode>, from: ExecNode, originId: string): ExecNode | undefined {
  if (originId === SUBGRAPH_INPUT_ID) return undefined;
  return exec.get([...from.path, originId].join(':'));
}

/**
 * PrimitiveNode.applyToGraph: before queueing, the primitive's value (widgets_values[0]) is written into the
 * widget of every input it links to directly; the API graph then carries that literal, not a link. Targets
 * reached through a Reroute have no widget and keep their own value, as in the editor.
 * Result: target node id → widget name → value, for one scope.
 */
export function primitiveValues(scope: Scope): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const node of scope.nodes) {
    if (node.type !== 'PrimitiveNode' || !Array.isArray(node.widgets_values) || node.widgets_values.length === 0)
      continue;
    const value = node.widgets_values[0];
    // "Run widget replace on values" applies %node.widget% text replacements in the browser; we cannot.
    if (
      node.properties?.['Run widget replace on values'] === true &&
      typeof value === 'string' &&
      value.includes('%')
    ) {
      const reason =
        "'Run widget replace on values' asks for %node.widget% text replacements, which only the editor applies";
      throw new NodeError(String(node.id), node.type, reason);
    }
    for (const link of scope.links.values()) {
      if (link.originId !== String(node.id) || link.originSlot !== 0) continue;
      const widget = scope.byId.get(link.targetId)?.inputs?.[link.targetSlot]?.widget?.name;
      if (widget === undefined) continue;
      const record = out.get(link.targetId) ?? {};
      record[widget] = value;
      out.set(link.targetId, record);
    }
  }
  return out;
}
