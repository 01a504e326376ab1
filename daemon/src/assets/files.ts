import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GatewayError } from '../errors.js';

export interface StoredFile {
  sha256: string;
  bytes: number;
}

/**
 * Content-addressed files: `<root>/ab/abcdef…` named by sha256. Writes go to `<root>/tmp` first and are
 * renamed into place only once complete, so a half-written file (disk full, dropped connection) is never served.
 */
export class AssetFiles {
  constructor(readonly root: string) {
    fs.mkdirSync(path.join(root, 'tmp'), { recursive: true, mode: 0o700 }); // prompts' images: owner only
    this.sweepStaleTemp();
  }

  /** Temp files a crash left behind; only old ones, as another process may share this home (offline submit). */
  private sweepStaleTemp(maxAgeMs = 60 * 60_000): void {
    const dir = path.join(this.root, 'tmp');
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      try {
        if (Date.now() - fs.statSync(file).mtimeMs > maxAgeMs) fs.rmSync(file, { force: true });
      } catch {
        /* gone meanwhile */
      }
    }
  }

  pathFor(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256))
      throw new GatewayError({ code: 'bad_request', message: 'not a sha256 hex digest' });
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return fsp.access(this.pathFor(sha256)).then(
      () => true,
      () => false,
    );
  }

  /** `inspect` sees the complete temp file before it is published, and may refuse it by throwing. */
  async write(
    source: Readable | AsyncIterable<Uint8Array>,
    opts: { maxBytes?: number; inspect?: (tmpPath: string) => Promise<void> } = {},
  ): Promise<StoredFile> {
    const tmp = path.join(this.root, 'tmp', crypto.randomUUID());
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (opts.maxBytes !== undefined && bytes > opts.maxBytes) {
          cb(new GatewayError({ code: 'payload_too_large', message: `file exceeds ${opts.maxBytes} bytes` }));
          return;
        }
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, fs.createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      await opts.inspect?.(tmp);
      const sha256 = hash.digest('hex');
      await publish(tmp, this.pathFor(sha256));
      return { sha256, bytes };
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      if (err instanceof GatewayError) throw err;
      throw new GatewayError({
        code: 'storage_error',
        message: `could not store file: ${(err as Error).message}`,
        cause: err,
      });
    }
  }

  /** Every stored blob with its mtime (the temp file's, as a write renames it into place), directory by directory. */
  async *blobs(): AsyncGenerator<{ sha256: string; mtimeMs: number; bytes: number }> {
    for (const dir of await fsp.readdir(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(dir)) continue;
      for (const name of await fsp.readdir(path.join(this.root, dir)).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{64}$/.test(name) || !name.startsWith(dir)) continue;
        const st = await fsp.stat(path.join(this.root, dir, name)).catch(() => null);
        if (st?.isFile()) yield { sha256: name, mtimeMs: st.mtimeMs, bytes: st.size };
      }
    }
  }

  createReadStream(sha256: string, range?: { start: number; end: number }): fs.ReadStream {
    return fs.createReadStream(this.pathFor(sha256), range);
  }
}

/** Renames into place, making the directory only when it is missing: not a mkdir round trip for every file. */
async function publish(tmp: string, final: string): Promise<void> {
  try {
    await fsp.rename(tmp, final);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await fsp.mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
    await fsp.rename(tmp, final);
  }
}
