// Bundles the dashboard (daemon/src/dashboard/app) into daemon/dist/dashboard: hashed, minified script and
// style, an index.html naming them, and .br/.gz copies the daemon serves as they are. `node build.mjs` runs it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DASHBOARD_OUT = path.resolve(here, '../../dist/dashboard');
const STAMP = '.source-stamp';
/** What the bundle is made of: the app and the shared wire contract it imports. */
const SOURCES = [path.join(here, 'app'), path.resolve(here, '../../../shared/src'), fileURLToPath(import.meta.url)];

function listFiles(p) {
  const st = fs.statSync(p);
  if (st.isFile()) return [p];
  return fs.readdirSync(p).flatMap((n) => listFiles(path.join(p, n)));
}

/** A fingerprint of the sources (names, sizes, contents), so tests rebuild only when something changed. */
export function sourceStamp() {
  const h = crypto.createHash('sha256');
  for (const f of SOURCES.flatMap(listFiles).sort()) h.update(f).update(fs.readFileSync(f));
  return h.digest('hex');
}

export function isDashboardStale(outDir = DASHBOARD_OUT) {
  try {
    return (
      fs.readFileSync(path.join(outDir, STAMP), 'utf8') !== sourceStamp() ||
      !fs.existsSync(path.join(outDir, 'index.html'))
    );
  } catch {
    return true;
  }
}

const page = (js, css) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>comfygate</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/${css}">
<script type="module" src="/${js}"></script>
</head>
<body><div id="app"><p class="boot">Loading comfygate…</p></div></body>
</html>
`;

const FAVICON =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#3b5bdb"/>` +
  `<path d="M9 16a7 7 0 0 1 12-5M23 16a7 7 0 0 1-12 5" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round"/></svg>`;

/** Builds into `outDir` (replaced whole); answers the files written with their raw and compressed sizes. */
export async function buildDashboard({ outDir = DASHBOARD_OUT } = {}) {
  const stamp = sourceStamp();
  const tmp = `${outDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const workDir = path.resolve(here, '../..'); // metafile paths relative to daemon/, as daemon/build.mjs reads them
  const result = await esbuild.build({
    absWorkingDir: workDir,
    entryPoints: [path.join(here, 'app/main.ts')],
    bundle: true,
    format: 'esm',
    target: ['chrome115', 'firefox115', 'safari16'],
    platform: 'browser',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    outdir: tmp,
    entryNames: 'assets/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) =>
    path.relative(tmp, path.resolve(workDir, f)).split(path.sep).join('/'),
  );
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`dashboard build made no script or style: ${outputs.join(', ')}`);
  fs.writeFileSync(path.join(tmp, 'index.html'), page(js, css));
  fs.writeFileSync(path.join(tmp, 'favicon.svg'), FAVICON);
  const files = [];
  for (const rel of [...outputs, 'index.html', 'favicon.svg']) {
    const abs = path.join(tmp, rel);
    const raw = fs.readFileSync(abs);
    const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
    const gz = zlib.gzipSync(raw, { level: 9 });
    fs.writeFileSync(`${abs}.br`, br);
    fs.writeFileSync(`${abs}.gz`, gz);
    files.push({ file: rel, bytes: raw.length, br: br.length, gzip: gz.length });
  }
  fs.writeFileSync(path.join(tmp, STAMP), stamp);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  fs.renameSync(tmp, outDir);
  return { outDir, files, metafile: result.metafile };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir, files } = await buildDashboard({
    outDir: process.argv[2] ? path.resolve(process.argv[2]) : DASHBOARD_OUT,
  });
  const n = (v, w) => String(v).padStart(w);
  for (const f of files)
    process.stdout.write(`${f.file.padEnd(36)} ${n(f.bytes, 8)} B  br ${n(f.br, 7)} B  gzip ${n(f.gzip, 7)} B\n`);
  process.stdout.write(`dashboard built in ${outDir}\n`);
}
