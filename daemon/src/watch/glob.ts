/**
 * Glob patterns for watch rules. chokidar 4+ dropped globs, so the few forms people write are compiled here:
 * `*` and `?` (not across `/`), `**` (any depth), `{a,b}` and `[abc]`/`[!abc]`. Case-insensitive, because
 * cameras and Windows tools write `.PNG` and `.JPG`.
 */
const escape = (c: string) => c.replace(/[.+^$()|\\\]]/g, '\\$&');

function charClass(glob: string, i: number): { re: string; next: number } | null {
  const end = glob.indexOf(']', i + 2);
  if (end < 0) return null;
  let body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
  if (body.startsWith('!')) body = `^${body.slice(1)}`;
  return { re: `[${body}]`, next: end + 1 };
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  let depth = 0;
  for (let i = 0; i < glob.length;) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 3 : 2;
      continue;
    }
    if (c === '[') {
      const cls = charClass(glob, i);
      if (cls) {
        re += cls.re;
        i = cls.next;
        continue;
      }
    }
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') ((re += '(?:'), depth++);
    else if (c === '}' && depth > 0) ((re += ')'), depth--);
    else if (c === ',' && depth > 0) re += '|';
    else re += escape(c);
    i++;
  }
  if (depth > 0) throw new Error(`unclosed { in pattern '${glob}'`);
  return new RegExp(`^${re}$`, 'i');
}

/** A pattern without `/` matches the file name at any depth (as in .gitignore); with `/`, the relative path. */
export function compileGlobs(patterns: readonly string[]): (relPath: string) => boolean {
  const compiled = patterns.map((p) => ({ re: globToRegExp(p.replace(/^\.\//, '')), onName: !p.includes('/') }));
  return (rel) => {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    return compiled.some((c) => c.re.test(c.onName ? name : rel));
  };
}
