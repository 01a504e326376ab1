/**
 * The UI (editor) workflow format (docs/comfyui-protocol.md §5.2) and its normalised form. Schema 0.4 stores links
 * as `[id, origin, origin_slot, target, target_slot, type]`, version 1 as objects; subgraph definitions store
 * them as an array or a record of objects. Everything below works on one `Scope` per graph: the root graph and
 * each subgraph definition.
 */
import { z } from 'zod';
import { describeIssues, type ConversionError } from './errors.js';

export type NodeId = number | string;

export interface UiInput {
  name: string;
  type?: unknown;
  link?: number | null;
  /** Present when the input is (also) a widget; `name` is the widget's name. */
  widget?: { name: string };
  /** The name the user gave the slot in the editor (group nodes name their inputs after it). */
  label?: string;
}

export interface UiOutput {
  name?: string;
  type?: unknown;
  links?: number[] | null;
  /** On a PrimitiveNode: the widget its value was taken from. */
  widget?: { name: string };
}

export interface UiNode {
  id: NodeId;
  type: string;
  mode?: number;
  title?: string;
  inputs?: UiInput[];
  outputs?: UiOutput[];
  widgets_values?: unknown[] | Record<string, unknown>;
  properties?: Record<string, unknown>;
}

export type UiLinkTuple = [number, NodeId, number | string, NodeId, number | string, unknown?];

export interface UiLinkObject {
  id: number;
  origin_id: NodeId;
  origin_slot: number | string;
  target_id: NodeId;
  target_slot: number | string;
  type?: unknown;
}

type RawLinks = Array<UiLinkTuple | UiLinkObject> | Record<string, UiLinkObject>;

export interface UiSubgraphSlot {
  name: string;
  type?: string;
  linkIds?: number[];
}

export interface UiSubgraphDef {
  id: string;
  name?: string;
  nodes: UiNode[];
  links?: RawLinks;
  inputs?: UiSubgraphSlot[];
  outputs?: UiSubgraphSlot[];
  definitions?: { subgraphs?: UiSubgraphDef[] };
}

export interface UiWorkflow {
  nodes: UiNode[];
  links?: RawLinks;
  version?: number;
  definitions?: { subgraphs?: UiSubgraphDef[] };
  extra?: Record<string, unknown> | null;
}

export interface Link {
  id: number;
  originId: string;
  originSlot: number;
  targetId: string;
  targetSlot: number;
  type: unknown;
}

export interface Scope {
  /** The definition this scope belongs to; undefined for the root graph. */
  subgraph?: UiSubgraphDef;
  nodes: UiNode[];
  byId: Map<string, UiNode>;
  links: Map<number, Link>;
}

/** litegraph's fixed ids of a subgraph's boundary pseudo-nodes. */
export const SUBGRAPH_INPUT_ID = '-10';
export const SUBGRAPH_OUTPUT_ID = '-20';

/** litegraph node modes (§5.2): 0 always, 2 never (muted), 4 bypass. */
export const MODE_MUTED = 2;
export const MODE_BYPASS = 4;

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function isUiWorkflow(value: unknown): value is UiWorkflow {
  return isObject(value) && Array.isArray(value.nodes);
}

// Slot indexes may be saved as strings by old editors; the frontend's schema parses them too.
const slot = (v: unknown): number => (typeof v === 'number' ? v : Number.parseInt(String(v), 10));

function toLink(raw: UiLinkTuple | UiLinkObject): Link | undefined {
  if (Array.isArray(raw)) {
    const [id, origin, originSlot, target, targetSlot, type] = raw;
    return {
      id,
      originId: String(origin),
      originSlot: slot(originSlot),
      targetId: String(target),
      targetSlot: slot(targetSlot),
      type,
    };
  }
  if (!isObject(raw) || raw.id === undefined) return undefined;
  return {
    id: raw.id,
    originId: String(raw.origin_id),
    originSlot: slot(raw.origin_slot),
    targetId: String(raw.target_id),
    targetSlot: slot(raw.target_slot),
    type: raw.type,
  };
}

