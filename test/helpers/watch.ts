import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Job, JobSummary } from '@comfygate/shared';
import type { TestGateway } from './gateway.js';
import { waitFor } from './wait.js';

/** Watcher timings shrunk for tests: a file must hold still 300 ms; folders are checked every 200 ms. */
export const FAST_WATCH = { stableMs: 300, pollMs: 50, presenceMs: 200 };
/** Template params that keep the fake's images tiny and its jobs short. */
export const SMALL = { width: 64, height: 64, steps: 2 };

/** Temp folders removed by `cleanup()` (call it in afterEach). */
export function tempFolders() {
  const made: string[] = [];
  return {
    make(prefix = 'cg-watch-'): string {
      const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
      made.push(dir);
      return dir;
    },
    cleanup(): void {
      for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}

export const waitForFile = (file: string, timeoutMs = 20_000) =>
  waitFor(() => fs.existsSync(file), { timeoutMs, what: `file ${file}` });
export const waitForGone = (file: string, timeoutMs = 20_000) =>
  waitFor(() => !fs.existsSync(file), { timeoutMs, what: `${file} to be removed` });
export const listDir = (dir: string) => fs.readdirSync(dir).sort();

/** Every job a watch rule made, oldest first (they are normal jobs, under the client `watch:<rule id>`). */
export async function watchJobs(g: TestGateway, ruleId: string): Promise<JobSummary[]> {
  return (await g.client.listJobs({ client: `watch:${ruleId}`, limit: 500 })).jobs.reverse();
}

export const pathOf = (job: Pick<Job, 'metadata'>) => (job.metadata.watch as { path: string }).path;
export const paramsOf = (job: Pick<Job, 'metadata'>) => job.metadata.params as Record<string, unknown>;

/** The colour of an image's top-left pixel. */
export async function pixel(file: string): Promise<{ r: number; g: number; b: number }> {
  const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { r: data[0]!, g: data[1]!, b: data[2]! };
}

/** Writes `text` in `chunks` pieces, `gapMs` apart: a slow writer (a download, a copy over the network). */
export async function writeSlowly(file: string, text: string, chunks: number, gapMs: number): Promise<void> {
  const fd = fs.openSync(file, 'w');
  const size = Math.ceil(text.length / chunks);
  try {
    for (let i = 0; i < chunks; i++) {
      fs.writeSync(fd, text.slice(i * size, (i + 1) * size));
      await new Promise((r) => setTimeout(r, gapMs));
    }
  } finally {
    fs.closeSync(fd);
  }
}
