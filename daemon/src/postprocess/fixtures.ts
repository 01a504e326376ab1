import sharp from 'sharp';

/** Test images, made with sharp so that every test starts from known pixels. */

/** A horizontal red ramp over a vertical green ramp (blue 64): every pixel tells where it came from. */
export async function gradient(width = 400, height = 300): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round((x / (width - 1)) * 255);
      data[i + 1] = Math.round((y / (height - 1)) * 255);
      data[i + 2] = 64;
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** A grey field with one (red) square: for crops, trims, flips and edges. */
export async function squareOn(opts: {
  width?: number;
  height?: number;
  left: number;
  top: number;
  size: number;
  color?: string;
  background?: string;
}): Promise<Buffer> {
  const square = await sharp({
    create: { width: opts.size, height: opts.size, channels: 3, background: opts.color ?? '#ff0000' },
  })
    .png()
    .toBuffer();
  return sharp({
    create: {
      width: opts.width ?? 400,
      height: opts.height ?? 300,
      channels: 3,
      background: opts.background ?? '#808080',
    },
  })
    .composite([{ input: square, left: opts.left, top: opts.top }])
    .removeAlpha()
    .png()
    .toBuffer();
}

export interface Pixels {
  width: number;
  height: number;
  channels: number;
  at(x: number, y: number): number[];
}

/** Decodes any image to 8-bit pixels, for sampling. */
export async function pixels(img: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(img).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => {
    const i = (y * info.width + x) * info.channels;
    return [...data.subarray(i, i + info.channels)];
  };
  return { width: info.width, height: info.height, channels: info.channels, at };
}

/** True when two colours are within `tol` on every channel (lossy codecs and resampling blur a little). */
export const near = (a: number[], b: number[], tol = 12): boolean =>
  b.every((v, i) => Math.abs((a[i] ?? 0) - v) <= tol);

/** 1-pixel black and white checks: the image whose downscale depends most on gamma. */
export async function checkerboard(width = 200, height = 200): Promise<Buffer> {
  const data = Buffer.alloc(width * height);
  for (let i = 0; i < data.length; i++) data[i] = ((i % width) + Math.floor(i / width)) % 2 ? 255 : 0;
  return sharp(data, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}
