import { constants } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { relInside } from './rules.js';
import { openedPath } from './safefile.js';

/** A folder held open, and names in it that the kernel resolves from the open folder, not by walking its path again. */
export interface PinnedDir {
  /** Where to reach `name` inside the folder. */
  at(name: string): string;
  close(): Promise<void>;
}

/**
 * Opens `dir` and checks that the folder opened is `base` or inside it. Whoever can write into a watched folder can
 * swap a sub-folder for a symlink between a check of the path and a write through it, and send outputs and error
 * files into any folder the daemon may write. On Linux the names are then reached through /proc/self/fd/N, the
 * folder that was checked whatever its path leads to now; elsewhere (no /proc) through the path, as checked.
 */
export async function pinDir(dir: string, base: string): Promise<PinnedDir> {
  const handle = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  const opened = await openedPath(handle.fd);
  if (opened !== null && opened !== base && relInside(base, opened) === null) {
    await handle.close();
    throw new Error(`output folder ${dir} resolves outside ${base} (a symlink?)`);
  }
  const via = opened === null ? dir : `/proc/self/fd/${handle.fd}`;
  return { at: (name) => path.join(via, name), close: () => handle.close() };
}
