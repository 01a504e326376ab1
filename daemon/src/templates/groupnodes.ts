/**
 * Legacy group nodes (`workflow>Name`, older `workflow/Name`; definitions in `extra.groupNodes`) expanded in
 * place into their inner nodes before flattening, so the rest of the converter sees plain nodes and links. As
 * in the frontend's GroupNodeHandler (src/extensions/core/groupNode.ts): inner nodes get ids
 * `"<instance>:<index>"` (getInnerNodes), the instance's widget values are written into the inner widgets
 * (updateInnerWidgets), inner inputs fed through the group take the link into the matching group input
 * (getInputLink), and links from a group output start at the inner output behind it (updateLink).
 * Muted and bypassed instances are not expanded: graphToPrompt skips their inner nodes.
 */
import { NodeError, type ConversionError, type ConversionWarning } from './errors.js';
import { MAX_EXEC_NODES, nodeKind, primitiveValues } from './flatten.js';
import {
  groupConfig,
  groupDefProblem,
  groupLayout,
  layoutProblem,
  type GroupConfig,
  type GroupNodeDef,
} from './groupdef.js';
import type { ObjectInfo } from './objectInfo.js';
import { newerInputNote, slotValues, WidgetError, type WidgetNote, widgetValues } from './widgets.js';
import {
  isObject,
  MODE_BYPASS,
  MODE_MUTED,
  scopeOf,
  type Link,
  type Scope,
  type UiNode,
  type UiWorkflow,
} from './workflow.js';

/** The group's name for a group node type; `workflow/` is the spelling before frontend 1.2.63. */
export function groupName(type: string): string | undefined {
  return type.startsWith('workflow>') || type.startsWith('workflow/') ? type.slice('workflow>'.length) : undefined;
}

const expandable = (node: UiNode): boolean =>
  groupName(node.type) !== undefined && node.mode !== MODE_MUTED && node.mode !== MODE_BYPASS;

interface Instance {
  node: UiNode;
  id: string;
  name: string;
  def: GroupNodeDef;
  cfg: GroupConfig;
}

interface Context {
  info: ObjectInfo;
  subgraphs: Map<string, Scope>;
  links: Map<number, Link>;
  nextLink: number;
  /** Values written into widgets by PrimitiveNodes of the root graph, per target node id. */
  primitives: Map<string, Record<string, unknown>>;
  /** Each definition's shape problem (or none), checked once however many instances use it. */
  checked: Map<string, string | undefined>;
  warnings: ConversionWarning[];
}

/** The root scope with every active group instance replaced by its inner nodes, or the errors that stop it. */
export function expandGroupNodes(
  root: Scope,
  extra: UiWorkflow['extra'],
  info: ObjectInfo,
  subgraphs: Map<string, Scope>,
): { scope: Scope; errors: ConversionError[]; warnings: ConversionWarning[] } {
  if (!root.nodes.some(expandable)) return { scope: root, errors: [], warnings: [] };
  const nextLink = [...root.links.keys()].reduce((a, b) => Math.max(a, b), 0) + 1;
  const ctx: Context = {
    info,
    subgraphs,
    links: new Map(root.links),
    nextLink,
    primitives: primitiveValues(root),
    checked: new Map(),
    warnings: [],
  };
  const errors: ConversionError[] = [];
  const instances: Instance[] = [];
  let count = root.nodes.length;
  for (const node of root.nodes.filter(expandable)) {
    try {
      const inst = instance(node, extra, ctx);
      // Checked before expanding: a large definition used many times would otherwise be built in full first.
      count += inst.def.nodes.length;
      if (count > MAX_EXEC_NODES)
        throw new NodeError(
          inst.id,
          node.type,
          `the workflow expands to more than ${MAX_EXEC_NODES} nodes (group node inner nodes included)`,
        );
      instances.push(inst);
    } catch (err) {
      if (!(err instanceof NodeError)) throw err;
      errors.push(err.toJSON());
    }
    if (count > MAX_EXEC_NODES) break;
  }
  if (errors.length > 0) return { scope: root, errors, warnings: [] };
  // Every output is rewired before any input is copied, so a link from one group into another is followed.
  for (const inst of instances) rewireOutputs(inst, ctx);
  const inner = new Map(instances.map((inst) => [inst.node, expand(inst, ctx)] as const));
  const nodes = root.nodes.flatMap((node) => inner.get(node) ?? [node]);
  return { scope: scopeOf(nodes, ctx.links), errors, warnings: ctx.warnings };
}

