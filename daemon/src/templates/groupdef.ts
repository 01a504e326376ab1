/**
 * The node definition the editor synthesises for a legacy group node, rebuilt from the saved definition
 * (`extra.groupNodes[name] = {nodes, links, external, config?}`) step by step as the frontend's GroupNodeConfig
 * does (src/extensions/core/groupNode.ts, registerType and the process* methods): which inner inputs become
 * widgets or input slots of the group, under which de-duplicated names, in which order, and which inner output
 * each group output is. The group instance's widgets_values are positional over this definition's widgets.
 */
import { z } from 'zod';
import { describeIssues } from './errors.js';
import {
  declaredInputs,
  findInput,
  hasWidgetType,
  specOptions,
  specType,
  type InputSpec,
  type ObjectInfo,
} from './objectInfo.js';
import { hasUpload, injectedAfter, widgetLayout, type WidgetSlot } from './widgets.js';
import type { UiNode } from './workflow.js';

/** A definition link: [origin index, origin slot, target index, target slot, origin's id outside, type]. */
export type GroupLink = [number, number, number, number, unknown, unknown];

interface SlotConfig {
  name?: string;
  visible?: boolean;
}

export interface GroupNodeDef {
  nodes: UiNode[];
  /** Links as the editor's clipboard stored them; links from outside the group have a null origin index. */
  links?: unknown[];
  /** [node index, output slot, type] for every inner output that also fed a node outside the group. */
  external?: unknown[];
  /** "Manage Group Node" edits per node index: renamed or hidden inputs and outputs. */
  config?: Record<string, { input?: Record<string, SlotConfig>; output?: Record<string, SlotConfig> } | undefined>;
}

/**
 * The shape the builder relies on, checked before anything reads a definition, so a malformed one is a conversion
 * error naming the field rather than a crash. As the editor saves it: inner nodes (its clipboard serialisation,
 * `index` added by GroupNodeConfig), links `[origin index, origin slot, target index, target slot, ...]` (each
 * possibly null, as the editor's GroupNodeInternalLink type has them; such a link joins no two inner slots) and
 * `external` entries `[node index, output slot, type]`. Fields the builder tolerates as null may be null.
 */
const Index = z.number().int().nonnegative();
/** A node index or slot in `links` and `external`; the editor reads them with Number(), so digit strings pass too. */
const REF = { error: 'expected a node index or slot number' };
const Ref = z.union([z.number(REF).int(REF).nonnegative(REF), z.string(REF).regex(/^\d+$/, REF)], REF);
const SlotConfigShape = z.looseObject({ name: z.string().nullish(), visible: z.boolean().nullish() });
const WidgetRef = z.looseObject({ name: z.string() });
const InnerNodeShape = z.looseObject({
  type: z.string(),
  index: Index.optional(),
  mode: z.number().nullish(),
  title: z.string().nullish(),
  inputs: z
    .array(z.looseObject({ name: z.string(), label: z.string().nullish(), widget: WidgetRef.nullish() }))
    .nullish(),
  outputs: z.array(z.looseObject({ name: z.string().nullish(), widget: WidgetRef.nullish() })).nullish(),
  widgets_values: z
    .union([z.array(z.unknown()), z.record(z.string(), z.unknown())], { error: 'expected an array or an object' })
    .nullish(),
  properties: z.record(z.string(), z.unknown()).nullish(),
});
const GroupNodeDefShape = z.looseObject({
  nodes: z.array(InnerNodeShape),
  links: z.array(z.tuple([Ref.nullable(), Ref.nullable(), Ref.nullable(), Ref.nullable()], z.unknown())).nullish(),
  // The old "Manage group node" dialog saved the node object itself, not its index, as an entry's first item.
  external: z
    .array(z.union([z.tuple([Ref, Ref], z.unknown()), z.tuple([z.looseObject({}), z.unknown()], z.unknown())]))
    .nullish(),
  config: z
    .record(
      z.string(),
      z
        .looseObject({
          input: z.record(z.string(), SlotConfigShape.nullish()).nullish(),
          output: z.record(z.string(), SlotConfigShape.nullish()).nullish(),
        })
        .nullish(),
    )
    .nullish(),
});

/** Why a saved definition cannot be read, naming the fields (at most three), or undefined when it can. */
export function groupDefProblem(raw: unknown): string | undefined {
  const parsed = GroupNodeDefShape.safeParse(raw);
  return parsed.success ? undefined : describeIssues(parsed.error.issues, raw, '(definition)');
}

/** A spec the builder may still change: a PrimitiveNode's spec takes its target's options later. */
type Spec = [unknown, Record<string, unknown>];

export interface GroupInput {
  kind: 'widget' | 'socket' | 'upload';
  spec: InputSpec;
}

