/**
 * Link resolution through Reroutes, bypassed nodes and subgraph boundaries, following the frontend's
 * ExecutableNodeDTO.resolveInput/resolveOutput (docs/comfyui-protocol.md §5.3 items 4–5). A result is either the
 * real node and output slot that feeds an input, or a literal (a subgraph instance's promoted widget value).
 */
import { NodeError } from './errors.js';
import { nodeKind, type ExecNode } from './flatten.js';
import { findInput, outputTypes, specType, typesCompatible, type ObjectInfo } from './objectInfo.js';
import { MODE_BYPASS, SUBGRAPH_INPUT_ID, SUBGRAPH_OUTPUT_ID, type Scope, type UiInput } from './workflow.js';

/**
 * A bypassed group node keeps the editor's older rule (ExecutableGroupNodeDTO.resolveOutput): the input with
 * the output's index, else the first input, whose type equals the wanted type exactly.
 */
function groupBypassSlot(node: ExecNode, slot: number, type: unknown): number {
  const inputs = node.node.inputs ?? [];
  return [slot, ...inputs.keys()].find((i) => inputs[i] !== undefined && inputs[i]?.type === type) ?? -1;
}

/** Inputs and outputs one resolution may pass through; two per Reroute. */
export const MAX_LINK_STEPS = 1000;

export type Resolved =
  { originId: string; originSlot: number; value?: undefined } | { value: unknown; originId?: undefined };

export class Resolver {
  constructor(
    private readonly exec: Map<string, ExecNode>,
    private readonly info: ObjectInfo,
    private readonly subgraphs: Map<string, Scope>,
  ) {}

  /** What feeds input `slot` of `node`; undefined when nothing does (the input is then left out). */
  input(node: ExecNode, slot: number, visited = new Set<string>(), type?: unknown): Resolved | undefined {
    this.enter(visited, `${node.id}[I]${slot}`, node);
    const input = node.node.inputs?.[slot];
    if (!input) throw this.error(node, `has no input slot ${slot}`);
    if (input.link === null || input.link === undefined) return undefined;
    const link = node.scope.links.get(input.link);
    if (!link) throw this.error(node, `input '${input.name}' refers to link ${input.link}, which does not exist`);
    if (link.originId === SUBGRAPH_INPUT_ID) return this.fromInstanceInput(node, link.originSlot, visited);
    const origin = this.exec.get([...node.path, link.originId].join(':'));
    if (!origin)
      throw this.error(node, `input '${input.name}' is linked to node ${link.originId}, which does not exist`);
    return this.output(origin, link.originSlot, type ?? this.inputType(node, input), visited);
  }

  /** The real output behind output `slot` of `node`, asked for by an input of type `type`. */
  output(node: ExecNode, slot: number, type: unknown, visited: Set<string>): Resolved | undefined {
    this.enter(visited, `${node.id}[O]${slot}`, node);
    const kind = nodeKind(node.node.type, this.info, this.subgraphs);
    if (node.mode === MODE_BYPASS) {
      const index = kind === 'groupnode' ? groupBypassSlot(node, slot, type) : this.bypassSlot(node, slot, type);
      return index === -1 ? undefined : this.input(node, index, visited);
    }
    if (kind === 'subgraph') return this.subgraphOutput(node, slot, type, visited);
    if (kind === 'reroute' || kind === 'primitive' || kind === 'note') {
      // Virtual nodes pass input n through to output n; a PrimitiveNode has no input and resolves to nothing.
      return node.node.inputs?.[slot] ? this.input(node, slot, visited, type) : undefined;
    }
    return { originId: node.id, originSlot: slot };
  }

  /**
   * The input a bypassed node passes through for output `slot`: the same index if its type fits both the
   * output and the wanted type, else the first input of exactly the wanted type, else the first compatible one.
   */
  bypassSlot(node: ExecNode, slot: number, type: unknown): number {
    const inputs = node.node.inputs ?? [];
    if (inputs.length === 0) return -1;
    if (type === '*' || type === '' || type === undefined || type === null) return slot < inputs.length ? slot : 0;
    const def = this.info[node.node.type];
    const outType = node.node.outputs?.[slot]?.type ?? outputTypes(def)[slot];
    const types = inputs.map((input) => this.inputType(node, input));
    const fits = (i: number): boolean => typesCompatible(types[i], outType) && typesCompatible(types[i], type);
    if (slot < inputs.length && fits(slot)) return slot;
    const exact = types.findIndex((t) => t === type);
    return exact !== -1 ? exact : types.findIndex((_, i) => fits(i));
  }

