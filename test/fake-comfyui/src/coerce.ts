// Python's int(), float(), str() and bool() applied to parsed JSON values, because ComfyUI coerces widget
// literals that way before range checks and writes the result back into the stored prompt (§2.1.1).
import { PyFloat, floatRepr, isDict, pyRepr, pyStr, pyTypeName, type PyValue } from './pyjson.js';

/** A Python exception raised while validating or executing; `type` is the full Python type name. */
export class PyException extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const INT_TEXT = /^\s*[+-]?\d+(?:_\d+)*\s*$/;
const FLOAT_TEXT = /^\s*[+-]?(?:(?:\d+(?:_\d+)*)?\.?\d+(?:_\d+)*(?:[eE][+-]?\d+)?|\d+\.|inf(?:inity)?|nan)\s*$/i;

function intFromBig(b: bigint): number | bigint {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** int(v): truncates floats, parses decimal strings, fails like Python otherwise. */
export function pyInt(v: PyValue): number | bigint {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isInteger(v) ? v : Math.trunc(v);
  if (typeof v === 'bigint') return intFromBig(v);
  if (v instanceof PyFloat) {
    if (Number.isNaN(v.value)) throw new PyException('ValueError', 'cannot convert float NaN to integer');
    if (!Number.isFinite(v.value)) throw new PyException('OverflowError', 'cannot convert float infinity to integer');
    return intFromBig(BigInt(Math.trunc(v.value)));
  }
  if (typeof v === 'string') {
    if (!INT_TEXT.test(v)) throw new PyException('ValueError', `invalid literal for int() with base 10: ${pyRepr(v)}`);
    return intFromBig(BigInt(v.trim().replace(/_/g, '')));
  }
  throw new PyException(
    'TypeError',
    `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(v)}'`,
  );
}

/** float(v). */
export function pyFloat(v: PyValue): PyFloat {
  if (typeof v === 'boolean') return new PyFloat(v ? 1 : 0);
  if (typeof v === 'number') return new PyFloat(v);
  if (typeof v === 'bigint') return new PyFloat(Number(v));
  if (v instanceof PyFloat) return v;
  if (typeof v === 'string') {
    if (!FLOAT_TEXT.test(v)) throw new PyException('ValueError', `could not convert string to float: ${pyRepr(v)}`);
    const t = v.trim().replace(/_/g, '').toLowerCase();
    if (t.includes('nan')) return new PyFloat(NaN);
    if (t.includes('inf')) return new PyFloat(t.startsWith('-') ? -Infinity : Infinity);
    return new PyFloat(Number(t));
  }
  throw new PyException('TypeError', `float() argument must be a string or a real number, not '${pyTypeName(v)}'`);
}

/** bool(v): truthiness, so "false" is True. */
export function pyBool(v: PyValue): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (v instanceof PyFloat) return v.value !== 0; // NaN is truthy in Python too
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  return isDict(v) ? Object.keys(v).length > 0 : true;
}

/** Coerce a literal for a declared widget type; other types pass through unchanged. */
export function coerceLiteral(type: unknown, v: PyValue): PyValue {
  switch (type) {
    case 'INT':
      return pyInt(v);
    case 'FLOAT':
      return pyFloat(v);
    case 'STRING':
      return pyStr(v);
    case 'BOOLEAN':
      return pyBool(v);
    default:
      return v;
  }
}

/** Python comparison a < b for numbers of mixed kinds (int, bigint, float). */
export function pyLess(a: unknown, b: unknown): boolean {
  const ai = typeof a === 'bigint' || (typeof a === 'number' && Number.isInteger(a));
  const bi = typeof b === 'bigint' || (typeof b === 'number' && Number.isInteger(b));
  if (ai && bi) return BigInt(a as number | bigint) < BigInt(b as number | bigint);
  const an = a instanceof PyFloat ? a.value : Number(a);
  const bn = b instanceof PyFloat ? b.value : Number(b);
  return an < bn;
}

/** str() of a number the way Python prints it in messages such as "Value 5 smaller than min of 16". */
export function numStr(v: unknown): string {
  if (v instanceof PyFloat) return floatRepr(v.value);
  return pyStr(v);
}
