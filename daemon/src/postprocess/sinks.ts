import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { OutputFormat } from '@comfygate/shared';
import type { AssetFiles, StoredFile } from '../assets/files.js';
import { EXTENSIONS } from './format.js';

export interface SinkTarget {
  variant: string;
  format: OutputFormat;
  contentType: string;
}

/**
 * Receives one encoded variant as a stream and must consume it to the end (the encoder waits on it). What it
 * returns is merged into that variant's result; sha256 and size are measured before the sink, so it need not.
 */
export type VariantSink<R> = (target: SinkTarget, stream: Readable) => Promise<R>;

/** Whole files in memory: fine for thumbnails and tests, wasteful for big batches. */
export const bufferSink: VariantSink<{ bytes: Buffer }> = async (_t, stream) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { bytes: Buffer.concat(chunks) };
};

/** `<dir>/<variant>.<ext>`; variant names are validated to be safe file names. Refuses to overwrite. */
export function fileSink(dir: string): VariantSink<{ path: string }> {
  return async (t, stream) => {
    const file = path.join(dir, `${t.variant}.${EXTENSIONS[t.format]}`);
    try {
      await pipeline(stream, fs.createWriteStream(file, { flags: 'wx' }));
    } catch (err) {
      // A half-written variant must not look like a finished one; an existing file (EEXIST) is not ours to remove.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await fs.promises.rm(file, { force: true });
      throw err;
    }
    return { path: file };
  };
}

/** Straight into the content-addressed store (temp file, renamed into place once complete). */
export function assetFilesSink(files: AssetFiles): VariantSink<{ path: string; stored: StoredFile }> {
  return async (_t, stream) => {
    const stored = await files.write(stream);
    return { path: files.pathFor(stored.sha256), stored };
  };
}
