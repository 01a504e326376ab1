// Model folders as folder_paths would report them (combo lists, /models, /models/{folder}, /embeddings),
// with hideModel()/showModel() applied.
import path from 'node:path';

export const DEFAULT_MODELS: Record<string, string[]> = {
  checkpoints: ['v1-5-pruned-emaonly.safetensors', 'sd_xl_base_1.0.safetensors'],
  loras: [],
  upscale_models: [],
  vae: [],
};

const STANDARD_FOLDERS = [
  'checkpoints',
  'configs',
  'loras',
  'vae',
  'text_encoders',
  'diffusion_models',
  'clip_vision',
  'style_models',
  'embeddings',
  'diffusers',
  'vae_approx',
  'controlnet',
  'gligen',
  'upscale_models',
  'custom_nodes',
  'hypernetworks',
  'photomaker',
  'classifiers',
  'model_patches',
  'audio_encoders',
];

export class ModelStore {
  private readonly folders = new Map<string, string[]>();
  private readonly hidden = new Set<string>();

  constructor(models: Partial<Record<string, string[]>> = {}) {
    for (const key of STANDARD_FOLDERS) this.folders.set(key, []);
    for (const [key, files] of Object.entries({ ...DEFAULT_MODELS, ...models }))
      this.folders.set(key, [...(files ?? [])]);
  }

  isFolder(folder: string): boolean {
    return this.folders.has(folder);
  }

  folderKeys(): string[] {
    return [...this.folders.keys()];
  }

  /** get_filename_list(folder): sorted, hidden models removed. */
  list(folder: string): string[] {
    return (this.folders.get(folder) ?? []).filter((f) => !this.hidden.has(f)).sort();
  }

  has(folder: string, name: string): boolean {
    return this.list(folder).includes(name);
  }

  embeddings(): string[] {
    return this.list('embeddings').map((f) => f.slice(0, f.length - path.extname(f).length));
  }

  hide(name: string): void {
    this.hidden.add(name);
  }

  show(name: string): void {
    this.hidden.delete(name);
  }

  showAll(): void {
    this.hidden.clear();
  }
}
