import type { Capabilities } from './capabilities.js';

/**
 * Which loader input lists which ComfyUI model folder (`folder_paths` names of core nodes). Every other
 * combo (samplers, schedulers, crop modes, upload lists…) is not a model and is left out of the count.
 */
const LOADER_FOLDERS: Record<string, Record<string, string>> = {
  CheckpointLoaderSimple: { ckpt_name: 'checkpoints' },
  CheckpointLoader: { ckpt_name: 'checkpoints' },
  ImageOnlyCheckpointLoader: { ckpt_name: 'checkpoints' },
  unCLIPCheckpointLoader: { ckpt_name: 'checkpoints' },
  LoraLoader: { lora_name: 'loras' },
  LoraLoaderModelOnly: { lora_name: 'loras' },
  VAELoader: { vae_name: 'vae' },
  UpscaleModelLoader: { model_name: 'upscale_models' },
  ControlNetLoader: { control_net_name: 'controlnet' },
  DiffControlNetLoader: { control_net_name: 'controlnet' },
  CLIPLoader: { clip_name: 'clip' },
  DualCLIPLoader: { clip_name1: 'clip', clip_name2: 'clip' },
  TripleCLIPLoader: { clip_name1: 'clip', clip_name2: 'clip', clip_name3: 'clip' },
  QuadrupleCLIPLoader: { clip_name1: 'clip', clip_name2: 'clip', clip_name3: 'clip', clip_name4: 'clip' },
  UNETLoader: { unet_name: 'unet' },
  CLIPVisionLoader: { clip_name: 'clip_vision' },
  StyleModelLoader: { style_model_name: 'style_models' },
  GLIGENLoader: { gligen_name: 'gligen' },
  HypernetworkLoader: { hypernetwork_name: 'hypernetworks' },
  PhotoMakerLoader: { photomaker_model_name: 'photomaker' },
};

/** The model files a backend has, per folder, read from its loaders' combo lists; sorted and distinct. */
export function modelsByFolder(caps: Capabilities): Record<string, string[]> {
  const folders: Record<string, Set<string>> = {};
  for (const [cls, inputs] of Object.entries(LOADER_FOLDERS)) {
    const combos = caps.combos[cls];
    if (!combos) continue;
    for (const [input, folder] of Object.entries(inputs)) {
      for (const file of combos[input] ?? []) (folders[folder] ??= new Set()).add(file);
    }
  }
  return Object.fromEntries(
    Object.entries(folders)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, [...v].sort()]),
  );
}

export const modelCount = (byFolder: Record<string, string[]>): number =>
  Object.values(byFolder).reduce((n, files) => n + files.length, 0);

/** The `models` and `modelsByFolder` fields of a backend's view; null while its capabilities are unknown. */
export function modelsView(caps: Capabilities | null): {
  models: number | null;
  modelsByFolder: Record<string, string[]> | null;
} {
  if (!caps) return { models: null, modelsByFolder: null };
  const byFolder = modelsByFolder(caps);
  return { models: modelCount(byFolder), modelsByFolder: byFolder };
}
