// execution.validate_prompt (§2.1.1): Phase A over the whole prompt, then Phase B per output node with
// memoised recursive input checks, exact error objects, coercion written back into the prompt.
import { PyException, coerceLiteral, numStr, pyLess } from './coerce.js';
import { inputInfo, type NodeContext, type NodeDef, type NodeInputs, type NodeRegistry } from './nodes.js';
import { isDict, keysOf, orderedDict, pyRepr, pyStr, pyTypeName, type PyDict, type PyValue } from './pyjson.js';

export interface ErrorObj {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, PyValue>;
}

export interface NodeErrorEntry {
  errors: ErrorObj[];
  dependent_outputs: string[];
  class_type: string;
}

export type ValidationResult =
  | { ok: true; outputs: string[]; nodeErrors: Record<string, NodeErrorEntry> }
  | { ok: false; error: ErrorObj; nodeErrors: Record<string, NodeErrorEntry> };

export interface ValidationEnv {
  registry: NodeRegistry;
  ctx: NodeContext;
  /** folder_paths.exists_annotated_filepath */
  annotatedFileExists(name: string): boolean;
}

interface Verdict {
  ok: boolean;
  errors: ErrorObj[];
}

const COERCED_TYPES = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN']);

/** A plausible Python traceback list; clients only display it. */
function fakeTraceback(where: string): string[] {
  return [
    `  File "/ComfyUI/execution.py", line 1, in ${where}\n    r = await validate_inputs(prompt_id, prompt, o_id, validated)\n`,
  ];
}

function err(type: string, message: string, details: string, extra: Record<string, PyValue>): ErrorObj {
  return { type, message, details, extra_info: extra };
}

/** validate_node_input(): exact match, '*' wildcard, or a shared member of comma lists. */
export function typesMatch(received: PyValue, declared: PyValue): boolean {
  if (received === declared) return true;
  if (typeof received !== 'string' || typeof declared !== 'string') return false;
  const a = new Set(received.split(',').map((t) => t.trim()));
  const b = new Set(declared.split(',').map((t) => t.trim()));
  if (a.has('*') || b.has('*')) return true;
  return [...a].some((t) => b.has(t));
}

/** RETURN_TYPES[slot] with Python tuple indexing and its exceptions. */
function returnTypeAt(types: string[], slot: PyValue): string {
  if (typeof slot === 'boolean') slot = slot ? 1 : 0;
  if (typeof slot === 'bigint') throw new PyException('IndexError', "cannot fit 'int' into an index-sized integer");
  if (typeof slot !== 'number' || !Number.isInteger(slot)) {
    throw new PyException('TypeError', `tuple indices must be integers or slices, not ${pyTypeName(slot)}`);
  }
  const t = types[slot < 0 ? types.length + slot : slot];
  if (t === undefined) throw new PyException('IndexError', 'tuple index out of range');
  return t;
}

class Validator {
  readonly validated = new Map<string, Verdict>();
  private readonly visiting = new Set<string>();
  private readonly classInputs = new Map<string, NodeInputs>();

  constructor(
    private readonly prompt: PyDict,
    private readonly env: ValidationEnv,
  ) {}

  private defOf(id: string): NodeDef {
    const node = this.prompt[id] as PyDict;
    return this.env.registry.visible(node.class_type as string) as NodeDef;
  }

  private inputsOf(def: NodeDef): NodeInputs {
    let inputs = this.classInputs.get(def.name);
    if (!inputs) {
      inputs = def.inputs(this.env.ctx);
      this.classInputs.set(def.name, inputs);
    }
    return inputs;
  }

  /** prompt[o_id]: the dict lookup that raises KeyError/TypeError for bad link sources. */
  private linkedNodeId(source: PyValue): string {
    if (Array.isArray(source) || isDict(source))
      throw new PyException('TypeError', `unhashable type: '${pyTypeName(source)}'`);
    if (typeof source === 'string' && Object.hasOwn(this.prompt, source)) return source;
    throw new PyException('KeyError', pyRepr(source));
  }

  validateNode(id: string): Verdict {
    const memo = this.validated.get(id);
    if (memo) return memo;
    // A cycle makes real ComfyUI recurse until Python gives up; report it the same way.
    if (this.visiting.has(id)) throw new PyException('RecursionError', 'maximum recursion depth exceeded');
    this.visiting.add(id);
    try {
      const verdict = this.check(id);
      this.validated.set(id, verdict);
      return verdict;
    } finally {
      this.visiting.delete(id);
    }
  }

