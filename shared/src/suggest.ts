/** Edit distance with adjacent transpositions (optimal string alignment): `smapler` is one edit from `sampler`. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** Longer names get no suggestion: the edit distance is a name × candidate table, and nobody misspells 65 letters. */
export const MAX_SUGGESTED_NAME = 64;

/**
 * The candidates close enough to `name` to be what was meant, nearest first (at most `max`): within a third of
 * the name's length in edits, or containing it (`lighthouse` for `light`), compared case-insensitively.
 */
export function nearest(name: string, candidates: readonly string[], max = 3): string[] {
  const n = name.toLowerCase();
  if (!n || n.length > MAX_SUGGESTED_NAME) return [];
  const limit = Math.max(1, Math.floor(n.length / 3));
  return [...new Set(candidates)]
    .map((c) => {
      const l = c.toLowerCase();
      // The distance is at least the difference in length: skip the table when that is already too far.
      const dist = Math.abs(n.length - l.length) <= limit ? editDistance(n, l) : Infinity;
      return {
        c,
        score: dist <= limit ? dist : n.length >= 3 && (l.includes(n) || n.includes(l)) ? limit + 0.5 : Infinity,
      };
    })
    .filter((x) => x.score !== Infinity && x.c !== name)
    .sort((a, b) => a.score - b.score || a.c.localeCompare(b.c))
    .slice(0, max)
    .map((x) => x.c);
}

/** ` (did you mean 'steps'?)`, or '' when nothing is close. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const near = nearest(name, candidates);
  return near.length ? ` (did you mean ${near.map((c) => `'${c}'`).join(' or ')}?)` : '';
}
