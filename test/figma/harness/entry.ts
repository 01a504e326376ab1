/**
 * The harness page plays Figma in Chromium: the built code.js runs here against the fake `figma` global, and
 * `figma.showUI(__html__)` opens the built ui.html in a sandboxed iframe (opaque `null` origin, as in Figma), with
 * messages in Figma's `{pluginMessage}` envelope both ways. Tests drive the iframe by accessible names and read
 * the fake document through `window.harness`.
 */
import { type DrawOp, FakeFigma, type FakeNode } from '../fake-figma.js';

async function canvasPainter(width: number, height: number, ops: DrawOp[]): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d')!;
  for (const op of ops) {
    if (op.rgba) {
      ctx.fillStyle = `rgba(${op.rgba[0]}, ${op.rgba[1]}, ${op.rgba[2]}, ${op.rgba[3] / 255})`;
      ctx.fillRect(op.x, op.y, op.w, op.h);
    } else if (op.image) {
      ctx.drawImage(
        await createImageBitmap(new Blob([op.image as BlobPart], { type: 'image/png' })),
        op.x,
        op.y,
        op.w,
        op.h,
      );
    }
  }
  return new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
}

let iframe: HTMLIFrameElement | null = null;
let queue: unknown[] | null = null;
let fig: FakeFigma | null = null;
let onMessage: ((e: MessageEvent) => void) | null = null;

const host = {
  showUI(html: string, options: { width?: number; height?: number } | undefined) {
    iframe = document.createElement('iframe');
    iframe.id = 'plugin-ui';
    iframe.title = 'comfygate plugin';
    // allow-scripts without allow-same-origin: an opaque origin, which the page serializes as `null`.
    iframe.setAttribute('sandbox', 'allow-scripts');
    iframe.style.width = `${options?.width ?? 300}px`;
    iframe.style.height = `${options?.height ?? 200}px`;
    queue = [];
    const frame = iframe;
    frame.addEventListener('load', () => {
      for (const m of queue ?? []) frame.contentWindow!.postMessage({ pluginMessage: m }, '*');
      queue = null;
    });
    frame.srcdoc = html;
    document.body.append(frame);
  },
  post(message: unknown) {
    if (queue) queue.push(message);
    else iframe?.contentWindow?.postMessage({ pluginMessage: message }, '*');
  },
};

const b64 = (bytes: Uint8Array) => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
};

function node(id: string): FakeNode {
  const n = fig!.find(id);
  if (!n) throw new Error(`no node ${id}`);
  return n;
}

const harness = {
  /** A fresh document; storage survives a `close()` + `open()` (that is what clientStorage is for). */
  reset() {
    fig = new FakeFigma({ painter: canvasPainter, host });
  },
  addFrame(
    o: { name: string; x?: number; y?: number; width: number; height: number; rgb?: [number, number, number] },
    parentId?: string,
  ) {
    return fig!.add(parentId ? 'RECTANGLE' : 'FRAME', o, parentId ? node(parentId) : undefined).id;
  },
  resize(id: string, width: number, height: number) {
    node(id).resize(width, height);
  },
  select(...ids: string[]) {
    fig!.select(...ids.map(node));
  },
  /** Runs the plugin: code.js with the fake global, as Figma does when the user starts it (or a relaunch button). */
  async open(command = '') {
    const [code, html] = await Promise.all([
      fetch('/code.js').then((r) => r.text()),
      fetch('/ui.html').then((r) => r.text()),
    ]);
    (fig!.api as { command: string }).command = command;
    onMessage = (e: MessageEvent) => {
      if (!iframe || e.source !== iframe.contentWindow) return;
      const data = (e.data as { pluginMessage?: unknown })?.pluginMessage;
      if (data !== undefined) fig!.ui.onmessage?.(data);
    };
    window.addEventListener('message', onMessage);
    new Function('figma', '__html__', code)(fig!.api, html);
  },
  /** figma.closePlugin(): the iframe goes, jobs in flight are the daemon's to finish. */
  close() {
    iframe?.remove();
    iframe = null;
    if (onMessage) window.removeEventListener('message', onMessage);
    fig!.ui.onmessage = undefined;
    (fig as unknown as { selectionListeners: unknown[] }).selectionListeners.length = 0;
  },
  fill(id: string): { type: string; scaleMode?: string; bytes?: string } | null {
    const f = node(id).fills[0];
    if (!f) return null;
    if (f.type !== 'IMAGE') return { type: f.type };
    return { type: 'IMAGE', scaleMode: f.scaleMode, bytes: b64(fig!.imageBytes(f.imageHash!)) };
  },
  frames() {
    return fig!.page.children.map((n) => ({
      id: n.id,
      name: n.name,
      x: n.x,
      y: n.y,
      width: n.width,
      height: n.height,
      pluginData: n.getPluginData('comfygate'),
    }));
  },
  exports: () => fig!.exports.map((e) => ({ nodeId: e.nodeId, bytes: b64(e.bytes) })),
  storage: (key: string) => fig!.storage.get(key),
  notifications: () => fig!.notifications,
  relaunch: (id: string) => node(id).getRelaunchData(),
};
harness.reset();
(window as unknown as { harness: typeof harness }).harness = harness;
