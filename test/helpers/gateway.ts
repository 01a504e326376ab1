import fs from 'node:fs';
import { Config, createDaemon, type ConfigInput, type Daemon } from '@comfygate/daemon';
import { startGateway, type Gateway } from '@comfygate/daemon/http';
import { GatewayClient } from '@comfygate/shared';
import { makeHome, testConfig } from './daemon.js';

export interface TestGateway extends AsyncDisposable {
  daemon: Daemon;
  gateway: Gateway;
  url: string;
  token: string;
  home: string;
  client: GatewayClient;
  /** fetch against the gateway with the admin token unless `headers.authorization` is given. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** A real daemon with its HTTP gateway on 127.0.0.1:0 and a temp home, all removed on close. */
export async function startTestGateway(opts: {
  backends: ConfigInput['backends'];
  engine?: ConfigInput['engine'];
  security?: ConfigInput['security'];
  retention?: ConfigInput['retention'];
  /** An existing home (a restart on the same database), kept on close; default a fresh temp home, removed. */
  home?: string;
  /** The daemon's `webhooks` config section (timeouts, backoff; daemon/src/webhooks/config.ts). */
  webhooks?: Record<string, unknown>;
  /** Watched-folder rules from the config, and their limits (daemon/src/config/schema.ts `watchOptions`). */
  watch?: ConfigInput['watch'];
  watchOptions?: ConfigInput['watchOptions'];
}): Promise<TestGateway> {
  const home = opts.home ?? makeHome();
  const config = testConfig(home, opts.backends, opts.engine);
  if (opts.security) Object.assign(config.security, opts.security);
  if (opts.retention) Object.assign(config.retention, opts.retention);
  if (opts.webhooks) Object.assign(config, { webhooks: opts.webhooks });
  if (opts.watch || opts.watchOptions)
    Object.assign(
      config,
      Config.pick({ watch: true, watchOptions: true }).parse({ watch: opts.watch, watchOptions: opts.watchOptions }),
    );
  const daemon = await createDaemon(config);
  const gateway = await startGateway(daemon);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await gateway.close();
    await daemon.close();
    if (!opts.home) fs.rmSync(home, { recursive: true, force: true });
  };
  return {
    daemon,
    gateway,
    url: gateway.url,
    token: gateway.adminToken,
    home,
    client: new GatewayClient({ baseUrl: gateway.url, token: gateway.adminToken }),
    fetch: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${gateway.adminToken}`);
      return fetch(gateway.url + path, { ...init, headers });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
