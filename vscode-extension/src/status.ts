import * as vscode from 'vscode';
import { isGatewayClientError, type Stats } from '@comfygate/shared';
import { statusText } from './status-text.js';
import type { Connection } from './connection.js';

/** Asks the daemon for its queue every few seconds (and right after a job is submitted) and shows it. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('comfygate.status', vscode.StatusBarAlignment.Left, 10);
  private timer: NodeJS.Timeout | undefined;
  private inflight = false;

  constructor(private readonly connection: Connection) {
    this.item.name = 'comfygate';
    this.item.command = 'comfygate.statusActions';
    this.item.text = 'comfygate';
    this.item.show();
    this.schedule();
  }

  private schedule(): void {
    const seconds = vscode.workspace.getConfiguration('comfygate').get<number>('statusIntervalSeconds') ?? 5;
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.refresh(), Math.max(1, seconds) * 1000);
    void this.refresh();
  }

  async refresh(): Promise<void> {
    if (this.inflight) return;
    this.inflight = true;
    let state: Stats | 'down' | 'unauthorized';
    try {
      state = await (await this.connection.client()).stats();
    } catch (err) {
      state = isGatewayClientError(err) && err.status === 401 ? 'unauthorized' : 'down';
    } finally {
      this.inflight = false;
    }
    this.item.text = statusText(state);
    this.item.tooltip =
      state === 'down'
        ? `No comfygate daemon at ${this.connection.url}: click to start it`
        : `comfygate at ${this.connection.url}`;
    this.item.backgroundColor = state === 'down' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    clearInterval(this.timer);
    this.item.dispose();
  }
}

/** Start daemon (a terminal running `comfygate start`) and Run doctor, offered from the status bar item. */
export function runInTerminal(name: string, args: string): void {
  const cli = vscode.workspace.getConfiguration('comfygate').get<string>('cliCommand') || 'comfygate';
  const terminal = vscode.window.createTerminal({ name });
  terminal.show();
  terminal.sendText(`${cli} ${args}`);
}

export async function statusActions(): Promise<void> {
  const picked = await vscode.window.showQuickPick(
    [
      { label: 'Start daemon', description: 'comfygate start in a terminal', command: 'comfygate.startDaemon' },
      { label: 'Run doctor', description: 'comfygate doctor in a terminal', command: 'comfygate.runDoctor' },
      { label: 'Show Gallery', command: 'comfygate.showGallery' },
      { label: 'Cancel Job', command: 'comfygate.cancelJob' },
      { label: 'Pair with daemon', description: 'for a daemon on another machine', command: 'comfygate.pair' },
    ],
    { title: 'comfygate' },
  );
  if (picked) await vscode.commands.executeCommand(picked.command);
}
