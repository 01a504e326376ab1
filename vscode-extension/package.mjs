// `pnpm --filter comfygate-vscode package`: the bundled extension as dist/comfygate-<version>.vsix. Dependencies
// are bundled by build.mjs, so vsce packs no node_modules (and never runs npm in this pnpm workspace).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { version } = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
const out = path.join(here, 'dist', `comfygate-${version}.vsix`);
const vsce = createRequire(import.meta.url).resolve('@vscode/vsce/vsce');
const flags = ['--no-dependencies', '--skip-license', '--allow-missing-repository', '--no-rewrite-relative-links'];
execFileSync(process.execPath, [vsce, 'package', ...flags, '-o', out], {
  cwd: here,
  stdio: 'inherit',
});
console.log(out);
