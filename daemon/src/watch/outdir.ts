import fs from 'node:fs/promises';
import path from 'node:path';
import { GatewayError } from '../errors.js';

/**
 * Creates a rule's output folder (and its missing parents) and answers its real path, or a 400 saying why not.
 * Each missing folder is made on its own: Node 20's `mkdir(…, { recursive: true })` never settles under a
 * folder where mkdir fails with ENOENT (anywhere in /proc, say), holding a thread-pool thread for good.
 */
export async function ensureOutputDir(dir: string): Promise<string> {
  const fail = (why: string) => new GatewayError({ code: 'bad_request', message: `outputDir ${dir}: ${why}` });
  const missing: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    const st = await fs.stat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw fail(`${p} cannot be read (${err.code ?? err.message})`);
    });
    if (st && !st.isDirectory()) throw fail(`${p} is not a folder`);
    if (st) break;
    missing.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing) {
    await fs.mkdir(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw fail(`${p} cannot be created (${err.code ?? err.message})`);
    });
  }
  return fs.realpath(dir).catch((err: NodeJS.ErrnoException) => {
    throw fail(`cannot be resolved (${err.code ?? err.message})`);
  });
}
