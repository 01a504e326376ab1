// The baseline: what most ComfyUI clients do. One prompt at a time: POST it, wait for its finish signal,
// read /history, download the output, and only then POST the next. The GPU idles during every round trip.
import { ComfyClient } from './comfy-client.js';

export interface NaiveResult {
  t0: number;
  tEnd: number;
  bytes: number;
}

export async function runNaive(url: string, graphs: object[]): Promise<NaiveResult> {
  const client = await ComfyClient.connect(url);
  try {
    const t0 = Date.now();
    let bytes = 0;
    for (const graph of graphs) {
      const id = await client.post(graph);
      await client.finished(id);
      bytes += await client.download(id);
    }
    return { t0, tEnd: Date.now(), bytes };
  } finally {
    await client.close();
  }
}

/**
 * A hand-written pipelined client against one server: keeps up to `window` prompts posted but not yet
 * downloaded (Infinity = POST everything back to back) and downloads each prompt's outputs as soon as it
 * finishes. The "no gateway" floor in the overhead benchmark.
 */
export async function runDirectPipelined(url: string, graphs: object[], window = Infinity): Promise<NaiveResult> {
  const client = await ComfyClient.connect(url);
  try {
    const t0 = Date.now();
    const slots = new Slots(window);
    const downloads: Promise<number>[] = [];
    for (const graph of graphs) {
      await slots.take();
      const id = await client.post(graph);
      downloads.push(
        client
          .finished(id)
          .then(() => client.download(id))
          .finally(() => slots.give()),
      );
    }
    const bytes = (await Promise.all(downloads)).reduce((a, b) => a + b, 0);
    return { t0, tEnd: Date.now(), bytes };
  } finally {
    await client.close();
  }
}

/** A counting semaphore: at most `n` holders at once. */
class Slots {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}

  async take(): Promise<void> {
    if (this.free > 0) return void this.free--;
    await new Promise<void>((r) => this.waiting.push(r));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
