import path from 'node:path';
import * as vscode from 'vscode';
import type { Template } from '@comfygate/shared';
import {
  fileSha256,
  MANIFEST_FILE,
  manifestProblems,
  outputPath,
  parseManifest,
  planAssets,
  type PlannedEntry,
  readLock,
} from '@comfygate/shared/manifest';
import type { Ctx } from '../context.js';
import { entrySpans, problemSpan } from './locate.js';

const isManifest = (doc: vscode.TextDocument) => path.basename(doc.uri.fsPath) === MANIFEST_FILE;

/**
 * Editor support for `comfygate.assets.json`: diagnostics for entries whose template or parameter the daemon does
 * not have, and a CodeLens per entry (generate · open · state). The schema itself is checked by VS Code's JSON
 * support through the contributed jsonValidation.
 */
export class ManifestSupport implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('comfygate');
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private templates: Template[] | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: Ctx) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/comfygate.assets*.json');
    this.disposables.push(
      this.diagnostics,
      this.changed,
      watcher,
      watcher.onDidChange(() => this.changed.fire()),
      watcher.onDidCreate(() => this.changed.fire()),
      vscode.languages.registerCodeLensProvider({ pattern: `**/${MANIFEST_FILE}` }, this),
      vscode.workspace.onDidOpenTextDocument((d) => this.check(d)),
      vscode.workspace.onDidSaveTextDocument((d) => this.check(d, true)),
      vscode.workspace.onDidChangeTextDocument((e) => this.debounced(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => this.diagnostics.delete(d.uri)),
    );
    for (const d of vscode.workspace.textDocuments) void this.check(d);
  }

  /** After Generate Assets: the lock and files changed, the lenses' states too. */
  refresh(): void {
    this.templates = null;
    this.changed.fire();
    for (const d of vscode.workspace.textDocuments) void this.check(d);
  }

  private debounced(doc: vscode.TextDocument): void {
    if (!isManifest(doc)) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(doc), 400);
  }

  private async knownTemplates(reload = false): Promise<Template[] | null> {
    if (this.templates && !reload) return this.templates;
    try {
      this.templates = await (await this.ctx.connection.client()).templates();
    } catch {
      this.templates = null; // daemon down: no semantic diagnostics rather than wrong ones
    }
    return this.templates;
  }

  async check(doc: vscode.TextDocument, reload = false): Promise<void> {
    if (!isManifest(doc)) return;
    const text = doc.getText();
    let manifest;
    try {
      manifest = parseManifest(text, doc.uri.fsPath);
    } catch {
      this.diagnostics.set(doc.uri, []); // the JSON schema reports what is malformed
      return;
    }
    const templates = await this.knownTemplates(reload);
    if (!templates) return;
    const diags = manifestProblems(manifest, templates).flatMap((p) => {
      const span = problemSpan(text, p);
      if (!span) return [];
      const range = new vscode.Range(doc.positionAt(span.offset), doc.positionAt(span.offset + span.length));
      const d = new vscode.Diagnostic(range, p.message, vscode.DiagnosticSeverity.Error);
      d.source = 'comfygate';
      return [d];
    });
    this.diagnostics.set(doc.uri, diags);
    this.changed.fire();
  }

  private plan(doc: vscode.TextDocument): PlannedEntry[] | null {
    try {
      const dir = path.dirname(doc.uri.fsPath);
      const manifest = parseManifest(doc.getText(), doc.uri.fsPath);
      return planAssets({
        manifest,
        lock: readLock(dir),
        templates: this.templates ?? [],
        fileSha256: (rel) => fileSha256(outputPath(dir, rel)),
      });
    } catch {
      return null;
    }
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const spans = entrySpans(doc.getText());
    const planned = this.plan(doc);
    const dir = path.dirname(doc.uri.fsPath);
    return spans.flatMap((span, i) => {
      const range = new vscode.Range(doc.positionAt(span.offset), doc.positionAt(span.offset));
      const p = planned?.[i];
      const lenses = [
        new vscode.CodeLens(range, {
          title: '$(sync) generate',
          command: 'comfygate.generateAssets',
          arguments: [doc.uri],
        }),
      ];
      if (p) {
        const file = vscode.Uri.file(path.join(dir, p.entry.output));
        if (p.state !== 'missing' && p.state !== 'new') {
          lenses.push(new vscode.CodeLens(range, { title: 'open', command: 'vscode.open', arguments: [file] }));
        }
        // Without templates (daemon down) a hash cannot be computed: say so rather than "changed".
        const state = this.templates ? p.state : 'unknown (daemon not reachable)';
        lenses.push(new vscode.CodeLens(range, { title: `state: ${state}`, command: '' }));
      }
      return lenses;
    });
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
