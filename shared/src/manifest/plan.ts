import type { Template } from '../templates.js';
import { canonicalJson, inputHash, sha256Hex } from './hash.js';
import { MAIN_VARIANT, resolveEntry, type ResolvedEntry } from './resolve.js';
import type { AssetLock, AssetManifest, ManifestEntry } from './schema.js';

/** Why an entry is (re)generated, or `fresh` when it is skipped. */
export type EntryState = 'fresh' | 'new' | 'changed' | 'missing' | 'modified';

export interface PlannedEntry {
  index: number;
  entry: ManifestEntry;
  resolved: ResolvedEntry;
  hash: string;
  state: EntryState;
}

/** A manifest entry naming what does not exist: the template, or a parameter the template does not have. */
export interface ManifestProblem {
  index: number;
  field: 'template' | 'params' | 'variants';
  /** The offending name (a template or parameter), for editors to place the diagnostic. */
  name: string;
  message: string;
}

/** Parameters every entry may set whatever the template: written by resolveEntry from the entry's own fields. */
const ENTRY_FIELDS: Record<string, string> = {
  prompt: 'prompt',
  negative: 'negative',
  width: 'width',
  height: 'height',
  seed: 'seed',
};

/** The template's graph identity: the daemon's graph sha256, else (older daemons) its id and parameter map. */
export const templateGraphId = (t: Template): string =>
  t.graphSha256 ?? sha256Hex(canonicalJson({ id: t.id, params: t.params }));

export function manifestProblems(manifest: AssetManifest, templates: Template[]): ManifestProblem[] {
  const byName = new Map(templates.map((t) => [t.name, t]));
  const problems: ManifestProblem[] = [];
  manifest.assets.forEach((entry, index) => {
    const r = resolveEntry(manifest, entry);
    if (entry.variants?.[MAIN_VARIANT]) {
      const message = `the variant name '${MAIN_VARIANT}' is the entry's own output; pick another`;
      problems.push({ index, field: 'variants', name: MAIN_VARIANT, message });
    }
    const t = byName.get(r.template);
    if (!t) {
      const known = templates.map((x) => x.name).join(', ');
      problems.push({
        index,
        field: 'template',
        name: r.template,
        message: `no template '${r.template}' on the daemon (known: ${known})`,
      });
      return;
    }
    const names = new Set(t.params.map((p) => p.name));
    for (const key of Object.keys(r.params)) {
      if (names.has(key)) continue;
      const field = ENTRY_FIELDS[key] ? 'template' : 'params';
      problems.push({
        index,
        field,
        name: key,
        message: `template '${t.name}' has no parameter '${key}' (it has: ${[...names].join(', ')})`,
      });
    }
  });
  return problems;
}

/**
 * Which entries to generate. An entry is skipped only when its input hash equals the lock's and every file it
 * writes still has the bytes the lock recorded; `fileSha256` reads a file relative to the manifest (null if absent).
 */
export function planAssets(o: {
  manifest: AssetManifest;
  lock: AssetLock | null;
  templates: Template[];
  fileSha256: (relPath: string) => string | null;
}): PlannedEntry[] {
  const graphs = new Map(o.templates.map((t) => [t.name, templateGraphId(t)]));
  return o.manifest.assets.map((entry, index) => {
    const resolved = resolveEntry(o.manifest, entry);
    const hash = inputHash(resolved, graphs.get(resolved.template) ?? 'unknown-template');
    const locked = o.lock?.assets[entry.output];
    let state: EntryState;
    if (!locked) state = 'new';
    else if (locked.hash !== hash) state = 'changed';
    else state = fileState(resolved, locked, o.fileSha256);
    return { index, entry, resolved, hash, state };
  });
}

function fileState(
  r: ResolvedEntry,
  locked: AssetLock['assets'][string],
  fileSha256: (p: string) => string | null,
): EntryState {
  const expected: [string, string | undefined][] = Object.entries(r.files).map(([name, file]) => [
    file,
    name === MAIN_VARIANT ? locked.sha256 : locked.variants[name]?.sha256,
  ]);
  let state: EntryState = 'fresh';
  for (const [file, sha] of expected) {
    const actual = fileSha256(file);
    if (actual === null || sha === undefined) return 'missing';
    if (actual !== sha) state = 'modified';
  }
  return state;
}

export const isStale = (p: PlannedEntry): boolean => p.state !== 'fresh';