  private inputType(node: ExecNode, input: UiInput): unknown {
    if (input.type !== undefined) return input.type;
    const def = this.info[node.node.type];
    return def ? specType(findInput(def, input.name)) : undefined;
  }

  /** A link from a subgraph's input pseudo-node: whatever feeds the instance's input, else its promoted widget. */
  private fromInstanceInput(node: ExecNode, index: number, visited: Set<string>): Resolved | undefined {
    const instance = node.parent;
    if (!instance) throw this.error(node, 'is linked to a subgraph input but is not inside a subgraph instance');
    const outer = instance.node.inputs?.[index];
    if (outer?.link !== null && outer?.link !== undefined) return this.input(instance, index, visited);
    const value = this.promotedValue(instance, index);
    return value === undefined ? undefined : { value };
  }

  /** Output `slot` of a subgraph instance: the inner node linked to the output pseudo-node. */
  private subgraphOutput(instance: ExecNode, slot: number, type: unknown, visited: Set<string>): Resolved | undefined {
    const scope = this.subgraphs.get(instance.node.type) as Scope;
    const link = [...scope.links.values()].find((l) => l.targetId === SUBGRAPH_OUTPUT_ID && l.targetSlot === slot);
    if (!link) return undefined;
    // An output wired straight to an input passes the instance's input through.
    if (link.originId === SUBGRAPH_INPUT_ID) return this.input(instance, link.originSlot, visited, type);
    const inner = this.exec.get(`${instance.id}:${link.originId}`);
    if (!inner)
      throw this.error(
        instance,
        `subgraph output ${slot} is linked to inner node ${link.originId}, which does not exist`,
      );
    return this.output(inner, link.originSlot, type, visited);
  }

  /**
   * The value of the instance widget promoted from subgraph input `index`. Promoted widgets are stored in
   * widgets_values in the order of the instance inputs that carry `widget` (SubgraphNode keeps them in input
   * order); an object-shaped widgets_values is keyed by input name. Undefined means the inner widget keeps its
   * own value.
   */
  promotedValue(instance: ExecNode, index: number): unknown {
    const inputs = instance.node.inputs ?? [];
    const scope = this.subgraphs.get(instance.node.type) as Scope;
    const marked = inputs.flatMap((input, i) => (input?.widget ? [i] : []));
    const promoted = marked.length > 0 ? marked : this.promotedFromDefinition(scope);
    const values = instance.node.widgets_values;
    if (values && !Array.isArray(values)) {
      const name = inputs[index]?.name ?? scope.subgraph?.inputs?.[index]?.name;
      return name === undefined ? undefined : values[name];
    }
    const position = promoted.indexOf(index);
    return position === -1 || !values ? undefined : values[position];
  }

  /** Subgraph inputs that feed an inner widget, for instances saved without `widget` marks on their inputs. */
  private promotedFromDefinition(scope: Scope): number[] {
    const indexes = new Set<number>();
    for (const link of scope.links.values()) {
      if (link.originId !== SUBGRAPH_INPUT_ID) continue;
      if (scope.byId.get(link.targetId)?.inputs?.[link.targetSlot]?.widget) indexes.add(link.originSlot);
    }
    return [...indexes].sort((a, b) => a - b);
  }

  private enter(visited: Set<string>, key: string, node: ExecNode): void {
    if (visited.has(key)) throw this.error(node, 'links form a loop through virtual, bypassed or subgraph nodes');
    // Each step is a recursive call: a chain of thousands of Reroutes would overflow the stack.
    if (visited.size >= MAX_LINK_STEPS)
      throw this.error(
        node,
        `a link passes through more than ${MAX_LINK_STEPS} steps (Reroutes, bypassed nodes, subgraph boundaries)`,
      );
    visited.add(key);
  }

  private error(node: ExecNode, reason: string): NodeError {
    return new NodeError(node.id, node.node.type, reason);
  }
}
