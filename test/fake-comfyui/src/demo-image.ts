// Demo-mode pictures (`pnpm demo`): a gradient in the job's colours with the prompt, seed and size written on it,
// so a person trying comfygate sees that their request went through. Tests keep the flat deterministic colours.
import sharp from 'sharp';
import type { Rgb } from './outputs.js';

export interface DemoLabel {
  prompt: string;
  seed: string;
}

const hex = (c: Rgb) => `#${[c.r, c.g, c.b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
const xml = (s: string) =>
  // eslint-disable-next-line no-control-regex -- XML 1.0 forbids these characters: dropped, not escaped
  s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Greedy word wrap to at most `maxLines` lines of `width` characters; the last line ends with … when cut. */
export function wrap(text: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const piece = word.length > width ? `${word.slice(0, width - 1)}…` : word;
    if (line && line.length + 1 + piece.length > width) {
      lines.push(line);
      line = piece;
    } else line = line ? `${line} ${piece}` : piece;
  }
  if (line) lines.push(line);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = `${kept[maxLines - 1]!.slice(0, width - 1)}…`;
    return kept;
  }
  return lines;
}

/** An SVG of the gradient and the caption, rendered by sharp (librsvg) into the requested size. */
export function demoSvg(width: number, height: number, from: Rgb, to: Rgb, label: DemoLabel): string {
  const size = Math.max(8, Math.round(Math.min(width, height) / 14));
  const perLine = Math.max(8, Math.floor((width * 0.86) / (size * 0.62)));
  const lines = wrap(label.prompt || '(no prompt)', perLine, Math.max(1, Math.floor((height * 0.6) / (size * 1.3))));
  const x = Math.round(width * 0.07);
  const top = Math.round(height * 0.12) + size;
  const text = lines
    .map(
      (l, i) =>
        `<text x="${x}" y="${top + Math.round(i * size * 1.3)}" font-size="${size}" font-weight="bold">${xml(l)}</text>`,
    )
    .join('');
  const foot = `seed ${label.seed} · ${width}×${height} · comfygate demo (fake ComfyUI)`;
  // As large as fits on one line (a 20-digit seed included), never above 60% of the caption's size.
  const small = Math.max(6, Math.min(Math.round(size * 0.6), Math.floor((width * 0.86) / (foot.length * 0.58))));
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${hex(from)}"/>` +
    `<stop offset="1" stop-color="${hex(to)}"/></linearGradient></defs>` +
    `<rect width="100%" height="100%" fill="url(#g)"/>` +
    `<g font-family="DejaVu Sans, Arial, sans-serif" fill="#fff" stroke="#000" stroke-opacity="0.35" ` +
    `stroke-width="${Math.max(1, size / 16)}" paint-order="stroke">` +
    `${text}<text x="${x}" y="${height - Math.round(height * 0.07)}" font-size="${small}">${xml(foot)}</text></g></svg>`
  );
}

export function renderDemo(
  width: number,
  height: number,
  from: Rgb,
  to: Rgb,
  label: DemoLabel,
): ReturnType<typeof sharp> {
  return sharp(Buffer.from(demoSvg(width, height, from, to, label)))
    .flatten({ background: from })
    .removeAlpha();
}
