export interface JsonScan {
  /** Nesting of arrays and objects went past the limit (the scan stopped there). */
  tooDeep: boolean;
  /** A number with 16 or more digits: it may not survive a float64, so the body needs the lossless parser. */
  longNumbers: boolean;
}

/**
 * One linear pass over a JSON text, without recursion, before any parser runs: recursive parsers, zod and our own
 * walkers overflow the stack on a few thousand levels (a 500, not a 400), and the lossless parser, pure JavaScript,
 * takes seconds on a 10 MB body (a stalled event loop) while the native one needs milliseconds.
 */
export function scanJson(text: string, maxDepth: number): JsonScan {
  let depth = 0;
  let digits = 0;
  let longNumbers = false;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c >= 0x30 && c <= 0x39) {
      if (++digits >= 16) longNumbers = true;
      continue;
    }
    digits = 0;
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return { tooDeep: true, longNumbers };
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return { tooDeep: false, longNumbers };
}
