import cliProgress from 'cli-progress';
import type { Progress, StreamEvent } from '@comfygate/shared';

/** Shows a job's way to completion: a live bar on a terminal, one line per change in a log or pipe. */
export interface Reporter {
  event(e: StreamEvent): void;
  /** Why the job waits in the queue (no backend up ...), or null when that no longer holds. */
  waiting(reason: string | null): void;
  stop(): void;
}

/** The job's new state (or 'retrying'); null for progress, warnings and backend events, which change no state. */
const stateOf = (e: StreamEvent): string | null => {
  if (e.type === 'job:progress' || e.type === 'job:warning' || !e.type.startsWith('job:')) return null;
  return e.type.slice(4);
};

/** "on gpu1 (connection reset)": where the job went and why it was retried or warned about. */
const detailOf = (e: StreamEvent): string => {
  if (e.type === 'job:progress') return '';
  const d = e.data;
  const parts: string[] = [];
  if (typeof d.backend === 'string') parts.push(`on ${d.backend}`);
  const why = (d.error as { message?: unknown } | undefined)?.message ?? d.message ?? d.reason;
  if (typeof why === 'string') parts.push(`(${why})`);
  return parts.length ? ` ${parts.join(' ')}` : '';
};

/** A step means the job runs, even when its dispatched/running events came before the stream was open. */
const BEFORE_RUNNING = new Set(['queued', 'dispatched', 'retrying']);

/** "KSampler 5/20" or "ImageBlur": what runs now, for any graph (most nodes report no steps). */
const nodeText = (p: Progress): string => {
  if (p.node === null) return '';
  const name = p.nodeClass ?? `node ${p.node}`;
  return p.max > 0 ? `${name} ${p.value}/${p.max}` : name;
};

const percent = (p: Progress): number => Math.floor(p.fraction * 100);

export function barReporter(stream: NodeJS.WritableStream = process.stdout): Reporter {
  const bar = new cliProgress.SingleBar(
    {
      format: '{state} [{bar}] {percentage}% {node} {note}',
      stream,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let state = 'queued';
  const show = (s: string) => bar.update({ state: (state = s).padEnd(14) });
  bar.start(100, 0, { state: state.padEnd(14), node: '', note: '' });
  return {
    waiting: (reason) => bar.update({ note: reason ? `waiting: ${reason}` : '' }),
    event(e) {
      if (e.type === 'job:progress') {
        if (BEFORE_RUNNING.has(state)) show('running');
        bar.update(percent(e.progress), { node: nodeText(e.progress) });
        return;
      }
      const next = stateOf(e);
      if (next) show(next);
      if (next === 'succeeded') bar.update(100, { node: '' });
    },
    stop: () => bar.stop(),
  };
}

/** Progress lines at most once a second (plus the last one), so a 1000-step job does not flood a log. */
export function lineReporter(print: (line: string) => void, minGapMs = 1000): Reporter {
  let lastAt = 0;
  let lastLine = '';
  let state = 'queued';
  return {
    waiting(reason) {
      if (reason) print(`  waiting: ${reason}`);
    },
    event(e) {
      if (e.type === 'job:progress') {
        if (BEFORE_RUNNING.has(state)) print(`  ${(state = 'running')}`);
        const now = Date.now();
        const line = `  ${percent(e.progress)}% ${nodeText(e.progress)}`.trimEnd();
        if (line === lastLine || (now - lastAt < minGapMs && e.progress.fraction < 1)) return;
        ((lastAt = now), (lastLine = line));
        print(line);
        return;
      }
      const next = stateOf(e);
      if (next) print(`  ${(state = next)}${detailOf(e)}`);
      else if (e.type === 'job:warning') print(`  warning${detailOf(e)}`);
    },
    stop() {},
  };
}

export const quietReporter = (): Reporter => ({ event() {}, waiting() {}, stop() {} });
