// Bundles the extension (Node, CommonJS: VS Code 1.100 loads extensions with require) and the gallery's page
// script (browser), and writes the manifest's JSON schema from the zod schema so the two never drift.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const production = process.env.NODE_ENV !== 'development';

await esbuild.build({
  entryPoints: [path.join(here, 'src/extension.ts')],
  outfile: path.join(here, 'dist/extension.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  // jsonc-parser's `main` is a UMD build that requires its parts at run time; its ESM build bundles.
  mainFields: ['module', 'main'],
  minify: production,
  sourcemap: !production,
  logLevel: 'warning',
});

await esbuild.build({
  entryPoints: [path.join(here, 'src/gallery/webview/main.ts')],
  outfile: path.join(here, 'media/gallery.js'),
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  minify: production,
  logLevel: 'warning',
});

// The schema module is TypeScript: bundle it to a temporary ESM file and import that.
const tmp = path.join(here, 'dist/.schema.mjs');
await esbuild.build({
  stdin: {
    contents: "export { manifestJsonSchema } from './src/manifest/jsonschema.ts';",
    resolveDir: here,
    loader: 'ts',
  },
  outfile: tmp,
  bundle: true,
  platform: 'node',
  format: 'esm',
  logLevel: 'warning',
});
const { manifestJsonSchema } = await import(`${tmp}?${Date.now()}`);
fs.rmSync(tmp);
fs.mkdirSync(path.join(here, 'schemas'), { recursive: true });
fs.writeFileSync(
  path.join(here, 'schemas/comfygate.assets.schema.json'),
  `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`,
);
console.log('built dist/extension.cjs, media/gallery.js, schemas/comfygate.assets.schema.json');
