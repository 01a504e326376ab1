import fs, { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FromWebview, ToWebview } from './gallery/messages.js';
import { galleryHtml } from './gallery/html.js';
import { entrySpans, problemSpan } from './manifest/locate.js';
import { statusText } from './status-text.js';
import { folderInside } from './outputs.js';

describe('status bar text', () => {
  it('starts with "comfygate" and says not running, queue depth and running jobs', () => {
    expect(statusText('down')).toBe('comfygate: not running');
    const jobs = { queued: 3, dispatched: 1, running: 1, postprocessing: 0, succeeded: 9, failed: 0, canceled: 0 };
    expect(statusText({ jobs, backends: { up: 1, down: 0, unknown: 0 }, lastEventId: 1 })).toBe(
      'comfygate: connected · 3 queued · 2 running',
    );
  });
});

describe('gallery webview', () => {
  it("allows nothing by default: only the nonce'd script and style and images from the webview's own source", () => {
    const html = galleryHtml({ cspSource: 'vscode-resource:' }, 'vscode-resource:/media/gallery.js', 'abc123nonce');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!;
    expect(csp.split('; ')).toEqual([
      "default-src 'none'",
      'img-src vscode-resource:',
      "style-src 'nonce-abc123nonce'",
      "script-src 'nonce-abc123nonce'",
    ]);
    expect(html).toContain('<script nonce="abc123nonce" src="vscode-resource:/media/gallery.js">');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('accepts only typed messages from the page', () => {
    expect(FromWebview.safeParse({ type: 'action', action: 'open', file: '/w/a.png' }).success).toBe(true);
    expect(FromWebview.safeParse({ type: 'action', action: 'rm -rf', file: '/w/a.png' }).success).toBe(false);
    expect(FromWebview.safeParse({ type: 'token' }).success).toBe(false);
    const withoutSrc = { file: 'a', name: 'a', prompt: null, seed: null, template: null, jobId: null, at: 1 };
    expect(ToWebview.safeParse({ type: 'items', items: [withoutSrc] }).success).toBe(false);
  });
});

describe('manifest positions', () => {
  const text =
    '{\n  "assets": [\n    { "output": "a.png", "template": "nope" },\n    { "output": "b.png", "params": { "stepz": 2 } }\n  ]\n}';
  it('finds each entry and puts a problem on the key the person typed', () => {
    const spans = entrySpans(text);
    expect(spans.map((s) => text.slice(s.offset, s.offset + 6))).toEqual(['{ "out', '{ "out']);
    const t = problemSpan(text, { index: 0, field: 'template', name: 'nope', message: '' })!;
    expect(text.slice(t.offset, t.offset + t.length)).toBe('"template": "nope"');
    const p = problemSpan(text, { index: 1, field: 'params', name: 'stepz', message: '' })!;
    expect(text.slice(p.offset, p.offset + p.length)).toBe('"stepz": 2');
  });
});

describe('extension manifest (package.json)', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    activationEvents: string[];
    engines: { vscode: string };
    contributes: {
      commands: { command: string; title: string; category: string }[];
      jsonValidation: { fileMatch: string; url: string }[];
      configuration: { properties: Record<string, { scope?: string }> };
    };
  };

  it('activates on its manifest file and commands only, never on *', () => {
    expect(pkg.activationEvents).not.toContain('*');
    expect(pkg.activationEvents.every((e) => e.includes('comfygate'))).toBe(true);
    expect(pkg.engines.vscode).toBe('^1.100.0');
  });

  it('puts the commands in the palette under category comfygate with the titles people look for', () => {
    const titles = pkg.contributes.commands.filter((c) => c.category === 'comfygate').map((c) => c.title);
    const wanted = [
      'Generate Image…',
      'Generate From Selection',
      'Use as Reference',
      'Vary',
      'Regenerate',
      'Generate Assets',
      'Cancel Job',
    ];
    for (const t of [...wanted, 'Show Gallery']) expect(titles).toContain(t);
  });

  it("a repository's .vscode/settings.json cannot pick the daemon (and so where the local token goes) or the CLI run", () => {
    // The local daemon's admin token is sent to whatever loopback URL is set, and cliCommand is typed into a
    // terminal: both are the user's or the machine's to choose, never a cloned workspace's.
    const props = pkg.contributes.configuration.properties;
    expect(props['comfygate.url']?.scope).toBe('machine');
    expect(props['comfygate.cliCommand']?.scope).toBe('machine');
  });

  it('contributes the shipped JSON schema for comfygate.assets.json', () => {
    expect(pkg.contributes.jsonValidation).toEqual([
      { fileMatch: 'comfygate.assets.json', url: './schemas/comfygate.assets.schema.json' },
    ]);
  });
});

describe('output folder of Generate Image…', () => {
  it('is a folder inside the workspace: no .., no absolute path, no symlinked folder leading out', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-ws-'));
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-out-'));
    try {
      fs.symlinkSync(outside, path.join(root, 'linked'));
      fs.mkdirSync(path.join(root, 'assets'));
      expect(folderInside(root, 'assets/generated')).toBe(path.join(root, 'assets/generated'));
      expect(folderInside(root, '.')).toBe(root);
      expect(folderInside(root, '../elsewhere')).toBeNull();
      expect(folderInside(root, outside)).toBeNull();
      expect(folderInside(root, 'linked')).toBeNull();
      expect(folderInside(root, 'linked/deeper')).toBeNull();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});