  private check(id: string): Verdict {
    const node = this.prompt[id] as PyDict;
    if (!Object.hasOwn(node, 'inputs')) throw new PyException('KeyError', "'inputs'");
    const inputs = node.inputs;
    if (!isDict(inputs))
      throw new PyException('TypeError', `${pyTypeName(inputs)} indices must be integers or slices, not str`);
    const def = this.defOf(id);
    const classInputs = this.inputsOf(def);
    const errors: ErrorObj[] = [];
    let valid = true;
    const names = [...Object.keys(classInputs.required ?? {}), ...Object.keys(classInputs.optional ?? {})];
    for (const x of names) {
      const info = inputInfo(classInputs, x);
      if (!info) continue;
      if (!Object.hasOwn(inputs, x)) {
        if (info.category === 'required') {
          errors.push(err('required_input_missing', 'Required input is missing', x, { input_name: x }));
        }
        continue;
      }
      const config: PyValue = [info.type, info.extra];
      const val = inputs[x] as PyValue;
      if (Array.isArray(val)) {
        const r = this.checkLink(x, val, info.type, config);
        if (r === 'invalid') valid = false;
        else if (r) errors.push(r);
        continue;
      }
      const e = this.checkLiteral(def, inputs, x, info.type, info.extra, config);
      if (e) errors.push(e);
    }
    if (def.validateInputs) errors.push(...this.customValidation(def, inputs, classInputs));
    return errors.length > 0 || !valid ? { ok: false, errors } : { ok: true, errors: [] };
  }

  /** A linked input: returns an own error, 'invalid' when the upstream failed, or null. */
  private checkLink(x: string, val: PyValue[], declared: PyValue, config: PyValue): ErrorObj | 'invalid' | null {
    if (val.length !== 2) {
      return err('bad_linked_input', 'Bad linked input, must be a length-2 list of [node_id, slot_index]', x, {
        input_name: x,
        input_config: config,
        received_value: val,
      });
    }
    // These two lookups sit outside ComfyUI's try block, so their exceptions escape to the caller.
    const srcId = this.linkedNodeId(val[0] as PyValue);
    const received = returnTypeAt(this.defOf(srcId).returnTypes, val[1] as PyValue);
    if (!typesMatch(received, declared)) {
      return err(
        'return_type_mismatch',
        'Return type mismatch between linked nodes',
        `${x}, received_type(${received}) mismatch input_type(${pyStr(declared)})`,
        { input_name: x, input_config: config, received_type: received, linked_node: val },
      );
    }
    try {
      return this.validateNode(srcId).ok ? null : 'invalid';
    } catch (e) {
      if (!(e instanceof PyException)) throw e;
      this.validated.set(srcId, {
        ok: false,
        errors: [
          err('exception_during_inner_validation', 'Exception when validating inner node', e.message, {
            input_name: x,
            input_config: config,
            exception_message: e.message,
            exception_type: e.type,
            traceback: fakeTraceback('validate_inputs'),
            linked_node: val,
          }),
        ],
      });
      return 'invalid';
    }
  }

  private checkLiteral(
    def: NodeDef,
    inputs: PyDict,
    x: string,
    type: PyValue,
    extra: Record<string, PyValue>,
    config: PyValue,
  ): ErrorObj | null {
    let val = inputs[x] as PyValue;
    if (isDict(val) && Object.hasOwn(val, '__value__')) {
      val = val.__value__ as PyValue;
      inputs[x] = val;
    }
    if (typeof type === 'string' && COERCED_TYPES.has(type)) {
      try {
        const coerced = coerceLiteral(type, val);
        inputs[x] = coerced;
        val = coerced;
      } catch (e) {
        if (!(e instanceof PyException)) throw e;
        return err(
          'invalid_input_type',
          `Failed to convert an input value to a ${type} value`,
          `${x}, ${pyStr(val)}, ${e.message}`,
          {
            input_name: x,
            input_config: config,
            received_value: val,
            exception_message: e.message,
          },
        );
      }
    }
    if (def.validateInputs?.includes(x)) return null;
    const rangeExtra = { input_name: x, input_config: config, received_value: val };
    if ('min' in extra && pyLess(val, extra.min)) {
      return err(
        'value_smaller_than_min',
        `Value ${numStr(val)} smaller than min of ${numStr(extra.min)}`,
        x,
        rangeExtra,
      );
    }
    if ('max' in extra && pyLess(extra.max, val)) {
      return err(
        'value_bigger_than_max',
        `Value ${numStr(val)} bigger than max of ${numStr(extra.max)}`,
        x,
        rangeExtra,
      );
    }
    if (Array.isArray(type) && !(typeof val === 'string' && type.includes(val))) {
      const big = type.length > 20;
      const listInfo = big ? `(list of length ${type.length})` : pyRepr(type);
      return err('value_not_in_list', 'Value not in list', `${x}: '${pyStr(val)}' not in ${listInfo}`, {
        input_name: x,
        input_config: big ? null : config,
        received_value: val,
      });
    }
    return null;
  }

