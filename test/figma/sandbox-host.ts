import { FakeFigma, type FakeFigmaOptions } from './fake-figma.js';
import { sharpPainter } from './paint-node.js';

/** The built code.js run against a fake `figma` global in this process, with the UI side played by the test. */
export function runSandbox(code: string, o: { command?: string; storage?: Map<string, unknown> } = {}) {
  const posted: { type: string; [k: string]: unknown }[] = [];
  const waiters: (() => void)[] = [];
  const shown: { html: string; options: unknown }[] = [];
  const host: FakeFigmaOptions['host'] = {
    showUI: (html, options) => void shown.push({ html, options }),
    post: (m) => {
      posted.push(m as { type: string });
      for (const w of waiters.splice(0)) w();
    },
  };
  const fig = new FakeFigma({ painter: sharpPainter, host, command: o.command });
  if (o.storage) for (const [k, v] of o.storage) fig.storage.set(k, v);
  new Function('figma', '__html__', code)(fig.api, '<html>ui</html>');
  return {
    fig,
    posted,
    shown,
    send(msg: unknown) {
      fig.ui.onmessage!(structuredClone(msg));
    },
    /** The next message of this type the sandbox posts (bounded wait). */
    async next<T = Record<string, unknown>>(type: string, timeoutMs = 10_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = posted.findIndex((m) => m.type === type);
        if (i >= 0) return posted.splice(i, 1)[0] as T;
        if (Date.now() > deadline)
          throw new Error(`sandbox posted no '${type}' (got ${posted.map((m) => m.type).join(', ') || 'nothing'})`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}
