import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { INTERNAL } from '@comfygate/daemon';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { makeHome, startTestDaemon } from '../helpers/daemon.js';
import { txt2img } from '../helpers/graphs.js';

/** A full disk needs a tiny file system of its own: a tmpfs, which only root can mount (CI runs as root). */
function mountTinyFs(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const home = makeHome();
const assets = path.join(home, 'assets');
const mounted = mountTinyFs(assets);
if (!mounted) fs.rmSync(home, { recursive: true, force: true });

it.skipIf(!mounted)('a full disk fails the job clearly and leaves no half-written output', async () => {
  try {
    await using fake = await startFakeComfy();
    await using t = await startTestDaemon({ backends: [{ name: 'a', url: fake.url }], home });
    // Fill the asset file system to the last byte.
    try {
      fs.writeFileSync(path.join(assets, 'filler'), Buffer.alloc(128 * 1024));
    } catch {
      /* ENOSPC once full: that is the point */
    }
    const { job } = await t.daemon.submit({ graph: txt2img({ width: 256, height: 256 }) }, { viewer: INTERNAL });
    const failed = await t.waitForState(job.id, ['failed', 'succeeded']);
    expect(failed.state).toBe('failed');
    expect(failed.error?.code).toBe('storage_error');
    expect(failed.error?.message).toMatch(/ENOSPC|no space/i);
    expect(failed.outputs).toEqual([]);
    expect(fs.readdirSync(path.join(assets, 'tmp'))).toEqual([]);
    expect(fs.readdirSync(assets).filter((f) => /^[0-9a-f]{2}$/.test(f))).toEqual([]);
  } finally {
    execFileSync('umount', [assets]);
    fs.rmSync(home, { recursive: true, force: true });
  }
});
