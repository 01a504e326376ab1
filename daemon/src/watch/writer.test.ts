import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { WatchFileRecord } from '../store/watch.js';
import type { ActiveRule } from './rules.js';
import { writeError } from './writer.js';

// Swaps two names atomically (renameat2 RENAME_EXCHANGE) as fast as it can, for argv[3] seconds.
const SWAPPER = `import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, end = sys.argv[1].encode(), sys.argv[2].encode(), time.time() + float(sys.argv[3])
while time.time() < end:
    if libc.renameat2(-100, a, -100, b, 2) != 0: sys.exit(3)
`;

it.runIf(process.platform === 'linux')(
  'a sub-folder swapped for a symlink while a report is written never sends a file out of the folder',
  async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cg-writer-')));
    const root = path.join(dir, 'watched');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'private'));
    fs.symlinkSync(path.join(dir, 'private'), path.join(root, 'link'));
    const rule = { root, outRoot: null, ours: new Set<string>() } as unknown as ActiveRule;
    const row = { path: 'sub/prompt.txt', sha256: 'a'.repeat(64) } as WatchFileRecord;
    const swapper = spawn('python3', ['-c', SWAPPER, path.join(root, 'sub'), path.join(root, 'link'), '10'], {
      stdio: 'ignore',
    });
    const seen = { written: 0, refused: 0 };
    let leaked: string[];
    try {
      const end = Date.now() + 3000;
      while (Date.now() < end && swapper.exitCode === null) {
        await writeError(rule, row, 'refused', null).then(
          () => seen.written++,
          () => seen.refused++,
        );
      }
      expect(swapper.exitCode, 'the swapper ran (renameat2 available)').toBeNull();
    } finally {
      swapper.kill();
      if (swapper.exitCode === null) await once(swapper, 'exit');
      leaked = fs.readdirSync(path.join(dir, 'private'));
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // The race was run (written and refused both happened), and nothing, not even a temp file, reached the other folder.
    expect(seen.written, JSON.stringify(seen)).toBeGreaterThan(0);
    expect(seen.refused, JSON.stringify(seen)).toBeGreaterThan(0);
    expect(leaked.slice(0, 5)).toEqual([]);
  },
  20_000,
);
