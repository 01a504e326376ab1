import type * as vscode from 'vscode';
import type { GalleryItem } from './gallery/messages.js';

const KEY = 'comfygate.gallery';
const MAX = 200;

/** What this workspace generated, newest first, for the gallery (kept in workspaceState, never the token). */
export class History {
  private readonly listeners = new Set<() => void>();
  constructor(private readonly state: vscode.Memento) {}

  items(): GalleryItem[] {
    return this.state.get<GalleryItem[]>(KEY, []);
  }

  async add(items: GalleryItem[]): Promise<void> {
    const files = new Set(items.map((i) => i.file));
    await this.state.update(KEY, [...items, ...this.items().filter((i) => !files.has(i.file))].slice(0, MAX));
    for (const l of this.listeners) l();
  }

  onChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  }
}