export interface InnerInput {
  index: number;
  inputName: string;
}

export interface GroupConfig {
  /** The synthetic inputs in order. A name set again keeps its place and takes the new entry, as object keys do. */
  inputs: Map<string, GroupInput>;
  /** Group widget name → the inner widget it sets (newToOldWidgetMap). */
  widgets: Map<string, InnerInput>;
  /** Inner node index → inner input slot → the group input that feeds it (oldToNewInputMap, by name). */
  inputMap: Map<number, Map<number, string>>;
  /** Group output slot → inner node index and output slot (newToOldOutputMap). */
  outputs: Array<{ index: number; slot: number }>;
  /** Inner PrimitiveNode index → the inner widgets its value is written to (primitiveToWidget). */
  primitiveTargets: Map<number, InnerInput[]>;
  /** Inner node index → input slot → the internal link into it (linksTo: the last link to a slot wins). */
  linksTo: Map<number, Map<number, GroupLink>>;
}

interface InnerDef {
  inputs: Array<{ name: string; spec: InputSpec }>;
  outputs: unknown[];
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

const rawLinks = (def: GroupNodeDef): unknown[][] => (def.links ?? []).filter((l): l is unknown[] => Array.isArray(l));

/** Links between inner nodes; the ones from outside (null origin) only served to rewire the group when it was made. */
export function groupLinks(def: GroupNodeDef): GroupLink[] {
  return rawLinks(def)
    .filter((l) => [0, 1, 2, 3].every((i) => l[i] !== null && l[i] !== undefined))
    .map((l) => [num(l[0]), num(l[1]), num(l[2]), num(l[3]), l[4], l[5]]);
}

function at<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

class Builder {
  readonly cfg: GroupConfig = {
    inputs: new Map(),
    widgets: new Map(),
    inputMap: new Map(),
    outputs: [],
    primitiveTargets: new Map(),
    linksTo: new Map(),
  };
  private readonly linksFrom = new Map<number, Map<number, GroupLink[]>>();
  private readonly external = new Map<number, Map<number, unknown>>();
  private readonly primitives = new Map<number, Spec>();
  // A plain object on purpose: the editor tests `name in seenInputs`, and so must we.
  private readonly seen: Record<string, number> = {};
  private readonly deferred: Array<() => void> = [];

  constructor(
    private readonly def: GroupNodeDef,
    private readonly info: ObjectInfo,
  ) {
    for (const link of groupLinks(def)) {
      at(
        at(this.linksFrom, link[0], () => new Map()),
        link[1],
        () => [],
      ).push(link);
      at(this.cfg.linksTo, link[2], () => new Map()).set(link[3], link);
    }
    for (const ext of def.external ?? []) {
      // An entry naming a node object: the editor keys its map with it (as "[object Object]"), so no index ever
      // matches and the entry changes nothing; ignored here the same way.
      if (!Array.isArray(ext) || (typeof ext[0] === 'object' && ext[0] !== null)) continue;
      if (ext[2] !== null && ext[2] !== undefined)
        at(this.external, num(ext[0]), () => new Map()).set(num(ext[1]), ext[2]);
    }
  }

  build(): GroupConfig {
    this.def.nodes.forEach((node, index) => this.processNode(node, index));
    // Converted widgets go after every other input of every node, as the editor appends them last.
    for (const run of this.deferred) run();
    return this.cfg;
  }

  private processNode(node: UiNode, index: number): void {
    const def = this.nodeDef(node, index);
    if (!def) return;
    if (def.inputs.length > 0) this.processInputs(node, index, def.inputs);
    this.processOutputs(index, def.outputs);
  }

  /** getNodeDef: the class from /object_info, or the editor's stand-in for a linked Primitive or a Reroute. */
  private nodeDef(node: UiNode, index: number): InnerDef | undefined {
    const def = this.info[node.type];
    if (def) return { inputs: classInputs(this.info, node.type), outputs: def.output ?? [] };
    if (node.type === 'PrimitiveNode') return this.primitiveDef(node, index);
    if (node.type === 'Reroute') return this.rerouteDef(index);
    return undefined; // Notes and other frontend-only nodes add nothing
  }

  private primitiveDef(node: UiNode, index: number): InnerDef | undefined {
    const first = this.linksFrom.get(index)?.get(0)?.[0];
    if (!first) return undefined; // an unlinked primitive adds nothing
    let type = first[5];
    if (type === 'COMBO') {
      const target = this.def.nodes[first[2]];
      const source = node.outputs?.[0]?.widget?.name;
      const def = target ? this.info[target.type] : undefined;
      if (def && source) type = findInput(def, source)?.[0] ?? type;
    }
    const spec: Spec = [type, {}];
    this.primitives.set(index, spec);
    return { inputs: [{ name: 'value', spec }], outputs: [type] };
  }

