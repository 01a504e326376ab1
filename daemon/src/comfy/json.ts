/** JSON.stringify that writes bigint values as plain integers, so seeds above 2^53 stay exact on the wire. */
export function stringifyGraph(value: unknown): string {
  const marker = '__comfygate_bigint__';
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${marker}${v.toString()}` : v));
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1');
}

/** A copy with every bigint as its digit string, for JSON kept as text and read back with JSON.parse (job metadata, chain steps). */
export function bigintsAsStrings<T>(value: T): T {
  return value === undefined
    ? value
    : (JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as T);
}