  /** LoadImage / LoadImageMask VALIDATE_INPUTS(image): the (annotated) file must exist. */
  private customValidation(def: NodeDef, inputs: PyDict, classInputs: NodeInputs): ErrorObj[] {
    const args: Array<[string, PyValue]> = [];
    for (const [x, v] of Object.entries(inputs)) {
      if (!def.validateInputs?.includes(x) || !inputInfo(classInputs, x)) continue;
      args.push([x, Array.isArray(v) ? null : (v as PyValue)]); // links are not resolved at validation time
    }
    if (args.length === 0) {
      throw new PyException(
        'TypeError',
        `${def.name}.VALIDATE_INPUTS() missing 1 required positional argument: 'image'`,
      );
    }
    const errors: ErrorObj[] = [];
    for (const [x, v] of args) {
      if (typeof v !== 'string') {
        throw new PyException('AttributeError', `'${pyTypeName(v)}' object has no attribute 'endswith'`);
      }
      if (!this.env.annotatedFileExists(v)) {
        errors.push(
          err('custom_validation_failed', 'Custom validation failed for node', `${x} - Invalid image file: ${v}`, {
            input_name: x,
          }),
        );
      }
    }
    return errors;
  }
}

/** Phase A: first failure wins, node_errors {}. Returns the output node ids, or an error object. */
function phaseA(prompt: PyDict, targets: PyValue | undefined, registry: NodeRegistry): ErrorObj | string[] {
  const outputs: string[] = [];
  for (const id of keysOf(prompt)) {
    const node = prompt[id];
    if (!isDict(node)) throw new PyException('TypeError', `argument of type '${pyTypeName(node)}' is not iterable`);
    if (!Object.hasOwn(node, 'class_type')) {
      return err(
        'invalid_prompt',
        'Cannot execute because a node is missing the class_type property.',
        `Node ID '#${id}'`,
        {},
      );
    }
    const cls = node.class_type;
    if (Array.isArray(cls) || isDict(cls)) throw new PyException('TypeError', `unhashable type: '${pyTypeName(cls)}'`);
    const def = typeof cls === 'string' ? registry.visible(cls) : undefined;
    if (!def) {
      return err('invalid_prompt', `Cannot execute because node ${pyStr(cls)} does not exist.`, `Node ID '#${id}'`, {});
    }
    if (def.outputNode && isTarget(id, targets)) outputs.push(id);
  }
  if (outputs.length === 0) return err('prompt_no_outputs', 'Prompt has no outputs', '', {});
  return outputs;
}

function isTarget(id: string, targets: PyValue | undefined): boolean {
  if (targets === undefined || targets === null) return true;
  if (Array.isArray(targets)) return targets.includes(id);
  if (typeof targets === 'string') return targets.includes(id);
  throw new PyException('TypeError', `argument of type '${pyTypeName(targets)}' is not iterable`);
}

/**
 * Validate (and coerce in place) an API-format prompt. Throws for inputs that make ComfyUI's handler
 * raise (the HTTP layer turns those into a plain 500).
 */
export function validatePrompt(prompt: PyValue, targets: PyValue | undefined, env: ValidationEnv): ValidationResult {
  if (!isDict(prompt)) throw new PyException('TypeError', `'${pyTypeName(prompt)}' object is not iterable`);
  const outputs = phaseA(prompt, targets, env.registry);
  if (!Array.isArray(outputs)) return { ok: false, error: outputs, nodeErrors: {} };

  const v = new Validator(prompt, env);
  const good: string[] = [];
  const failures: Array<[string, ErrorObj[]]> = [];
  const nodeErrors = new Map<string, NodeErrorEntry>();
  for (const o of outputs) {
    let verdict: Verdict;
    try {
      verdict = v.validateNode(o);
    } catch (e) {
      if (!(e instanceof PyException)) throw e;
      verdict = {
        ok: false,
        errors: [
          err('exception_during_validation', 'Exception when validating node', e.message, {
            exception_type: e.type,
            traceback: fakeTraceback('validate_prompt'),
          }),
        ],
      };
      v.validated.set(o, verdict);
    }
    if (verdict.ok) {
      good.push(o);
      continue;
    }
    failures.push([o, verdict.errors]);
    // Faithful quirk: every node with errors seen so far gets this output appended, related or not.
    for (const [nodeId, result] of v.validated) {
      if (result.ok || result.errors.length === 0) continue;
      let entry = nodeErrors.get(nodeId);
      if (!entry) {
        entry = {
          errors: result.errors,
          dependent_outputs: [],
          class_type: (prompt[nodeId] as PyDict).class_type as string,
        };
        nodeErrors.set(nodeId, entry);
      }
      entry.dependent_outputs.push(o);
    }
  }
  const errorsDict = orderedDict([...nodeErrors] as unknown as Array<[string, PyValue]>) as unknown as Record<
    string,
    NodeErrorEntry
  >;
  if (good.length > 0) return { ok: true, outputs: good, nodeErrors: errorsDict };
  const details = failures.flatMap(([, errs]) => errs.map((e) => `${e.message}: ${e.details}`)).join('\n');
  return {
    ok: false,
    error: err('prompt_outputs_failed_validation', 'Prompt outputs failed validation', details, {}),
    nodeErrors: errorsDict,
  };
}
