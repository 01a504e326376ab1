import * as vscode from 'vscode';
import { isGatewayClientError } from '@comfygate/shared';
import { ManifestError } from '@comfygate/shared/manifest';
import type { Connection } from './connection.js';
import type { History } from './history.js';
import type { StatusBar } from './status.js';

/** What every command gets: the connection, the output channel, the gallery's history, the status bar. */
export interface Ctx {
  connection: Connection;
  log: vscode.OutputChannel;
  history: History;
  status: StatusBar;
  extensionUri: vscode.Uri;
}

/** Runs a command; errors are shown in the daemon's own words (and logged), never swallowed or thrown at VS Code. */
export function guarded<A extends unknown[]>(ctx: Ctx, name: string, fn: (...args: A) => Promise<unknown>) {
  return async (...args: A): Promise<void> => {
    try {
      await fn(...args);
    } catch (err) {
      const e = err as Error;
      ctx.log.appendLine(`${name}: ${e.message}`);
      if (isGatewayClientError(err) && err.code === 'unavailable' && err.status === 0) {
        const pick = await vscode.window.showErrorMessage(
          `comfygate is not running at ${ctx.connection.url}`,
          'Start daemon',
          'Run doctor',
        );
        if (pick === 'Start daemon') await vscode.commands.executeCommand('comfygate.startDaemon');
        if (pick === 'Run doctor') await vscode.commands.executeCommand('comfygate.runDoctor');
      } else if (isGatewayClientError(err) && err.status === 401) {
        const pick = await vscode.window.showErrorMessage(`comfygate: ${e.message}`, 'Pair with daemon');
        if (pick) await vscode.commands.executeCommand('comfygate.pair');
      } else if (isGatewayClientError(err) || err instanceof ManifestError) {
        void vscode.window.showErrorMessage(`comfygate: ${e.message}`);
      } else {
        ctx.log.appendLine(e.stack ?? String(err));
        void vscode.window.showErrorMessage(`comfygate: ${name} failed: ${e.message}`);
      }
    }
  };
}

export function workspaceRoot(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('open a folder first: images are written into the workspace');
  return folder.uri;
}