  private rerouteDef(index: number): InnerDef | undefined {
    const from = this.linksFrom.get(index);
    const to = this.cfg.linksTo.get(index);
    if (from && to && !this.external.get(index)?.get(0)) return undefined; // used only inside the group
    let type: unknown = '*';
    if (from) {
      for (const link of from.get(0) ?? []) {
        const input = this.def.nodes[link[2]]?.inputs?.[link[3]];
        if (input?.type && type === '*') type = input.type;
      }
    } else if (to?.get(0)) {
      const [origin, slot] = to.get(0)!;
      type = this.def.nodes[origin]?.outputs?.[slot]?.type ?? '*';
    } else {
      // A pipe: the type of any link into it (from outside too), else of its external output.
      type =
        rawLinks(this.def).find((l) => l[2] !== null && num(l[2]) === index)?.[5] ??
        this.external.get(index)?.get(0) ??
        '*';
    }
    return { inputs: [{ name: String(type), spec: [type, { forceInput: true }] }], outputs: [type] };
  }

  /** processNodeInputs: widgets first, then unlinked slots; converted widgets wait until every node is done. */
  private processInputs(node: UiNode, index: number, inputs: InnerDef['inputs']): void {
    const specs = new Map(inputs.map((i) => [i.name, i.spec] as const));
    const slots: string[] = [];
    const converted = new Map<number, string>();
    for (const { name, spec } of inputs) {
      if (!isWidgetEntry(node, name, spec)) {
        slots.push(name);
        continue;
      }
      if (newerThanSaved(this.info, node, name)) continue; // keeps its default (widgetValues notes it) and takes no position
      const slot = (node.inputs ?? []).findIndex((i) => i?.name === name && i.widget?.name === name);
      if (slot > -1) converted.set(slot, name);
      else this.addWidget(node, index, name, spec);
    }
    const linksTo = this.cfg.linksTo.get(index) ?? new Map<number, GroupLink>();
    const inputMap = at(this.cfg.inputMap, index, () => new Map());
    slots.forEach((name, slot) => {
      const link = linksTo.get(slot);
      if (link) return this.checkPrimitive(link, name, specs.get(name));
      const config = this.inputConfig(node, index, name, specs.get(name)!);
      if (config.custom?.visible === false) return;
      this.cfg.inputs.set(config.name, { kind: 'socket', spec: config.spec });
      inputMap.set(slot, config.name);
    });
    this.deferred.push(() => this.processConverted(node, index, specs, slots.length, converted, inputMap));
  }

  private addWidget(
    node: UiNode,
    index: number,
    inputName: string,
    spec: InputSpec,
    extra?: Record<string, unknown>,
  ): string {
    const config = this.inputConfig(node, index, inputName, spec, extra);
    this.cfg.inputs.set(config.name, {
      kind: specType(config.spec) === 'IMAGEUPLOAD' ? 'upload' : 'widget',
      spec: config.spec,
    });
    this.cfg.widgets.set(config.name, { index, inputName });
    return config.name;
  }

  /**
   * processConvertedWidgets. The editor orders them with a bare `.sort()`, which compares slot numbers as
   * strings (10 before 4), and then counts slots from the number of plain inputs in that order; a link into
   * the group goes to the slot so counted, even when that is another input of the inner node.
   */
  private processConverted(
    node: UiNode,
    index: number,
    specs: Map<string, InputSpec>,
    base: number,
    converted: Map<number, string>,
    inputMap: Map<number, string>,
  ): void {
    const linksTo = this.cfg.linksTo.get(index);
    [...converted.keys()].sort().forEach((key, i) => {
      const name = converted.get(key)!;
      const link = linksTo?.get(base + i);
      if (link) return this.checkPrimitive(link, name, specs.get(name));
      inputMap.set(base + i, this.addWidget(node, index, name, specs.get(name)!, { defaultInput: true }));
    });
  }

  /** A primitive feeding an inner widget: its group widget takes the target's options and a seed control. */
  private checkPrimitive(link: GroupLink, inputName: string, target: InputSpec | undefined): void {
    const [source, , targetIndex] = link;
    const spec = this.def.nodes[source]?.type === 'PrimitiveNode' ? this.primitives.get(source) : undefined;
    if (!spec) return;
    spec[1] = { ...specOptions(target), control_after_generate: true };
    at(this.cfg.primitiveTargets, source, () => []).push({ index: targetIndex, inputName });
  }