export function readLinks(raw: RawLinks | undefined): Map<number, Link> {
  const list = Array.isArray(raw) ? raw : isObject(raw) ? Object.values(raw) : [];
  const links = new Map<number, Link>();
  for (const entry of list) {
    const link = entry ? toLink(entry) : undefined;
    if (link) links.set(link.id, link);
  }
  return links;
}

export function makeScope(nodes: UiNode[], links: RawLinks | undefined, subgraph?: UiSubgraphDef): Scope {
  return scopeOf(nodes, readLinks(links), subgraph);
}

/** A scope over nodes and already normalised links. */
export function scopeOf(nodes: UiNode[], links: Map<number, Link>, subgraph?: UiSubgraphDef): Scope {
  const list = nodes.filter((n) => isObject(n));
  const byId = new Map(list.map((n) => [String(n.id), n] as const));
  return { subgraph, nodes: list, byId, links };
}

/**
 * Every subgraph definition by id. The editor stores nested definitions flat in the root's `definitions`,
 * but a definition may carry its own `definitions` too, so both are read.
 */
export function subgraphScopes(workflow: UiWorkflow): Map<string, Scope> {
  const scopes = new Map<string, Scope>();
  // Depth first, a definition's own definitions right after it; a stack, not recursion, as nesting is unbounded.
  const listed = (v: unknown): unknown[] => (isObject(v) && Array.isArray(v.subgraphs) ? v.subgraphs : []);
  const stack = listed(workflow.definitions).reverse();
  while (stack.length > 0) {
    const def = stack.pop();
    if (!isObject(def) || typeof def.id !== 'string' || scopes.has(def.id)) continue;
    const sub = def as unknown as UiSubgraphDef;
    scopes.set(sub.id, makeScope(Array.isArray(sub.nodes) ? sub.nodes : [], sub.links, sub));
    const inner = listed(sub.definitions);
    for (let i = inner.length - 1; i >= 0; i--) stack.push(inner[i]);
  }
  return scopes;
}

/**
 * The fields of a saved node the converter reads, in the root graph and in every subgraph definition (nested ones
 * too, which a caller's outline check may not reach). Null stands for absent where the converter reads it so.
 */
const NodeShape = z.looseObject({
  id: z.union([z.number(), z.string()]),
  type: z.string(),
  mode: z.number().nullish(),
  inputs: z.array(z.looseObject({ name: z.string(), widget: z.looseObject({ name: z.string() }).nullish() })).nullish(),
  outputs: z.array(z.looseObject({ widget: z.looseObject({ name: z.string() }).nullish() })).nullish(),
  widgets_values: z
    .union([z.array(z.unknown()), z.record(z.string(), z.unknown())], { error: 'expected an array or an object' })
    .nullish(),
});

/** A conversion error for every node of a wrong shape, naming the node and the field. Non-objects are skipped, as `scopeOf` does. */
export function nodeProblems(workflow: UiWorkflow, subgraphs: Map<string, Scope>): ConversionError[] {
  const errors: ConversionError[] = [];
  const check = (nodes: unknown, where: string): void => {
    if (!Array.isArray(nodes)) return;
    nodes.forEach((node: unknown, index) => {
      if (!isObject(node)) return;
      const parsed = NodeShape.safeParse(node);
      if (parsed.success) return;
      const id = typeof node.id === 'number' || typeof node.id === 'string' ? String(node.id) : `nodes[${index}]`;
      const reason = `malformed node${where}: ${describeIssues(parsed.error.issues, node, '(node)')}`;
      errors.push({ node: id, type: typeof node.type === 'string' ? node.type : '', reason });
    });
  };
  check(workflow.nodes, '');
  for (const [id, scope] of subgraphs) {
    const name = typeof scope.subgraph?.name === 'string' ? `'${scope.subgraph.name}' (${id})` : id;
    check(scope.subgraph?.nodes, ` in subgraph definition ${name}`);
  }
  return errors;
}
