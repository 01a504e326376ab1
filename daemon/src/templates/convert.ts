/**
 * UI (editor) workflow → API graph, rebuilding what the frontend's graphToPrompt does with live widgets
 * (docs/comfyui-protocol.md §5.3) from the saved JSON and the target server's /object_info.
 */
import type { ComfyGraph, ComfyNode } from '@comfygate/shared';
import { NodeError, type ConversionError, type ConversionWarning } from './errors.js';
import { flatten, nodeKind, primitiveValues, type ExecNode } from './flatten.js';
import { expandGroupNodes } from './groupnodes.js';
import type { ObjectInfo } from './objectInfo.js';
import { Resolver } from './resolve.js';
import { WidgetError, type WidgetNote, widgetValues } from './widgets.js';
import {
  isUiWorkflow,
  makeScope,
  MODE_BYPASS,
  MODE_MUTED,
  nodeProblems,
  subgraphScopes,
  type Scope,
} from './workflow.js';

export type ConvertResult =
  { ok: true; graph: ComfyGraph; warnings: ConversionWarning[] } | { ok: false; errors: ConversionError[] };

interface Context {
  info: ObjectInfo;
  subgraphs: Map<string, Scope>;
  resolver: Resolver;
  primitives: Map<Scope, Map<string, Record<string, unknown>>>;
  warnings: ConversionWarning[];
}

/** Array literals would read as links, so the frontend wraps them and the server unwraps them (§2.1.1). */
const literal = (value: unknown): unknown => (Array.isArray(value) ? { __value__: value } : value);

export function uiToApi(workflow: unknown, objectInfo: ObjectInfo): ConvertResult {
  if (!isUiWorkflow(workflow)) {
    return {
      ok: false,
      errors: [{ node: '', type: 'workflow', reason: 'not a UI workflow: expected an object with a nodes array' }],
    };
  }
  const subgraphs = subgraphScopes(workflow);
  const malformed = nodeProblems(workflow, subgraphs);
  if (malformed.length > 0) return { ok: false, errors: malformed };
  let exec: Map<string, ExecNode>;
  let groupWarnings: ConversionWarning[];
  try {
    const root = expandGroupNodes(makeScope(workflow.nodes, workflow.links), workflow.extra, objectInfo, subgraphs);
    if (root.errors.length > 0) return { ok: false, errors: root.errors };
    exec = flatten(root.scope, subgraphs);
    groupWarnings = root.warnings;
  } catch (err) {
    if (err instanceof NodeError) return { ok: false, errors: [err.toJSON()] };
    throw err;
  }
  const ctx: Context = {
    info: objectInfo,
    subgraphs,
    resolver: new Resolver(exec, objectInfo, subgraphs),
    primitives: new Map(),
    warnings: [...groupWarnings],
  };
  const graph: ComfyGraph = {};
  const errors: ConversionError[] = [];
  for (const node of exec.values()) {
    try {
      const api = convertNode(node, ctx);
      if (api) graph[node.id] = api;
    } catch (err) {
      if (!(err instanceof NodeError)) throw err;
      if (!errors.some((e) => e.node === err.node && e.reason === err.reason)) errors.push(err.toJSON());
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  dropLinksToOmittedNodes(graph);
  if (Object.keys(graph).length === 0)
    return {
      ok: false,
      errors: [{ node: '', type: 'workflow', reason: 'the workflow has no node that runs on the server' }],
    };
  return { ok: true, graph, warnings: ctx.warnings };
}

/** One API node, or undefined for nodes that are never sent (virtual, muted, bypassed, subgraph or group instances). */
function convertNode(node: ExecNode, ctx: Context): ComfyNode | undefined {
  const type = node.node.type;
  const kind = nodeKind(type, ctx.info, ctx.subgraphs);
  const active = node.mode !== MODE_MUTED && node.mode !== MODE_BYPASS;
  if (kind === 'unknown' && active) {
    throw new NodeError(
      node.id,
      type,
      `unknown node type '${type}': not in the server's /object_info, not a subgraph and not a frontend node (Reroute, PrimitiveNode, Note, MarkdownNote); install it on the backend or remove it`,
    );
  }
  // Root-level group nodes were expanded already; the editor refuses to queue one inside a subgraph.
  if (kind === 'groupnode' && active) {
    throw new NodeError(
      node.id,
      type,
      'legacy group nodes inside subgraphs are not supported (the editor refuses them too): convert it to a subgraph in the editor and save again',
    );
  }
  if (kind !== 'class' || !active) return undefined;
  const def = ctx.info[type]!;
  const inputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(storedWidgets(node, ctx))) inputs[name] = literal(value);
  (node.node.inputs ?? []).forEach((input, slot) => {
    if (!input?.name) return;
    const resolved = ctx.resolver.input(node, slot);
    if (!resolved) return;
    inputs[input.name] =
      resolved.originId !== undefined ? [resolved.originId, resolved.originSlot] : literal(resolved.value);
  });
  return { class_type: type, inputs, _meta: { title: node.node.title ?? def.display_name ?? type } };
}

/** Widget values as stored, with PrimitiveNode values written over their targets. */
function storedWidgets(node: ExecNode, ctx: Context): Record<string, unknown> {
  let values: Record<string, unknown>;
  const notes: WidgetNote[] = [];
  try {
    values = widgetValues(ctx.info[node.node.type]!, node.node, notes);
    for (const n of notes) ctx.warnings.push({ node: node.id, type: node.node.type, message: n.message });
  } catch (err) {
    if (err instanceof WidgetError) throw new NodeError(node.id, node.node.type, err.message);
    throw err;
  }
  let overrides = ctx.primitives.get(node.scope);
  if (!overrides) {
    overrides = primitiveValues(node.scope);
    ctx.primitives.set(node.scope, overrides);
  }
  return { ...values, ...overrides.get(String(node.node.id)) };
}

/** graphToPrompt's last pass: inputs linked to a node that was not emitted (muted, say) are deleted. */
function dropLinksToOmittedNodes(graph: ComfyGraph): void {
  for (const node of Object.values(graph)) {
    for (const [name, value] of Object.entries(node.inputs)) {
      if (Array.isArray(value) && value.length === 2 && !Object.hasOwn(graph, String(value[0])))
        delete node.inputs[name];
    }
  }
}