  /** getInputConfig: the group input's name (custom name, slot label, else the input name, prefixed on clashes). */
  private inputConfig(
    node: UiNode,
    index: number,
    inputName: string,
    spec: InputSpec,
    extra?: Record<string, unknown>,
  ) {
    const custom = this.def.config?.[index]?.input?.[inputName];
    let name = custom?.name ?? node.inputs?.find((i) => i?.name === inputName)?.label ?? inputName;
    let key = name;
    let prefix = '';
    if ((node.type === 'PrimitiveNode' && node.title) || name in this.seen) {
      prefix = `${node.title ?? node.type} `;
      key = name = `${prefix}${inputName}`;
      if (name in this.seen) name = `${prefix}${this.seen[name]} ${inputName}`;
    }
    this.seen[key] = (this.seen[key] ?? 1) + 1;
    if (inputName === 'seed' || inputName === 'noise_seed')
      extra = { ...extra, control_after_generate: `${prefix}control_after_generate` };
    // Without extras the spec stays the same object, so a primitive's later update reaches the group widget.
    const config: InputSpec = extra ? [spec[0], { ...specOptions(spec), ...extra }] : spec;
    return { name, spec: config, custom };
  }

  /** processNodeOutputs: outputs used only inside the group are hidden unless the config shows them. */
  private processOutputs(index: number, outputs: unknown[]): void {
    outputs.forEach((_, slot) => {
      const internal = this.linksFrom.get(index)?.get(slot) !== undefined && !this.external.get(index)?.get(slot);
      if (this.def.config?.[index]?.output?.[slot]?.visible ?? !internal) this.cfg.outputs.push({ index, slot });
    });
  }
}

/**
 * A widget the node gained after the group was saved: its own saved `widgets_values` end before its position,
 * and, as editors from 1.16 on list every widget input in `inputs` with a `widget` mark, the saved node marks
 * others but not this one. Today's definition would give it a group widget position ahead of the saved
 * (converted, so deferred) ones and shift every saved value; it gets none, so the values land where they were
 * saved, and keeps its default (which widgetValues notes).
 */
function newerThanSaved(info: ObjectInfo, node: UiNode, name: string): boolean {
  const saved = node.inputs ?? [];
  const def = info[node.type];
  if (
    !def ||
    !Array.isArray(node.widgets_values) ||
    !saved.some((i) => i?.widget) ||
    saved.some((i) => i?.name === name)
  )
    return false;
  return widgetLayout(def, node).findIndex((s) => s.kind === 'value' && s.name === name) >= node.widgets_values.length;
}

/** An inner input is a widget of the group when its type is a widget type (forceInput is not looked at). */
function isWidgetEntry(node: UiNode, name: string, spec: InputSpec): boolean {
  return (
    hasWidgetType(spec) || specType(spec) === 'IMAGEUPLOAD' || (node.inputs ?? []).some((i) => i?.widget?.name === name)
  );
}

/**
 * A class's inputs as the editor's definitions hold them: required, the `upload` button the upload
 * extensions append to required inputs, then optional.
 */
function classInputs(info: ObjectInfo, type: string): InnerDef['inputs'] {
  const inputs = declaredInputs(info[type]!);
  const required = inputs.filter((i) => i.section === 'required');
  const upload = required.some((i) => hasUpload(i.spec))
    ? [{ name: 'upload', spec: ['IMAGEUPLOAD'] as InputSpec }]
    : [];
  return [...required, ...upload, ...inputs.filter((i) => i.section === 'optional')];
}

export function groupConfig(def: GroupNodeDef, info: ObjectInfo): GroupConfig {
  return new Builder(def, info).build();
}

/** The group instance's widget positions: each widget with the controls the editor injects after it. */
export function groupLayout(cfg: GroupConfig): WidgetSlot[] {
  const slots: WidgetSlot[] = [];
  for (const [name, input] of cfg.inputs) {
    if (input.kind === 'upload') slots.push({ kind: 'upload', name });
    if (input.kind !== 'widget') continue;
    slots.push({ kind: 'value', name, spec: input.spec });
    for (const kind of injectedAfter(name, input.spec)) slots.push({ kind, name });
  }
  return slots;
}

/** Why the widget layout depends on the editor's version, if it does. */
export function layoutProblem(cfg: GroupConfig): string | undefined {
  for (const [name, input] of cfg.inputs) {
    if (input.kind === 'widget' && specOptions(input.spec).forceInput === true) {
      return `group input '${name}' is a widget type marked forceInput (an inner forceInput input, or a Reroute carrying a widget type): older editors gave it a widgets_values position, newer ones do not`;
    }
  }
  const upload = [...cfg.inputs.values()].some((i) => i.kind === 'widget' && hasUpload(i.spec));
  if (upload && !cfg.inputs.has('upload')) {
    return "the group has an upload input but no widget named 'upload' (it was renamed): whether the editor adds another upload widget depends on its version";
  }
  return undefined;
}
