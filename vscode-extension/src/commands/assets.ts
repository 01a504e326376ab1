import path from 'node:path';
import * as vscode from 'vscode';
import { generateAssets, MANIFEST_FILE } from '@comfygate/shared/manifest';
import type { Ctx } from '../context.js';

/** The manifest to run: the one clicked, the one being edited, else the workspace's (asked when several). */
export async function findManifest(uri?: vscode.Uri): Promise<vscode.Uri | undefined> {
  if (uri && path.basename(uri.fsPath) === MANIFEST_FILE) return uri;
  const doc = vscode.window.activeTextEditor?.document;
  if (doc && path.basename(doc.uri.fsPath) === MANIFEST_FILE) return doc.uri;
  const found = await vscode.workspace.findFiles(`**/${MANIFEST_FILE}`, '**/node_modules/**', 20);
  if (found.length <= 1) return found[0];
  const items = found.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u }));
  const picked = await vscode.window.showQuickPick(items, { title: 'comfygate: which manifest' });
  return picked?.uri;
}

/**
 * Generate Assets: the entries whose inputs or files changed since the lock, as one batch, in a notification whose
 * Cancel cancels the batch. The manifest logic is shared with `comfygate assets` (@comfygate/shared/manifest).
 */
export async function runGenerateAssets(ctx: Ctx, uri?: vscode.Uri, onDone?: () => void): Promise<void> {
  const manifest = await findManifest(uri);
  if (!manifest) return void vscode.window.showWarningMessage(`comfygate: no ${MANIFEST_FILE} in this workspace`);
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === manifest.toString());
  if (open?.isDirty) await open.save();
  const client = await ctx.connection.client();
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'comfygate: Generate Assets', cancellable: true },
    async (progress, cancel) => {
      const ac = new AbortController();
      const sub = cancel.onCancellationRequested(() => ac.abort());
      let shown = 0;
      try {
        return await generateAssets(client, manifest.fsPath, {
          source: 'vscode',
          signal: ac.signal,
          onBatch: (b) => {
            ctx.log.appendLine(`Generate Assets: batch ${b.id}, ${b.total} jobs`);
            progress.report({ message: `${b.total} to generate` });
            void ctx.status.refresh();
          },
          onProgress: (b) => {
            const pct = Math.round((b.done / b.total) * 100);
            progress.report({ increment: pct - shown, message: `${b.done}/${b.total} done` });
            shown = pct;
          },
        });
      } finally {
        sub.dispose();
        onDone?.();
      }
    },
  );
  void ctx.status.refresh();
  const fresh = result.planned.filter((p) => p.state === 'fresh').length;
  const byOutput = new Map(result.planned.map((p) => [p.entry.output, p]));
  await ctx.history.add(
    result.written.map((file) => {
      const rel = path.relative(path.dirname(manifest.fsPath), file).split(path.sep).join('/');
      const planned = byOutput.get(rel);
      const seed = planned?.entry.seed === undefined ? null : String(planned.entry.seed);
      const template = planned?.resolved.template ?? null;
      return {
        file,
        name: path.basename(file),
        prompt: planned?.entry.prompt ?? null,
        seed,
        template,
        jobId: null,
        at: Date.now(),
      };
    }),
  );
  for (const f of result.written) ctx.log.appendLine(`wrote ${f}`);
  for (const f of result.failed) ctx.log.appendLine(`failed ${f.output}: ${f.message}`);
  const generated = result.batch ? result.batch.total : 0;
  const summary = `comfygate: ${generated} generated, ${fresh} up to date${result.failed.length ? `, ${result.failed.length} failed` : ''}`;
  ctx.log.appendLine(summary);
  if (result.failed.length)
    void vscode.window.showErrorMessage(`${summary}: ${result.failed[0]!.output}: ${result.failed[0]!.message}`);
  else void vscode.window.showInformationMessage(summary);
  onDone?.();
}
