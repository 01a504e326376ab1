// The freshness check `bin/comfygate.js` runs before every command, so it must stay cheap: one read of the
// manifest and one stat per source file the last build read (a few milliseconds for the whole daemon).
import fs from 'node:fs';
import path from 'node:path';

/** The manifest of the last build in `dist`, or null when there is none or it is unreadable. */
export function readManifest(dist) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dist, 'manifest.json'), 'utf8'));
  } catch {
    return null;
  }
}

/** Why the build in `dist` cannot be used as is (a sentence), or null when it is current. */
export function staleReason(dist) {
  const m = readManifest(dist);
  if (!m) return 'no build yet';
  if (!fs.existsSync(path.join(dist, m.entry))) return 'the build is incomplete';
  for (const rel of m.inputs) {
    const file = path.resolve(dist, rel);
    let mtime;
    try {
      mtime = fs.statSync(file).mtimeMs;
    } catch {
      return `${file} was removed`;
    }
    if (mtime >= m.builtAt) return `${file} changed`;
  }
  return null;
}
