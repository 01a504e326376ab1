import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from '../context.js';
import { galleryHtml } from './html.js';
import { FromWebview, type GalleryAction, type GalleryItem, type ToWebview } from './messages.js';

/**
 * Recent outputs of this workspace. The webview holds no token and makes no network call: it shows files already
 * written to the workspace (through asWebviewUri) and asks the extension, by typed message, to act on one.
 */
export class Gallery implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;

  constructor(private readonly ctx: Ctx) {
    this.disposables.push(
      ctx.history.onChange(() => this.post()),
      vscode.window.onDidChangeActiveTextEditor((e) => e && (this.lastEditor = e)),
    );
  }

  show(): void {
    if (this.panel) return this.panel.reveal();
    const media = vscode.Uri.joinPath(this.ctx.extensionUri, 'media');
    const roots = [media, ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri)];
    const panel = vscode.window.createWebviewPanel('comfygate.gallery', 'comfygate Gallery', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: roots,
    });
    this.panel = panel;
    const nonce = crypto.randomBytes(16).toString('base64');
    panel.webview.html = galleryHtml(
      panel.webview,
      panel.webview.asWebviewUri(vscode.Uri.joinPath(media, 'gallery.js')).toString(),
      nonce,
    );
    panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m), undefined, this.disposables);
    panel.onDidDispose(() => (this.panel = undefined), undefined, this.disposables);
  }

  private post(): void {
    if (!this.panel) return;
    const webview = this.panel.webview;
    const items = this.ctx.history.items().filter((i) => fs.existsSync(i.file));
    const msg: ToWebview = {
      type: 'items',
      items: items.map((i) => ({ ...i, src: webview.asWebviewUri(vscode.Uri.file(i.file)).toString() })),
    };
    void webview.postMessage(msg);
  }

  private async receive(raw: unknown): Promise<void> {
    const parsed = FromWebview.safeParse(raw);
    if (!parsed.success) return this.ctx.log.appendLine(`gallery: ignored a malformed message`);
    const msg = parsed.data;
    if (msg.type === 'ready') return this.post();
    // Only files the gallery lists: the webview cannot name an arbitrary path.
    const item = this.ctx.history.items().find((i) => i.file === msg.file);
    if (item) await this.act(msg.action, item);
  }

  private async act(action: GalleryAction, item: GalleryItem): Promise<void> {
    const uri = vscode.Uri.file(item.file);
    switch (action) {
      case 'open':
        return void (await vscode.commands.executeCommand('vscode.open', uri, vscode.ViewColumn.Beside));
      case 'reveal':
        return void (await vscode.commands.executeCommand('revealInExplorer', uri));
      case 'copyPath':
        await vscode.env.clipboard.writeText(vscode.workspace.asRelativePath(uri));
        return void vscode.window.showInformationMessage(`comfygate: copied ${vscode.workspace.asRelativePath(uri)}`);
      case 'insertMarkdown': {
        const editor = this.lastEditor;
        if (!editor)
          return void vscode.window.showWarningMessage('comfygate: open a document to insert the image link into');
        const rel = path.relative(path.dirname(editor.document.uri.fsPath), item.file).split(path.sep).join('/');
        const alt = (item.prompt ?? item.name).replace(/[[\]]/g, '');
        await editor.edit((e) => e.insert(editor.selection.active, `![${alt}](${encodeURI(rel)})`));
        return;
      }
      case 'regenerate':
        return void (await vscode.commands.executeCommand('comfygate.regenerate', uri));
    }
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
