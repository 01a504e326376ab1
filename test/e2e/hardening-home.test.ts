import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import sharp from 'sharp';
import { request } from 'undici';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startChildDaemon } from '../helpers/child-daemon.js';
import { makeHome } from '../helpers/daemon.js';

const mode = (p: string) => fs.statSync(p).mode & 0o777;

/** Every directory and file under `dir` with a mode other than owner-only. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    if (mode(d) !== 0o700) found.push(`${d} ${mode(d).toString(8)}`);
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && (st.mode & 0o777) !== 0o600) found.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    }
  };
  walk(dir);
  return found;
}

it('COMFYGATE_HOME and everything in it is owner-only; an existing loose home is tightened at start, with a log line', async () => {
  await using fake = await startFakeComfy();
  const parent = makeHome();
  const home = path.join(parent, 'home');
  const saved = process.umask(0o022); // the usual umask: without explicit modes files would come out 0644
  try {
    {
      await using d = await startChildDaemon({ backends: [{ name: 'a', url: fake.url }], home });
      const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } })
        .png()
        .toBuffer();
      const headers = { authorization: `Bearer ${d.token}`, 'content-type': 'image/png' };
      const up = await request(d.url + '/v1/assets', { method: 'POST', headers, body: png });
      expect(up.statusCode).toBe(201);
      await up.body.dump();
      expect(fs.existsSync(path.join(home, 'comfygate.db-wal'))).toBe(true);
      expect(openToOthers(home)).toEqual([]);
    }
    // A home made by an older version (or by hand) with the usual 0755/0644.
    const loosen = (d: string) => {
      fs.chmodSync(d, 0o755);
      for (const name of fs.readdirSync(d)) {
        const p = path.join(d, name);
        if (fs.lstatSync(p).isDirectory()) loosen(p);
        else fs.chmodSync(p, 0o644);
      }
    };
    loosen(home);
    expect(openToOthers(home).length).toBeGreaterThan(5);
    {
      await using d = await startChildDaemon({ backends: [{ name: 'a', url: fake.url }], home, logLevel: 'info' });
      expect(openToOthers(home)).toEqual([]);
      expect(d.output()).toMatch(/tightened permissions of .*home/);
    }
  } finally {
    process.umask(saved);
    fs.rmSync(parent, { recursive: true, force: true });
  }
});
