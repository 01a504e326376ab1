/** Reference API graphs (docs/comfyui-protocol.md §6.1), small by default so tests stay fast. */
export interface Txt2ImgOptions {
  seed?: number | bigint;
  text?: string;
  width?: number;
  height?: number;
  steps?: number;
  batch?: number;
  ckpt?: string;
  prefix?: string;
}

export function txt2img(o: Txt2ImgOptions = {}) {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: o.ckpt ?? 'v1-5-pruned-emaonly.safetensors' } },
    '5': {
      class_type: 'EmptyLatentImage',
      inputs: { width: o.width ?? 64, height: o.height ?? 64, batch_size: o.batch ?? 1 },
    },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: o.text ?? 'a lighthouse at dusk', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: o.seed ?? 1,
        steps: o.steps ?? 4,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: o.prefix ?? 'ComfyUI', images: ['8', 0] } },
  };
}

/** EmptyImage → 6 × ImageBlur → SaveImage: 8 image nodes, none with steps. `dangling` adds a node no output needs. */
export function imageOnly(
  color = 3368652,
  dangling = false,
): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  const g: Record<string, { class_type: string; inputs: Record<string, unknown> }> = {
    '1': { class_type: 'EmptyImage', inputs: { width: 32, height: 24, batch_size: 1, color } },
  };
  for (let i = 2; i <= 7; i++)
    g[String(i)] = { class_type: 'ImageBlur', inputs: { image: [String(i - 1), 0], blur_radius: 3, sigma: 1.5 } };
  g['8'] = { class_type: 'SaveImage', inputs: { images: ['7', 0], filename_prefix: 'progress' } };
  if (dangling) g['20'] = { class_type: 'ImageInvert', inputs: { image: ['1', 0] } };
  return g;
}
