/**
 * Post-processing: comfygate's pipeline (validation, planning, provenance, content-addressed store) against the
 * same sharp operations written by hand, on the same images at the same concurrency; and a batch zip of 1,000
 * outputs streamed with RSS sampled while it is read.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import type { Job } from '@comfygate/shared';
import { AssetFiles } from '@comfygate/daemon/assets';
import { archiveStream } from '@comfygate/daemon/batches';
import { assetFilesSink, createPostprocessor } from '@comfygate/daemon/postprocess';

const SPEC = {
  variants: {
    web: {
      ops: [
        { op: 'resize', width: 512 },
        { op: 'format', format: 'webp', quality: 80 },
      ],
    },
  },
};
const CONCURRENCY = 2;

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Noisy 1024x1024 PNGs, so resizing and encoding do real work. */
async function sources(n: number, dir: string): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const raw = crypto.randomBytes(256 * 256 * 3);
    const file = path.join(dir, `src${i}.png`);
    await sharp(raw, { raw: { width: 256, height: 256, channels: 3 } })
      .resize(1024, 1024, { kernel: 'nearest' })
      .png()
      .toFile(file);
    files.push(file);
  }
  return files;
}

/** The web variant plus the thumbnail comfygate always makes, by hand. */
async function direct(file: string): Promise<void> {
  await sharp(file).resize({ width: 512 }).webp({ quality: 80 }).toBuffer();
  await sharp(file).resize(256, 256, { fit: 'inside', withoutEnlargement: true }).webp().toBuffer();
}

export async function postprocessThroughput(n = 60) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-bench-pp-'));
  try {
    const files = await sources(n, dir);
    const store = new AssetFiles(path.join(dir, 'assets'));
    const pp = createPostprocessor({ concurrency: CONCURRENCY });
    const provenance = { prompt: 'a harbour at dawn', seed: '42', jobId: 'bench' };
    await direct(files[0]!); // warm sharp's caches for both sides
    const times = { direct: [] as number[], comfygate: [] as number[] };
    for (let rep = 0; rep < 3; rep++) {
      let t0 = performance.now();
      await pool(files, CONCURRENCY, direct);
      times.direct.push(performance.now() - t0);
      t0 = performance.now();
      await pool(files, CONCURRENCY, (f) => pp.processInto(f, SPEC, provenance, assetFilesSink(store)));
      times.comfygate.push(performance.now() - t0);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const d = median(times.direct);
    const c = median(times.comfygate);
    return {
      images: n,
      concurrency: CONCURRENCY,
      directMs: Math.round(d),
      comfygateMs: Math.round(c),
      directPerSec: n / (d / 1000),
      comfygatePerSec: n / (c / 1000),
      ratio: c / d,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** 1,000 outputs of ~200 KB each (random bytes), zipped and read to the end while RSS is sampled. */
export async function zipStreaming(n = 1000, size = 200 * 1024) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfygate-bench-zip-'));
  try {
    const files = new AssetFiles(dir);
    const jobs: Job[] = [];
    for (let i = 0; i < n; i++) {
      const stored = await files.write(Readable.from([crypto.randomBytes(size)]));
      const output = {
        id: `o${i}`,
        jobId: `j${i}`,
        nodeId: '9',
        index: 0,
        filename: 'x.png',
        kind: 'output' as const,
        ...stored,
        contentType: 'image/png',
        width: null,
        height: null,
        animated: false,
        variants: [],
      };
      jobs.push({
        id: crypto.randomUUID(),
        state: 'succeeded',
        priority: 0,
        client: 'bench',
        owner: { id: 'local-admin', name: 'bench' },
        backend: 'a',
        attempts: 1,
        maxAttempts: 3,
        error: null,
        progress: null,
        outputs: [output],
        texts: [],
        metadata: {},
        parentJobId: null,
        then: [],
        createdAt: 0,
        updatedAt: 0,
        startedAt: 0,
        finishedAt: 0,
      });
    }
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    let bytes = 0;
    const t0 = performance.now();
    const stream = await archiveStream(
      { id: 'bench', name: null, client: 'bench', owner: 'local-admin', jobCount: n, createdAt: 0, canceledAt: null },
      jobs,
      files,
    );
    for await (const chunk of stream) {
      bytes += (chunk as Buffer).length;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    const ms = performance.now() - t0;
    return {
      files: n,
      archiveMB: bytes / 1024 / 1024,
      seconds: ms / 1000,
      mbPerSec: bytes / 1024 / 1024 / (ms / 1000),
      rssGrowthMB: (peak - before) / 1024 / 1024,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function postprocessLines(
  p: Awaited<ReturnType<typeof postprocessThroughput>>,
  z: Awaited<ReturnType<typeof zipStreaming>>,
): string[] {
  return [
    `${p.images} images 1024x1024 -> web (512 wide webp q80) + thumb, concurrency ${p.concurrency}, median of 3`,
    `sharp by hand: ${p.directMs} ms (${p.directPerSec.toFixed(1)} images/s)   comfygate pipeline: ${p.comfygateMs} ms (${p.comfygatePerSec.toFixed(1)} images/s)`,
    `ratio comfygate / by hand: ${p.ratio.toFixed(3)}x (target <= 1.1x; comfygate also writes provenance and stores by sha256)`,
    `zip of ${z.files} outputs: ${z.archiveMB.toFixed(0)} MB in ${z.seconds.toFixed(1)} s (${z.mbPerSec.toFixed(0)} MB/s), RSS growth while streaming ${z.rssGrowthMB.toFixed(1)} MB`,
  ];
}
