/**
 * A small fake of Figma's plugin API: just what the comfygate plugin's sandbox uses, behaving as Figma documents
 * it (nodes with fills and children, selection and its event, exportAsync with real PNG bytes, createImage /
 * getImageByHash, pluginData, relaunch data, clientStorage, showUI and ui.postMessage). No Node built-ins: the same
 * file runs in vitest and, bundled, in the Chromium harness page. Pixels come from an injected painter.
 */

export interface DrawOp {
  x: number;
  y: number;
  w: number;
  h: number;
  rgba?: [number, number, number, number];
  image?: Uint8Array;
}
/** Paints a transparent `width`×`height` canvas with the ops, in order, and returns PNG bytes. */
export type Painter = (width: number, height: number, ops: DrawOp[]) => Promise<Uint8Array>;

type Paint =
  | { type: 'SOLID'; color: { r: number; g: number; b: number }; opacity?: number }
  | { type: 'IMAGE'; imageHash: string | null; scaleMode: string };

/** PNG width and height from the IHDR chunk. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** A stable id for image bytes (Figma uses a SHA-1; any content hash does for the fake). */
function contentHash(bytes: Uint8Array): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193) >>> 0;
    b = Math.imul(b ^ bytes[i]!, 0x5bd1e995) >>> 0;
  }
  return `${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}${bytes.length.toString(16)}`;
}

export class FakeNode {
  name: string;
  x = 0;
  y = 0;
  width = 100;
  height = 100;
  visible = true;
  fills: Paint[] = [];
  children: FakeNode[] = [];
  parent: FakeNode | null = null;
  readonly pluginData = new Map<string, string>();
  relaunchData: Record<string, string> = {};
  removed = false;

  constructor(
    readonly fig: FakeFigma,
    readonly type: string,
    readonly id: string,
    name?: string,
  ) {
    this.name = name ?? type.charAt(0) + type.slice(1).toLowerCase();
  }

  resize(w: number, h: number): void {
    this.width = w;
    this.height = h;
  }
  appendChild(c: FakeNode): void {
    c.parent?.children.splice(c.parent.children.indexOf(c), 1);
    c.parent = this;
    this.children.push(c);
  }
  remove(): void {
    this.parent?.children.splice(this.parent.children.indexOf(this), 1);
    this.parent = null;
    this.removed = true;
  }
  clone(): FakeNode {
    const c = this.fig.node(this.type, this.name);
    Object.assign(c, {
      x: this.x,
      y: this.y,
      width: this.width,
      height: this.height,
      visible: this.visible,
      fills: structuredClone(this.fills),
    });
    for (const k of this.children) c.appendChild(k.clone());
    // As in Figma: a duplicate is parented under the current page.
    this.fig.page.appendChild(c);
    return c;
  }
  findChild(pred: (n: FakeNode) => boolean): FakeNode | null {
    return this.children.find(pred) ?? null;
  }
  findAll(pred: (n: FakeNode) => boolean): FakeNode[] {
    return this.children.flatMap((c) => [...(pred(c) ? [c] : []), ...c.findAll(pred)]);
  }
  get absoluteBoundingBox() {
    let x = this.x;
    let y = this.y;
    for (let p = this.parent; p && p.type !== 'PAGE'; p = p.parent) ((x += p.x), (y += p.y));
    return { x, y, width: this.width, height: this.height };
  }
  getPluginData(key: string): string {
    return this.pluginData.get(key) ?? '';
  }
  setPluginData(key: string, value: string): void {
    this.pluginData.set(key, value);
  }
  setRelaunchData(data: Record<string, string>): void {
    for (const [k, v] of Object.entries(data))
      if (v.length > 1000) throw new Error(`relaunch description for ${k} is over 1000 characters`);
    this.relaunchData = { ...data };
  }
  getRelaunchData(): Record<string, string> {
    return { ...this.relaunchData };
  }

  /** The draw list of this node and its visible children, in the node's own coordinates scaled by `k`. */
  private ops(k: number, dx: number, dy: number): DrawOp[] {
    const box = { x: dx * k, y: dy * k, w: this.width * k, h: this.height * k };
    const own: DrawOp[] = this.fills.map((f) => {
      if (f.type !== 'SOLID') return { ...box, image: this.fig.imageBytes(f.imageHash!) };
      const rgba = [f.color.r, f.color.g, f.color.b, f.opacity ?? 1].map((c) => Math.round(c * 255));
      return { ...box, rgba: rgba as DrawOp['rgba'] };
    });
    return [...own, ...this.children.filter((c) => c.visible).flatMap((c) => c.ops(k, dx + c.x, dy + c.y))];
  }

