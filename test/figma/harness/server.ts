import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ensurePluginBuilt } from '../plugin-build.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><title>Figma harness</title></head>' +
  '<body><script src="/harness.js"></script></body></html>';

/** Serves the harness page, its script, and the plugin's built code.js and ui.html on 127.0.0.1:0. */
export async function startHarness(): Promise<{ url: string; close(): Promise<void> }> {
  const plugin = await ensurePluginBuilt();
  const bundle = await build({
    entryPoints: [path.join(here, 'entry.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    platform: 'browser',
    logLevel: 'warning',
  });
  const files: Record<string, [string, string]> = {
    '/': ['text/html', PAGE],
    '/harness.js': ['text/javascript', bundle.outputFiles[0]!.text],
    '/code.js': ['text/javascript', plugin.code],
    '/ui.html': ['text/html', plugin.html],
  };
  const server = http.createServer((req, res) => {
    const f = files[(req.url ?? '/').split('?')[0]!];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': `${f[0]}; charset=utf-8`, 'cache-control': 'no-store' }).end(f[1]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
