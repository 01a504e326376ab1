import type { OpDefs } from './types.js';

/** Rec. 709 luma weights, each row giving one of R, G, B. */
const LUMA: [number, number, number] = [0.2126, 0.7152, 0.0722];

/**
 * Ranks follow sharp's pipeline.cc: gamma encode before the resize; blur, recomb, modulate, sharpen after it; tint
 * after the composite. Grayscale is a recomb to R=G=B rather than sharp's greyscale(): that one switches the whole
 * stage's output to b-w (greying a later tint or coloured pad) and its raw output drops the alpha channel.
 */
export const colorOps: OpDefs = {
  gamma: { rank: () => 40, predict: (d) => d, apply: (img, o) => img.gamma(o.gamma, o.gammaOut ?? o.gamma) },
  grayscale: { rank: () => 84, predict: (d) => d, apply: (img) => img.recomb([LUMA, LUMA, LUMA]) },
  blur: { rank: () => 80, predict: (d) => d, apply: (img, o) => img.blur(o.sigma ?? true) },
  modulate: {
    rank: () => 85,
    predict: (d) => d,
    apply: (img, o) =>
      img.modulate({
        ...(o.brightness !== undefined && { brightness: o.brightness }),
        ...(o.saturation !== undefined && { saturation: o.saturation }),
        ...(o.hue !== undefined && { hue: o.hue }),
        ...(o.lightness !== undefined && { lightness: o.lightness }),
      }),
  },
  sharpen: {
    rank: () => 87,
    predict: (d) => d,
    apply: (img, o) => {
      // m1/m2 only exist for sharp's accurate (sigma) sharpen; without either, the fast mild one.
      if (o.sigma === undefined && o.m1 === undefined && o.m2 === undefined) return img.sharpen();
      return img.sharpen({
        sigma: o.sigma ?? 1,
        ...(o.m1 !== undefined && { m1: o.m1 }),
        ...(o.m2 !== undefined && { m2: o.m2 }),
      });
    },
  },
  tint: { rank: () => 95, predict: (d) => d, apply: (img, o) => img.tint(o.color) },
};