  async exportAsync(settings?: { format?: string; constraint?: { type: string; value: number } }): Promise<Uint8Array> {
    if (this.removed) throw new Error('The node (removed) does not exist');
    if (settings?.format && settings.format !== 'PNG') throw new Error('the fake exports PNG only');
    const c = settings?.constraint;
    const k =
      !c || c.type === 'SCALE' ? (c?.value ?? 1) : c.type === 'WIDTH' ? c.value / this.width : c.value / this.height;
    const bytes = await this.fig.painter(Math.round(this.width * k), Math.round(this.height * k), this.ops(k, 0, 0));
    this.fig.exports.push({ nodeId: this.id, scale: k, bytes });
    return bytes;
  }
}

export interface NewNode {
  name: string;
  x?: number;
  y?: number;
  width: number;
  height: number;
  rgb?: [number, number, number];
}

export interface FakeFigmaOptions {
  painter: Painter;
  /** Where showUI's html and ui.postMessage go (the harness's iframe; a recorder in vitest). */
  host: { showUI(html: string, options: unknown): void; post(message: unknown): void };
  command?: string;
}

export class FakeFigma {
  private seq = 1;
  readonly painter: Painter;
  readonly images = new Map<string, Uint8Array>();
  readonly storage = new Map<string, unknown>();
  readonly notifications: { message: string; error: boolean }[] = [];
  readonly exports: { nodeId: string; scale: number; bytes: Uint8Array }[] = [];
  private readonly selectionListeners: (() => void)[] = [];
  readonly page: FakeNode;
  readonly api: Record<string, unknown>;

  constructor(private readonly o: FakeFigmaOptions) {
    this.painter = o.painter;
    this.page = new FakeNode(this, 'PAGE', '0:1', 'Page 1');
    let selection: FakeNode[] = [];
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the selection setter below has its own `this`
    const fig = this;
    const page = Object.defineProperty(this.page, 'selection', {
      get: () => selection,
      set(nodes: FakeNode[]) {
        selection = [...nodes];
        for (const l of fig.selectionListeners) l();
      },
    });
    const ui = {
      onmessage: undefined as ((msg: unknown) => void) | undefined,
      postMessage: (msg: unknown) => o.host.post(structuredClone(msg)),
    };
    this.api = {
      command: o.command ?? '',
      currentPage: page,
      viewport: { center: { x: 500, y: 400 } },
      ui,
      showUI: (html: string, options: unknown) => o.host.showUI(html, options),
      on: (event: string, cb: () => void) => {
        if (event === 'selectionchange') this.selectionListeners.push(cb);
      },
      notify: (message: string, opts?: { error?: boolean }) =>
        void this.notifications.push({ message, error: !!opts?.error }),
      createFrame: () => {
        const f = this.node('FRAME');
        f.fills = [{ type: 'SOLID', color: { r: 1, g: 1, b: 1 } }];
        this.page.appendChild(f);
        return f;
      },
      createImage: (bytes: Uint8Array) => {
        if (!(bytes instanceof Uint8Array)) throw new Error('createImage takes a Uint8Array');
        const hash = contentHash(bytes);
        this.images.set(hash, new Uint8Array(bytes));
        return this.imageObject(hash);
      },
      getImageByHash: (hash: string) => (this.images.has(hash) ? this.imageObject(hash) : null),
      getNodeByIdAsync: async (id: string) => this.find(id),
      clientStorage: {
        getAsync: async (key: string) => structuredClone(this.storage.get(key)),
        setAsync: async (key: string, value: unknown) => void this.storage.set(key, structuredClone(value)),
        deleteAsync: async (key: string) => void this.storage.delete(key),
        keysAsync: async () => [...this.storage.keys()],
      },
    };
  }

  get ui(): { onmessage?: (msg: unknown) => void } {
    return this.api.ui as { onmessage?: (msg: unknown) => void };
  }

  node(type: string, name?: string): FakeNode {
    return new FakeNode(this, type, `1:${this.seq++}`, name);
  }

  /** A frame (or rectangle) on the page with a solid fill, for tests to select. */
  add(type: 'FRAME' | 'RECTANGLE', o: NewNode, parent: FakeNode = this.page): FakeNode {
    const n = this.node(type, o.name);
    Object.assign(n, { x: o.x ?? 0, y: o.y ?? 0, width: o.width, height: o.height });
    const [r, g, b] = o.rgb ?? [1, 1, 1];
    n.fills = [{ type: 'SOLID', color: { r, g, b } }];
    parent.appendChild(n);
    return n;
  }

  select(...nodes: FakeNode[]): void {
    (this.page as unknown as { selection: FakeNode[] }).selection = nodes;
  }

  find(id: string): FakeNode | null {
    return id === this.page.id ? this.page : (this.page.findAll((n) => n.id === id)[0] ?? null);
  }

  imageBytes(hash: string): Uint8Array {
    const b = this.images.get(hash);
    if (!b) throw new Error(`no image ${hash}`);
    return b;
  }

  private imageObject(hash: string) {
    return {
      hash,
      getBytesAsync: async () => new Uint8Array(this.imageBytes(hash)),
      getSizeAsync: async () => pngSize(this.imageBytes(hash)),
    };
  }
}
