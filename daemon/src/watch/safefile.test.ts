import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { readWatched } from './safefile.js';

// Swaps two names atomically (renameat2 RENAME_EXCHANGE) as fast as it can, for argv[3] seconds.
const SWAPPER = `import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, end = sys.argv[1].encode(), sys.argv[2].encode(), time.time() + float(sys.argv[3])
while time.time() < end:
    if libc.renameat2(-100, a, -100, b, 2) != 0: sys.exit(3)
`;

const NAME =
  'a folder on the way swapped for a symlink out of the watched folder while a file is opened is never read through';
it.runIf(process.platform === 'linux')(
  NAME,
  async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cg-safefile-')));
    const root = path.join(dir, 'watched');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'private'));
    fs.writeFileSync(path.join(root, 'sub', 'prompt.txt'), 'inside');
    fs.writeFileSync(path.join(dir, 'private', 'prompt.txt'), 'SECRET');
    // Whoever can write into a recursive rule's folder can do this: `sub` and `link` trade places endlessly.
    fs.symlinkSync(path.join(dir, 'private'), path.join(root, 'link'));
    const swapper = spawn('python3', ['-c', SWAPPER, path.join(root, 'sub'), path.join(root, 'link'), '10'], {
      stdio: 'ignore',
    });
    const seen = { inside: 0, SECRET: 0, refused: 0 };
    try {
      const end = Date.now() + 3000;
      while (Date.now() < end && swapper.exitCode === null) {
        const text = await readWatched(root, path.join(root, 'sub', 'prompt.txt'), 1000).then(
          (b) => b.toString(),
          () => 'refused',
        );
        seen[text as keyof typeof seen]++;
      }
      expect(swapper.exitCode, 'the swapper ran (renameat2 available)').toBeNull();
    } finally {
      swapper.kill();
      if (swapper.exitCode === null) await once(swapper, 'exit');
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // The race was run (both outcomes happened), and the private file never came through.
    expect(seen.inside, JSON.stringify(seen)).toBeGreaterThan(0);
    expect(seen.refused, JSON.stringify(seen)).toBeGreaterThan(0);
    expect(seen.SECRET, JSON.stringify(seen)).toBe(0);
  },
  20_000,
);
