// Builds the plugin into dist/: manifest.json, code.js (the sandbox, one ES2017 file) and ui.html (one file with
// its script and style inlined: Figma loads the UI from a string, so it can fetch nothing of its own).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'dist');
const minify = !process.argv.includes('--dev');

const common = { bundle: true, write: false, minify, legalComments: 'none', logLevel: 'warning', charset: 'utf8' };

export async function buildPlugin() {
  fs.mkdirSync(out, { recursive: true });
  const [code, ui] = await Promise.all([
    build({
      ...common,
      entryPoints: [path.join(here, 'src/code.ts')],
      format: 'iife',
      target: 'es2017',
      platform: 'neutral',
      mainFields: ['module', 'main'],
    }),
    build({
      ...common,
      entryPoints: [path.join(here, 'src/ui/main.ts')],
      format: 'iife',
      target: 'es2020',
      platform: 'browser',
    }),
  ]);
  const css = fs.readFileSync(path.join(here, 'src/ui/style.css'), 'utf8');
  // A literal `</script>` inside the bundle would end the inline script early.
  const script = ui.outputFiles[0].text.replace(/<\/script/gi, '<\\/script');
  const html = fs
    .readFileSync(path.join(here, 'src/ui/index.html'), 'utf8')
    .replace('/*STYLE*/', () => css)
    .replace('/*SCRIPT*/', () => script);
  write('code.js', code.outputFiles[0].text);
  write('ui.html', html);
  write('manifest.json', fs.readFileSync(path.join(here, 'manifest.json'), 'utf8'));
  return out;
}

/** Written whole, then renamed: a test reading dist/ while another builds never sees half a file. */
function write(name, text) {
  const tmp = path.join(out, `.${name}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, path.join(out, name));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = await buildPlugin();
  const size = (f) => `${(fs.statSync(path.join(dir, f)).size / 1024).toFixed(1)} KiB`;
  console.log(`built ${path.relative(process.cwd(), dir)}: code.js ${size('code.js')}, ui.html ${size('ui.html')}`);
}
