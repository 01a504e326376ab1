import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../helpers/process.js';

export const pluginDir = path.join(repoRoot, 'figma-plugin');
export const distDir = path.join(pluginDir, 'dist');
const OUTPUTS = ['manifest.json', 'code.js', 'ui.html'];
const INPUTS = [
  ...['src', 'manifest.json', 'build.mjs'].map((f) => path.join(pluginDir, f)),
  path.join(repoRoot, 'shared', 'src'),
];

function newest(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...fs.readdirSync(p).map((f) => newest(path.join(p, f))));
}

/** Tests use the real build: made here when dist/ is missing or older than any source it is built from. */
export async function ensurePluginBuilt(): Promise<{ code: string; html: string; manifest: unknown }> {
  const outs = OUTPUTS.map((f) => path.join(distDir, f));
  const stale =
    outs.some((f) => !fs.existsSync(f)) ||
    Math.max(...INPUTS.map(newest)) > Math.min(...outs.map((f) => fs.statSync(f).mtimeMs));
  if (stale) {
    const { buildPlugin } = (await import(pathToFileURL(path.join(pluginDir, 'build.mjs')).href)) as {
      buildPlugin(): Promise<string>;
    };
    await buildPlugin();
  }
  const read = (f: string) => fs.readFileSync(path.join(distDir, f), 'utf8');
  return { code: read('code.js'), html: read('ui.html'), manifest: JSON.parse(read('manifest.json')) };
}
