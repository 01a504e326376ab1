/**
 * The parts of ComfyUI's /object_info that workflow conversion and parameter detection read
 * (docs/comfyui-protocol.md §2.10). Both combo spellings exist: legacy `[[...options], {...}]` and V3
 * `["COMBO", {options: [...]}]`; hidden inputs never take a widget position.
 */

export type InputSpec = readonly [unknown, Record<string, unknown>?] | readonly unknown[];

export interface NodeDef {
  input?: {
    required?: Record<string, InputSpec>;
    optional?: Record<string, InputSpec>;
    hidden?: Record<string, unknown>;
  };
  /** Absent on servers older than 2024-08-15; key order of `input` is the fallback. */
  input_order?: { required?: string[]; optional?: string[]; hidden?: string[] };
  output?: unknown[];
  output_name?: string[];
  output_node?: boolean;
  display_name?: string;
}

export type ObjectInfo = Record<string, NodeDef>;

export interface DeclaredInput {
  name: string;
  spec: InputSpec;
  section: 'required' | 'optional';
}

/** Required then optional inputs, each in `input_order` (inputs missing from the order follow in key order). */
export function declaredInputs(def: NodeDef): DeclaredInput[] {
  const out: DeclaredInput[] = [];
  for (const section of ['required', 'optional'] as const) {
    const specs = def.input?.[section] ?? {};
    const order = def.input_order?.[section] ?? [];
    const names = [...order.filter((n) => n in specs), ...Object.keys(specs).filter((n) => !order.includes(n))];
    for (const name of names) out.push({ name, spec: specs[name] as InputSpec, section });
  }
  return out;
}

export function findInput(def: NodeDef, name: string): InputSpec | undefined {
  return def.input?.required?.[name] ?? def.input?.optional?.[name];
}

export function specOptions(spec: InputSpec | undefined): Record<string, unknown> {
  const opts = spec?.[1];
  return typeof opts === 'object' && opts !== null && !Array.isArray(opts) ? (opts as Record<string, unknown>) : {};
}

/** The declared type as a string; legacy combos (a list of values) become 'COMBO'. */
export function specType(spec: InputSpec | undefined): string {
  const type = spec?.[0];
  if (Array.isArray(type)) return 'COMBO';
  return typeof type === 'string' ? type : '*';
}

export function comboOptions(spec: InputSpec | undefined): string[] | undefined {
  const type = spec?.[0];
  if (Array.isArray(type)) return type.map(String);
  const options = specOptions(spec).options;
  if (specType(spec) === 'COMBO' && Array.isArray(options)) return options.map(String);
  return undefined;
}

/**
 * Widget types of the frontend's ComfyWidgets that store a value in widgets_values. Anything else is a
 * socket unless the saved node marks the input as a widget (custom JS widgets do that).
 */
const WIDGET_TYPES = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO', 'MARKDOWN', 'COLOR', 'TEXTAREA']);

export function isWidgetSpec(spec: InputSpec | undefined): boolean {
  if (!spec || specOptions(spec).forceInput === true) return false;
  return hasWidgetType(spec);
}

/** The type alone makes a widget; `forceInput` is not looked at (the group-node definition builder ignores it). */
export function hasWidgetType(spec: InputSpec | undefined): boolean {
  return spec !== undefined && WIDGET_TYPES.has(specType(spec));
}

/**
 * litegraph's LiteGraph.isValidConnection: '' and '*' match anything, names compare case-insensitively,
 * and comma lists ("FLOAT,INT") match when they share a member.
 */
export function typesCompatible(a: unknown, b: unknown): boolean {
  const norm = (t: unknown): string =>
    t === undefined || t === null || t === '*' || t === 0 ? '' : String(t).toLowerCase();
  const x = norm(a);
  const y = norm(b);
  if (x === '' || y === '' || x === y) return true;
  if (!x.includes(',') && !y.includes(',')) return false;
  return x.split(',').some((p) => y.split(',').some((q) => typesCompatible(p, q)));
}

/** Output slot types, from `output` (the RETURN_TYPES). */
export function outputTypes(def: NodeDef | undefined): string[] {
  return (def?.output ?? []).map((t) => (Array.isArray(t) ? 'COMBO' : String(t)));
}
