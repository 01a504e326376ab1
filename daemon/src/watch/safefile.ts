import crypto from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from './input-error.js';
import { relInside } from './rules.js';

/**
 * Every read of a watched path goes through here. The folder belongs to whoever can write into it, so a name
 * seen at discovery proves nothing at read time: a file may since have become a symlink out of the folder, a
 * FIFO that blocks a thread-pool thread forever on open, or a sparse file of a terabyte. The checks run on the
 * opened descriptor, each time the file is read.
 */

/** A slow disk or a network mount may not block the feeder longer than this per file. */
const READ_TIMEOUT_MS = 10_000;
const CHUNK = 64 * 1024;

export interface WatchedFile {
  handle: FileHandle;
  /** Size on the descriptor when opened; reads stop at `maxBytes` even if the file grows. */
  size: number;
}

const kindOfStat = (st: Stats) =>
  st.isFIFO()
    ? 'a FIFO'
    : st.isSocket()
      ? 'a socket'
      : st.isCharacterDevice() || st.isBlockDevice()
        ? 'a device'
        : st.isDirectory()
          ? 'a folder'
          : 'not a regular file';

const sameFile = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;

/** Linux hands out names that are not UTF-8 as lossy strings that name no file: say so instead of "gone". */
async function badName(abs: string): Promise<InputError | null> {
  if (!path.basename(abs).includes('\uFFFD')) return null;
  const names = await fsp.readdir(path.dirname(abs), { encoding: 'buffer' }).catch(() => [] as Buffer[]);
  const lossy = names.find(
    (n) => n.toString('utf8') === path.basename(abs) && !Buffer.from(n.toString('utf8')).equals(n),
  );
  return lossy
    ? new InputError(`the file name is not valid UTF-8 (bytes ${lossy.toString('hex')}); rename it to process it`)
    : null;
}

/** Where `abs` really is, if that is inside `root`. ENOENT passes through (the file went away). */
async function realInside(root: string, abs: string): Promise<string> {
  const real = await fsp.realpath(abs).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw (await badName(abs)) ?? err;
    throw err;
  });
  if (relInside(root, real) === null) throw new InputError(`${path.basename(abs)} leads outside the watched folder`);
  return real;
}

/**
 * The path the kernel opened `fd` at, or null where there is no /proc (then the path checks below stand alone).
 * O_NOFOLLOW guards the last name only: a folder on the way swapped for a symlink between the checks and the
 * open (and back before the re-checks) leads the open elsewhere, which only the descriptor itself can tell.
 */
export async function openedPath(fd: number): Promise<string | null> {
  return fsp.readlink(`/proc/self/fd/${fd}`).catch(() => null);
}

/**
 * Opens a watched file for reading, or throws InputError: not a regular file (refused before any open, so a
 * FIFO or a device is never opened), larger than `maxBytes` (refused by its size, before a byte is read), or
 * its real path is not inside `root`. The opened descriptor is compared with the path (lstat + realpath) so
 * a swap between the checks and the open is caught, and where the kernel says which file it opened, that
 * file must be inside `root` too.
 */
export async function openWatched(root: string, abs: string, maxBytes: number): Promise<WatchedFile> {
  const real = await realInside(root, abs);
  const before = await fsp.lstat(real);
  if (!before.isFile()) throw new InputError(`${path.basename(abs)} is ${kindOfStat(before)}, not a regular file`);
  if (before.size > maxBytes)
    throw new InputError(`${path.basename(abs)}: ${before.size} bytes is more than the ${maxBytes} allowed`);
  // O_NONBLOCK: were it swapped for a FIFO since the lstat, open must not wait for a writer.
  const handle = await fsp.open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new InputError(`${path.basename(abs)} is ${kindOfStat(st)}, not a regular file`);
    const opened = await openedPath(handle.fd);
    if (opened !== null && relInside(root, opened) === null)
      throw new InputError(`${path.basename(abs)} leads outside the watched folder`);
    if (!sameFile(st, before) || (await realInside(root, real)) !== real || !sameFile(st, await fsp.lstat(real))) {
      throw new InputError(`${path.basename(abs)} was replaced while it was being opened`);
    }
    if (st.size > maxBytes)
      throw new InputError(`${path.basename(abs)}: ${st.size} bytes is more than the ${maxBytes} allowed`);
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * An opened watched file chunk by chunk: at most `maxBytes` (a file that grew past it is refused) and within
 * READ_TIMEOUT_MS, so hashing or copying never holds more than a chunk nor waits on a stuck mount forever.
 */
export async function* chunksOf(f: WatchedFile, maxBytes: number): AsyncGenerator<Buffer> {
  const deadline = Date.now() + READ_TIMEOUT_MS;
  let total = 0;
  for (;;) {
    const buf = Buffer.alloc(CHUNK);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new InputError(`reading took longer than ${READ_TIMEOUT_MS / 1000} s`)),
        Math.max(0, deadline - Date.now()),
      );
    });
    const { bytesRead } = await Promise.race([f.handle.read(buf, 0, CHUNK, total), timeout]).finally(() =>
      clearTimeout(timer),
    );
    if (bytesRead === 0) return;
    total += bytesRead;
    if (total > maxBytes)
      throw new InputError(`more than the ${maxBytes} bytes allowed (the file grew while it was read)`);
    yield buf.subarray(0, bytesRead);
  }
}

/**
 * Closes without waiting: FileHandle.close() waits for pending reads, and a read that timed out on a stuck
 * mount may never finish; the descriptor is released when it does.
 */
export function release(f: WatchedFile): void {
  void f.handle.close().catch(() => {});
}

/** The whole file, bounded as above. */
export async function readWatched(root: string, abs: string, maxBytes: number): Promise<Buffer> {
  const f = await openWatched(root, abs, maxBytes);
  try {
    const parts: Buffer[] = [];
    for await (const c of chunksOf(f, maxBytes)) parts.push(c);
    return Buffer.concat(parts);
  } finally {
    release(f);
  }
}

/** sha256 of a watched file, read as above; null when it does not exist (an optional sidecar). */
export async function hashWatched(root: string, abs: string, maxBytes: number): Promise<string | null> {
  const f = await openWatched(root, abs, maxBytes).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!f) return null;
  try {
    const hash = crypto.createHash('sha256');
    for await (const c of chunksOf(f, maxBytes)) hash.update(c);
    return hash.digest('hex');
  } finally {
    release(f);
  }
}
