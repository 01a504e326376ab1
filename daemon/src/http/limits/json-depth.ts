/**
 * The deepest nesting of arrays and objects in a JSON text, stopping as soon as it passes `max`. A linear scan
 * without recursion, run before any parser: recursive parsers, zod and our own walkers overflow the stack
 * on a few thousand levels, which would be a 500 instead of a 400.
 */
export function jsonDepthOver(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
