import * as vscode from 'vscode';
import { runGenerateAssets } from './commands/assets.js';
import { cancelJob } from './commands/cancel.js';
import { generateFromSelection, generateImage } from './commands/generate.js';
import { fromProvenance, useAsReference } from './commands/image.js';
import { Connection } from './connection.js';
import { type Ctx, guarded } from './context.js';
import { Gallery } from './gallery/panel.js';
import { History } from './history.js';
import { ManifestSupport } from './manifest/support.js';
import { runInTerminal, StatusBar, statusActions } from './status.js';

/** Wires the pieces together; everything registered is a disposable of the extension's context. */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('comfygate');
  const connection = new Connection(context.secrets);
  const status = new StatusBar(connection);
  const ctx: Ctx = {
    connection,
    log,
    history: new History(context.workspaceState),
    status,
    extensionUri: context.extensionUri,
  };
  const manifest = new ManifestSupport(ctx);
  const gallery = new Gallery(ctx);
  const command = <A extends unknown[]>(id: string, fn: (...args: A) => Promise<unknown>) =>
    vscode.commands.registerCommand(id, guarded(ctx, id.replace('comfygate.', ''), fn));

  context.subscriptions.push(
    log,
    status,
    manifest,
    gallery,
    command('comfygate.generateImage', () => generateImage(ctx)),
    command('comfygate.generateFromSelection', () => generateFromSelection(ctx)),
    command('comfygate.useAsReference', (uri?: vscode.Uri) => useAsReference(ctx, uri)),
    command('comfygate.vary', (uri?: vscode.Uri) => fromProvenance(ctx, 'vary', uri)),
    command('comfygate.regenerate', (uri?: vscode.Uri) => fromProvenance(ctx, 'regenerate', uri)),
    command('comfygate.generateAssets', (uri?: vscode.Uri) => runGenerateAssets(ctx, uri, () => manifest.refresh())),
    command('comfygate.cancelJob', () => cancelJob(ctx)),
    command('comfygate.showGallery', async () => gallery.show()),
    command('comfygate.startDaemon', async () => {
      runInTerminal('comfygate daemon', 'start');
      setTimeout(() => void status.refresh(), 3_000);
    }),
    command('comfygate.runDoctor', async () => runInTerminal('comfygate doctor', 'doctor')),
    command('comfygate.pair', async () => (await connection.pair(log)) && status.refresh()),
    command('comfygate.statusActions', statusActions),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('comfygate') && void status.refresh()),
  );
  log.appendLine(`comfygate: daemon at ${connection.url}`);
}

export function deactivate(): void {}
