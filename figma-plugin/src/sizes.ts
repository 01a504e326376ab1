/** Size presets that follow the selected frame: the frame's aspect ratio, sides in multiples of 8 (latent cells). */
export const LONG_SIDES = [512, 768, 1024, 1536] as const;
const MIN_SIDE = 64;

export const roundTo8 = (n: number): number => Math.max(8, Math.round(n / 8) * 8);

/** A size with the long side `long` and the aspect of `w`×`h`, both sides multiples of 8 and at least 64. */
export function fitLongSide(w: number, h: number, long: number): { width: number; height: number } {
  if (!(w > 0 && h > 0)) return { width: long, height: long };
  const k = long / Math.max(w, h);
  return { width: Math.max(MIN_SIDE, roundTo8(w * k)), height: Math.max(MIN_SIDE, roundTo8(h * k)) };
}

export interface SizePreset {
  label: string;
  width: number;
  height: number;
}

/** Presets for a frame (or squares when nothing is selected); the frame's own size first when it is small enough. */
export function sizePresets(frame: { width: number; height: number } | null): SizePreset[] {
  if (!frame) return LONG_SIDES.map((s) => ({ label: `Square ${s}`, width: s, height: s }));
  const presets = LONG_SIDES.map((s) => fitLongSide(frame.width, frame.height, s)).map((p) => ({
    label: `${p.width}×${p.height}`,
    ...p,
  }));
  if (Math.max(frame.width, frame.height) <= 2048) {
    const own = {
      width: Math.max(MIN_SIDE, roundTo8(frame.width)),
      height: Math.max(MIN_SIDE, roundTo8(frame.height)),
    };
    presets.unshift({ label: `Frame ${own.width}×${own.height}`, ...own });
  }
  return presets.filter((p, i) => presets.findIndex((q) => q.width === p.width && q.height === p.height) === i);
}

/**
 * Margins that grow an image (`img`, in pixels) to the aspect of the frame it fills, keeping the image's pixel scale:
 * the smallest padded size of the frame's aspect that still holds the whole image, centred, in multiples of 8.
 */
export function outpaintMargins(img: { width: number; height: number }, frame: { width: number; height: number }) {
  const k = Math.max(img.width / frame.width, img.height / frame.height);
  const extraW = Math.max(0, frame.width * k - img.width);
  const extraH = Math.max(0, frame.height * k - img.height);
  const left = roundTo8(extraW / 2) * Number(extraW >= 8);
  const top = roundTo8(extraH / 2) * Number(extraH >= 8);
  return { left, right: left, top, bottom: top };
}

/** Grid positions for `n` tiles of `w`×`h` with a gap, as square as possible. */
export function gridCells(n: number, w: number, h: number, gap: number): { x: number; y: number }[] {
  const cols = Math.ceil(Math.sqrt(n));
  return Array.from({ length: n }, (_, i) => ({ x: (i % cols) * (w + gap), y: Math.floor(i / cols) * (h + gap) }));
}
