import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { GatewayClient } from '@comfygate/shared';

export const DEFAULT_URL = 'http://127.0.0.1:8288';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export const isLocal = (url: string): boolean => {
  try {
    return LOOPBACK.has(new URL(url).hostname);
  } catch {
    return false;
  }
};

/** The daemon's own token file, as the CLI reads it: `$COMFYGATE_HOME/token`, else `~/.comfygate/token`. */
export const tokenFile = (env = process.env): string =>
  path.join(env.COMFYGATE_HOME || path.join(os.homedir(), '.comfygate'), 'token');

function readTokenFile(): string | undefined {
  try {
    return fs.readFileSync(tokenFile(), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const secretKey = (url: string) => `comfygate.token:${url}`;

/**
 * Where the daemon is and how to authenticate. A local daemon's token is read from its token file each time (it
 * may be rotated); a remote daemon's token comes from pairing and lives in SecretStorage, never in settings.
 */
export class Connection {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  get url(): string {
    const configured = vscode.workspace.getConfiguration('comfygate').get<string>('url') || DEFAULT_URL;
    return configured.replace(/\/+$/, '');
  }

  async token(): Promise<string | undefined> {
    if (isLocal(this.url)) {
      const local = readTokenFile();
      if (local) return local;
    }
    return this.secrets.get(secretKey(this.url));
  }

  async client(): Promise<GatewayClient> {
    return new GatewayClient({ baseUrl: this.url, token: await this.token() });
  }

  async storePairedToken(token: string): Promise<void> {
    await this.secrets.store(secretKey(this.url), token);
  }

  /** Pairing (as the Figma plugin does): the daemon shows a code, the user confirms it with `comfygate pair <code>`. */
  async pair(log: vscode.OutputChannel): Promise<boolean> {
    const anonymous = new GatewayClient({ baseUrl: this.url });
    const started = await anonymous.startPairing(`VS Code (${os.hostname()})`);
    log.appendLine(`pairing started with ${this.url}: code ${started.code}`);
    return vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `comfygate: confirm code ${started.code} with \`comfygate pair ${started.code}\``,
        cancellable: true,
      },
      async (_progress, cancel) => {
        while (!cancel.isCancellationRequested && Date.now() < started.expiresAt) {
          const status = await anonymous.pairingStatus(started.pairingId);
          if (status.state === 'confirmed') {
            await this.storePairedToken(status.token);
            void vscode.window.showInformationMessage(`comfygate: paired with ${this.url}`);
            return true;
          }
          if (status.state === 'expired') break;
          await new Promise((r) => setTimeout(r, 1_000));
        }
        void vscode.window.showWarningMessage('comfygate: pairing was not confirmed');
        return false;
      },
    );
  }
}
