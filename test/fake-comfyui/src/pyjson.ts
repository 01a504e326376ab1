// Python-compatible JSON for the fake. ComfyUI reads bodies with Python's json module and answers with
// json.dumps, so to be faithful we need: integers of any size (seeds go up to 2^64-1), a distinction
// between ints and floats ("cfg": 8.0 stays 8.0, str(5) is "5" but str(5.0) is "5.0"), Python's
// separators (", " and ": ") and ensure_ascii escaping.

/** A Python float. Plain JS numbers stand for Python ints when integral. */
export class PyFloat {
  constructor(readonly value: number) {}
}

export type PyValue = null | boolean | number | bigint | PyFloat | string | PyValue[] | PyDict;
export interface PyDict {
  [key: string]: PyValue;
}

/**
 * JS objects list integer-like keys ("3", "10") first and in numeric order; Python dicts keep insertion
 * order. Where they differ we remember the real order under this symbol (non-enumerable).
 */
const KEY_ORDER = Symbol('pyjson.keyOrder');

function attachOrder(obj: PyDict, keys: string[]): void {
  const natural = Object.keys(obj);
  if (natural.length === keys.length && natural.every((k, i) => k === keys[i])) return;
  Object.defineProperty(obj, KEY_ORDER, { value: keys, enumerable: false, configurable: true, writable: true });
}

/** Keys of a dict in Python order: recorded order first, keys added later at the end. */
export function keysOf(obj: object): string[] {
  const own = Object.keys(obj);
  const recorded = (obj as { [KEY_ORDER]?: string[] })[KEY_ORDER];
  if (!recorded) return own;
  const present = new Set(own);
  const out = recorded.filter((k) => present.has(k));
  if (out.length !== own.length) {
    const seen = new Set(out);
    for (const k of own) if (!seen.has(k)) out.push(k);
  }
  return out;
}

/** A dict with keys in exactly this order (as Python would build it). */
export function orderedDict(entries: Iterable<[string, PyValue]>): PyDict {
  const out: PyDict = {};
  const keys: string[] = [];
  for (const [k, v] of entries) {
    if (!Object.hasOwn(out, k)) keys.push(k);
    Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
  }
  attachOrder(out, keys);
  return out;
}

export function isDict(v: unknown): v is PyDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof PyFloat);
}

/** Numeric value of an int/float, or undefined for anything else (bool counts, as in Python). */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

// ---------- parsing ----------

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDocument(): PyValue {
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) this.fail('Extra data');
    return v;
  }

  private fail(msg: string): never {
    throw new SyntaxError(`${msg}: char ${this.i}`);
  }

  private ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  private value(): PyValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === undefined) this.fail('Expecting value');
    for (const [word, val] of WORDS) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return val;
      }
    }
    return this.number();
  }

  private object(): PyDict {
    const entries: Array<[string, PyValue]> = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return {};
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('Expecting property name enclosed in double quotes');
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("Expecting ':' delimiter");
      this.i++;
      entries.push([key, this.value()]);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return orderedDict(entries);
      if (c !== ',') this.fail("Expecting ',' delimiter");
    }
  }

  private array(): PyValue[] {
    const out: PyValue[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail("Expecting ',' delimiter");
    }
  }

  private string(): string {
    const s = this.s;
    let i = this.i + 1;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= s.length) this.fail('Unterminated string');
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) {
        this.i = i;
        this.fail('Invalid control character');
      }
      if (c === 0x5c) {
        out += s.slice(start, i);
        const e = s[i + 1];
        if (e === 'u') {
          const hex = s.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('Invalid \\uXXXX escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else {
          const m = ESCAPES[e ?? ''];
          if (m === undefined) this.fail('Invalid \\escape');
          out += m;
          i += 2;
        }
        start = i;
        continue;
      }
      i++;
    }
    out += s.slice(start, i);
    this.i = i + 1;
    return out;
  }

  private number(): PyValue {
    const m = NUMBER_RE.exec(this.s.slice(this.i, this.i + 400));
    if (!m || m[0] === '' || m[0] === '-') this.fail('Expecting value');
    const text = m[0];
    this.i += text.length;
    if (m[1] !== undefined || m[2] !== undefined) return new PyFloat(Number(text));
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n === 0 ? 0 : n;
    return BigInt(text);
  }
}

const NUMBER_RE = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/;
const WORDS: Array<[string, PyValue]> = [
  ['true', true],
  ['false', false],
  ['null', null],
  ['NaN', new PyFloat(NaN)],
  ['Infinity', new PyFloat(Infinity)],
  ['-Infinity', new PyFloat(-Infinity)],
];
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** json.loads: big integers become BigInt, numbers with a fraction or exponent become PyFloat. */
export function parseJson(text: string): PyValue {
  return new Parser(text).parseDocument();
}

// ---------- formatting ----------

/** Python's repr() of a float (shortest round-trip digits, scientific outside 1e-4 <= |v| < 1e16). */
export function floatRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const [mant = '', expStr = '0'] = v.toExponential().split('e');
  const exp = Number(expStr);
  const sign = v < 0 ? '-' : '';
  const digits = mant.replace('-', '').replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp >= 0) {
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    return `${sign}${intPart}.${digits.slice(exp + 1) || '0'}`;
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

function numberRepr(v: number): string {
  return Number.isInteger(v) && Math.abs(v) < 1e21 ? String(v) : floatRepr(v);
}

function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

/** json.dumps(value) with Python's default separators and ensure_ascii=True. */
export function dumpJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return numberRepr(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof PyFloat) {
    if (Number.isNaN(value.value)) return 'NaN';
    if (!Number.isFinite(value.value)) return value.value > 0 ? 'Infinity' : '-Infinity';
    return floatRepr(value.value);
  }
  if (typeof value === 'string') return jsonString(value);
  if (Array.isArray(value)) return `[${value.map((v) => dumpJson(v)).join(', ')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const k of keysOf(value)) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      parts.push(`${jsonString(k)}: ${dumpJson(v)}`);
    }
    return `{${parts.join(', ')}}`;
  }
  return 'null';
}

function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** Python repr() of a JSON-ish value, used where ComfyUI formats values into messages. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return numberRepr(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof PyFloat) return floatRepr(value.value);
  if (typeof value === 'string') return strRepr(value);
  if (Array.isArray(value)) return `[${value.map((v) => pyRepr(v)).join(', ')}]`;
  if (typeof value === 'object') {
    const parts = keysOf(value).map((k) => `${strRepr(k)}: ${pyRepr((value as Record<string, unknown>)[k])}`);
    return `{${parts.join(', ')}}`;
  }
  return String(value);
}

/** Python str(). */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value);
}

/** Python's name for the type of a value, for error texts like "not 'NoneType'". */
export function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number' || typeof value === 'bigint') return Number.isInteger(Number(value)) ? 'int' : 'float';
  if (value instanceof PyFloat) return 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}

/** Deep copy of parsed JSON (PyFloat instances are immutable and shared). */
export function deepCopy<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => deepCopy(v)) as T;
  if (isDict(value)) return orderedDict(keysOf(value).map((k) => [k, deepCopy(value[k] as PyValue)])) as T;
  return value;
}
