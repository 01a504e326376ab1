import type { JobSummary, Stats } from '@comfygate/shared/browser';
import { client, errorText } from '../api.js';
import { announce, fill, h } from '../dom.js';
import { templateOf } from '../jobs.js';
import type { View } from '../main.js';

const SVG = 'http://www.w3.org/2000/svg';
const HOUR = 3_600_000;

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A hand-made horizontal bar chart: labelled, with its numbers as text too (a chart alone says nothing to a screen reader). */
function bars(title: string, rows: [string, number][], unit: (n: number) => string, scale?: number): HTMLElement {
  const max = scale ?? Math.max(1, ...rows.map(([, v]) => v));
  const rowH = 22;
  const chart = svg('svg', {
    viewBox: `0 0 400 ${Math.max(1, rows.length) * rowH}`,
    role: 'img',
    'aria-label': title,
    class: 'chart',
  });
  rows.forEach(([label, v], i) => {
    const y = i * rowH;
    chart.append(
      svg('text', { x: 0, y: y + 15, class: 'lbl' }, label.length > 18 ? `${label.slice(0, 17)}…` : label),
      svg('rect', { x: 130, y: y + 4, width: Math.max(1, (200 * v) / max), height: rowH - 8, rx: 3, class: 'barfill' }),
      svg('text', { x: 136 + (200 * v) / max, y: y + 15, class: 'val' }, unit(v)),
    );
  });
  const body = rows.length ? chart : h('p', { class: 'muted' }, 'Nothing yet.');
  return h('figure', { class: 'card' }, h('figcaption', null, h('h2', null, title)), body);
}

/** Jobs per hour as columns over the last 24 hours. */
function perHour(jobs: JobSummary[], now: number): HTMLElement {
  const counts = Array.from(
    { length: 24 },
    (_, i) => jobs.filter((j) => j.createdAt > now - (24 - i) * HOUR && j.createdAt <= now - (23 - i) * HOUR).length,
  );
  const max = Math.max(1, ...counts);
  const label = `Jobs per hour, last 24 hours: ${counts.reduce((a, b) => a + b, 0)} in all`;
  const chart = svg('svg', { viewBox: '0 0 480 140', role: 'img', 'aria-label': label, class: 'chart' });
  counts.forEach((c, i) => {
    const hgt = (110 * c) / max;
    const r = svg('rect', {
      x: i * 20 + 2,
      y: 120 - hgt,
      width: 16,
      height: Math.max(hgt, 0.5),
      rx: 2,
      class: 'barfill',
    });
    r.append(svg('title', {}, `${c} jobs, ${24 - i} to ${23 - i} hours ago`));
    chart.append(r);
  });
  chart.append(
    svg('text', { x: 0, y: 136, class: 'lbl' }, '24 h ago'),
    svg('text', { x: 440, y: 136, class: 'lbl' }, 'now'),
  );
  return h('figure', { class: 'card' }, h('figcaption', null, h('h2', null, 'Jobs per hour')), chart);
}

export const statsView: View = (el) => {
  const draw = async () => {
    let stats: Stats;
    let jobs: JobSummary[];
    try {
      [stats, { jobs }] = await Promise.all([client.stats(), client.listJobs({ limit: 500 })]);
    } catch (err) {
      return announce(errorText(err), 'error');
    }
    const now = Date.now();
    const ran = jobs.filter((j) => j.startedAt !== null && j.finishedAt !== null);
    const byTemplate = new Map<string, number[]>();
    for (const j of ran)
      byTemplate.set(templateOf(j), [...(byTemplate.get(templateOf(j)) ?? []), j.finishedAt! - j.startedAt!]);
    const failures = new Map<string, number>();
    for (const j of jobs)
      if (j.state === 'failed')
        failures.set(j.error?.code ?? 'unknown', (failures.get(j.error?.code ?? 'unknown') ?? 0) + 1);
    // Busy fraction: the share of the last hour each backend spent running jobs (from the jobs' own run times).
    const busy = new Map<string, number>();
    for (const j of ran) {
      if (!j.backend) continue;
      const overlap = Math.max(0, Math.min(j.finishedAt!, now) - Math.max(j.startedAt!, now - HOUR));
      busy.set(j.backend, (busy.get(j.backend) ?? 0) + overlap);
    }
    const backends = await client.backends().catch(() => []);
    for (const b of backends) if (!busy.has(b.name)) busy.set(b.name, 0);
    fill(
      el,
      h('h1', null, 'Stats'),
      h(
        'p',
        { class: 'card' },
        Object.entries(stats.jobs)
          .map(([s, n]) => `${s}: ${n}`)
          .join(' · '),
        h('br'),
        `backends up ${stats.backends.up}, down ${stats.backends.down}`,
      ),
      h(
        'div',
        { class: 'charts' },
        perHour(jobs, now),
        bars(
          'Time per template (mean run time)',
          [...byTemplate].map(([k, v]) => [k, v.reduce((a, b) => a + b, 0) / v.length]),
          (n) => `${(n / 1000).toFixed(1)} s`,
        ),
        bars(
          'Failure reasons',
          [...failures].sort((a, b) => b[1] - a[1]),
          (n) => String(n),
        ),
        bars(
          'GPU busy, last hour',
          [...busy].map(([k, v]) => [k, Math.min(1, v / HOUR)]),
          (n) => `${(n * 100).toFixed(n < 0.1 ? 1 : 0)}%`,
          1,
        ),
      ),
      h('p', { class: 'muted' }, `From the latest ${jobs.length} jobs.`),
    );
  };
  void draw();
  const timer = setInterval(() => void draw(), 10_000);
  return () => clearInterval(timer);
};