function instance(node: UiNode, extra: UiWorkflow['extra'], ctx: Context): Instance {
  const id = String(node.id);
  const name = groupName(node.type)!;
  const defs = isObject(extra) && isObject(extra.groupNodes) ? extra.groupNodes : {};
  const def = Object.hasOwn(defs, name) ? defs[name] : undefined; // not Object.prototype for 'workflow>__proto__'
  if (!isObject(def))
    throw new NodeError(id, node.type, `group node definition '${name}' is missing from extra.groupNodes`);
  if (!ctx.checked.has(name)) ctx.checked.set(name, groupDefProblem(def));
  const problem = ctx.checked.get(name);
  if (problem)
    throw new NodeError(id, node.type, `group node definition '${name}' (extra.groupNodes) is malformed: ${problem}`);
  const group = def as unknown as GroupNodeDef;
  group.nodes.forEach((inner, index) => checkInner(inner, `${id}:${index}`, name, ctx));
  const cfg = groupConfig(group, ctx.info);
  const layout = layoutProblem(cfg);
  if (layout) throw new NodeError(id, node.type, layout);
  return { node, id, name, def: group, cfg };
}

/** The editor refuses to load a group whose inner types it lacks, and groups never nest. */
function checkInner(inner: UiNode, id: string, name: string, ctx: Context): void {
  const kind = nodeKind(inner.type, ctx.info, ctx.subgraphs);
  if (kind === 'unknown')
    throw new NodeError(
      id,
      inner.type,
      `unknown node type '${inner.type}' inside group node '${name}': not in the server's /object_info; install it on the backend or remove it`,
    );
  if (kind === 'groupnode' || kind === 'subgraph')
    throw new NodeError(
      id,
      inner.type,
      `a ${kind === 'subgraph' ? 'subgraph' : 'group node'} inside group node '${name}' is not supported`,
    );
}

/** updateLink: a link from group output n starts at the inner output newToOldOutputMap gives for n. */
function rewireOutputs(inst: Instance, ctx: Context): void {
  for (const [id, link] of ctx.links) {
    if (link.originId !== inst.id) continue;
    const out = inst.cfg.outputs[link.originSlot];
    if (!out)
      throw new NodeError(
        inst.id,
        inst.node.type,
        `output ${link.originSlot} is linked but group node '${inst.name}' has ${inst.cfg.outputs.length} outputs`,
      );
    ctx.links.set(id, { ...link, originId: `${inst.id}:${out.index}`, originSlot: out.slot });
  }
}

function expand(inst: Instance, ctx: Context): UiNode[] {
  const values = innerValues(inst, ctx);
  const nodes = inst.def.nodes.map((node, index) => innerNode(node, `${inst.id}:${index}`, values.get(index), ctx));
  linkInside(inst, nodes, ctx);
  linkFromOutside(inst, nodes, ctx);
  for (const [id, link] of ctx.links) if (link.targetId === inst.id) ctx.links.delete(id);
  return nodes;
}

/** An inner node under its execution id, unlinked, with the group's widget values over its own. */
function innerNode(node: UiNode, id: string, values: Record<string, unknown> | undefined, ctx: Context): UiNode {
  const inner: UiNode = { ...node, id, inputs: node.inputs?.map((input) => ({ ...input, link: null })) };
  const def = ctx.info[node.type];
  // Muted and bypassed inner nodes are never sent, so their widgets are not read (as for any node).
  if (!def || node.mode === MODE_MUTED || node.mode === MODE_BYPASS) return inner;
  try {
    const notes: WidgetNote[] = [];
    inner.widgets_values = { ...widgetValues(def, node, notes), ...values };
    for (const n of notes)
      if (!n.input || !(n.input in (values ?? {})))
        ctx.warnings.push({ node: id, type: node.type, message: n.message });
  } catch (err) {
    if (err instanceof WidgetError) throw new NodeError(id, node.type, err.message);
    throw err;
  }
  return inner;
}

