/** Plain-text rendering shared by the commands: aligned tables, relative times, masked secrets. */

/** Cells hold what people named things (templates, rules, jobs): one line each, nothing a terminal would obey. */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map((r) => r.map((c) => printable(c).replace(/[\n\t]/g, ' ')));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** "12s ago" / "in 4m": short enough for a table column. */
export function relative(at: number, now = Date.now()): string {
  const diff = Math.round((at - now) / 1000);
  const abs = Math.abs(diff);
  const span =
    abs < 60
      ? `${abs}s`
      : abs < 3600
        ? `${Math.floor(abs / 60)}m`
        : abs < 86_400
          ? `${Math.floor(abs / 3600)}h`
          : `${Math.floor(abs / 86_400)}d`;
  // By the raw difference: a moment ago rounds to 0 s, and must still read as the past.
  return at <= now ? `${span} ago` : `in ${span}`;
}

/** Enough of a token to recognise it, not enough to use it. */
export function mask(token: string): string {
  if (token.length <= 10) return '*'.repeat(token.length);
  return `${token.slice(0, 6)}…${token.slice(-4)}`;
}

export function truncate(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/**
 * Words a job brought back (a text output, a backend's error) for a terminal: control characters are shown as
 * `\x1b`, never obeyed (an OSC 52 sequence would write the clipboard). Newlines and tabs stay.
 */
// eslint-disable-next-line no-control-regex -- the characters a terminal would act on
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
export const printable = (text: string): string =>
  text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** Check marks when a terminal will render them, plain words when the output goes to a file or a pipe. */
export function marks(tty: boolean): { ok: string; warn: string; fail: string } {
  return tty ? { ok: '✔', warn: '!', fail: '✖' } : { ok: '[ok]', warn: '[warn]', fail: '[FAIL]' };
}