/**
 * updateInnerWidgets: each group widget value goes to the inner widget it came from; a PrimitiveNode's goes to
 * the widgets the primitive feeds. Values a root PrimitiveNode writes into the instance's widgets count too.
 */
function innerValues(inst: Instance, ctx: Context): Map<number, Record<string, unknown>> {
  let group: Record<string, unknown>;
  const notes: WidgetNote[] = [];
  try {
    group = slotValues(groupLayout(inst.cfg), inst.node.widgets_values, `group node '${inst.name}' gives`, notes);
    for (const n of notes) {
      // A group widget past the saved values is an inner input newer than the workflow: noted on the inner node.
      const origin = n.input === undefined ? undefined : inst.cfg.widgets.get(n.input);
      const inner = origin && inst.def.nodes[origin.index];
      if (origin && inner)
        ctx.warnings.push({
          node: `${inst.id}:${origin.index}`,
          type: inner.type,
          message: newerInputNote(origin.inputName, group[n.input!]),
        });
      else ctx.warnings.push({ node: inst.id, type: inst.node.type, message: n.message });
    }
  } catch (err) {
    if (err instanceof WidgetError) throw new NodeError(inst.id, inst.node.type, err.message);
    throw err;
  }
  const out = new Map<number, Record<string, unknown>>();
  for (const [name, value] of Object.entries({ ...group, ...ctx.primitives.get(inst.id) })) {
    const origin = inst.cfg.widgets.get(name);
    if (!origin) continue;
    const primitive = inst.def.nodes[origin.index]?.type === 'PrimitiveNode';
    for (const target of primitive ? (inst.cfg.primitiveTargets.get(origin.index) ?? []) : [origin]) {
      out.set(target.index, { ...out.get(target.index), [target.inputName]: value });
    }
  }
  return out;
}

/** A new link from `from`'s origin into input `slot` of inner node `index`. */
function connect(
  ctx: Context,
  from: Pick<Link, 'originId' | 'originSlot' | 'type'>,
  nodes: UiNode[],
  index: number,
  slot: number,
): void {
  const input = nodes[index]?.inputs?.[slot];
  if (!input) return;
  const id = ctx.nextLink++;
  ctx.links.set(id, {
    id,
    originId: from.originId,
    originSlot: from.originSlot,
    targetId: String(nodes[index]!.id),
    targetSlot: slot,
    type: from.type,
  });
  input.link = id;
}

/** Internal links; none from a PrimitiveNode, whose value already reached its targets (getInputNode). */
function linkInside(inst: Instance, nodes: UiNode[], ctx: Context): void {
  for (const [target, slots] of inst.cfg.linksTo) {
    for (const [slot, [origin, originSlot, , , , type]] of slots) {
      if (inst.def.nodes[origin]?.type === 'PrimitiveNode' || !nodes[origin]) continue;
      connect(ctx, { originId: `${inst.id}:${origin}`, originSlot, type }, nodes, target, slot);
    }
  }
}

/**
 * getInputLink: an inner input fed through the group takes the link into its group input. The input is found
 * by name (the editor indexes the instance's inputs, which hold those names in that order, and its newer
 * versions match saved inputs by name when loading).
 */
function linkFromOutside(inst: Instance, nodes: UiNode[], ctx: Context): void {
  for (const [index, slots] of inst.cfg.inputMap) {
    for (const [slot, name] of slots) {
      const linkId = inst.node.inputs?.find((input) => input?.name === name)?.link;
      const link = linkId === null || linkId === undefined ? undefined : ctx.links.get(linkId);
      if (link) connect(ctx, link, nodes, index, slot);
    }
  }
}
