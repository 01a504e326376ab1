import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Daemon } from '../daemon.js';
import { comfySocketProxy, proxyHttp } from './comfy-proxy.js';
import { dashboardStatic } from './dashboard.js';
import { sseRoutes } from './events/sse.js';
import { eventSocketServer } from './events/ws.js';
import { StreamSlots } from './limits/per-token.js';
import { createMetrics } from './metrics.js';
import { authenticate, need } from './middleware/auth.js';
import { errorHandler, notFound } from './middleware/errors.js';
import { losslessJson } from './middleware/json.js';
import { noStore } from './middleware/no-store.js';
import { hostAndOrigin, hostOnly, originPolicy } from './middleware/host-origin.js';
import { rateLimit } from './middleware/rate-limit.js';
import { sessionAuth, sessionPrincipal } from './middleware/session-cookie.js';
import { openApiDocument } from './openapi.js';
import { backendRoutes, pairRoutes, tokenRoutes } from './routes/admin.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { webhookRoutes } from './routes/webhooks.js';
import { batchRoutes } from './routes/batches.js';
import { templateRoutes } from './routes/templates.js';
import { watchRoutes } from './routes/watch.js';
import { presetRoutes } from './routes/presets.js';
import { loginUrl, sessionRoutes } from './routes/session.js';
import { isPairingPoll, PairingService } from './security/pairing.js';
import { OpenStreams } from './security/open-streams.js';
import { SessionService } from './security/sessions.js';
import { ADMIN_TOKEN_ID, TokenService } from './security/tokens.js';
import { JOB_CREATE_ACTION, JOB_CREATE_ROUTES } from './security/quota.js';
import { upgradeHandler } from './upgrade.js';
import { v2Router } from './v2/router.js';

export interface Gateway {
  url: string;
  port: number;
  adminToken: string;
  server: http.Server;
  /** A one-time dashboard sign-in link for the admin token (`http://127.0.0.1:8288/#login=<code>`), valid minutes. */
  loginLink(): string;
  close(): Promise<void>;
}

/** Mutating calls go to the audit log with who made them; job creation also feeds daily quotas. */
function audit(daemon: Daemon) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : req.path;
      const action =
        req.method === 'POST' && JOB_CREATE_ROUTES.has(route) ? JOB_CREATE_ACTION : `${req.method} ${route}`;
      void daemon.store.audit
        .record({ tokenId: req.principal?.tokenId ?? null, action, target: req.path, status: res.statusCode })
        .catch(() => {});
    });
    next();
  };
}

/** The northbound surface: /v1, /comfy passthrough, events, health and metrics, behind one security policy. */
export async function startGateway(daemon: Daemon): Promise<Gateway> {
  const { config, log } = daemon;
  const tokens = new TokenService(daemon.store);
  const adminToken = await tokens.ensureAdminToken(config.home);
  const announce = (code: string, name: string) =>
    log.info({ code, name }, `pairing requested by "${name}": confirm with \`comfygate pair ${code}\``);
  const pairing = new PairingService(tokens, announce, config.security.maxPendingPairings);
  const sessions = new SessionService();
  let port = config.port;
  let publicUrl = '';
  const policy = originPolicy(config.security, config.host, () => port);
  const metrics = createMetrics(daemon);
  const streams = new StreamSlots(config.security.maxStreamsPerToken);
  const openStreams = new OpenStreams();

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(metrics.httpTimer);
  // /healthz answers any Origin, but only behind the Host check: a rebound DNS name must not learn a daemon is here.
  app.use(hostOnly(policy));
  app.use(healthRoutes(policy));
  app.use(hostAndOrigin(policy));
  app.use(dashboardStatic());
  app.use(['/v1', '/api/v2', '/readyz', '/metrics'], noStore);
  app.use(authenticate(tokens));
  app.use(sessionAuth(sessions, daemon.store));
  // A plugin polling its own live pairing is never charged to the bucket that tokenless strangers share.
  app.use(
    rateLimit(config.security.rateLimitPerMinute, {
      exempt: (req) => req.method === 'GET' && isPairingPoll(req.path, pairing),
    }),
  );
  app.use(audit(daemon));

  app.get('/readyz', need('read'), async (_req, res) => {
    const up = daemon.backends().filter((b) => b.health === 'up').length;
    const queued = await daemon.store.jobs.countInState('queued');
    const ready = up > 0 && queued < config.engine.maxQueued;
    res.status(ready ? 200 : 503).json({ ready, backendsUp: up, queued, maxQueued: config.engine.maxQueued });
  });
  app.get('/metrics', need('read'), async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const v1 = express.Router();
  // Uploads read the raw stream, so they come before the JSON parser.
  v1.use(fileRoutes(daemon, config.security));
  v1.use(losslessJson(config.security.maxJsonBytes, config.security.maxJsonDepth));
  v1.get('/openapi.json', need('read'), (_req, res) => void res.json(openApiDocument()));
  v1.use(sessionRoutes({ sessions, tokens, store: daemon.store, baseUrl: () => publicUrl, open: openStreams }));
  v1.use(pairRoutes(pairing, config.security.pairStartsPerMinute));
  v1.use(jobRoutes(daemon));
  v1.use(batchRoutes(daemon));
  v1.use(templateRoutes(daemon));
  v1.use(presetRoutes(daemon));
  v1.use(backendRoutes(daemon));
  v1.use(tokenRoutes(tokens, openStreams));
  v1.use(webhookRoutes(daemon));
  v1.use(watchRoutes(daemon));
  v1.use(sseRoutes(daemon, streams, openStreams));
  app.use('/v1', v1);
  app.use('/api/v2', v2Router(daemon, { streams, open: openStreams })); // Comfy API v2 (@comfyorg/sdk); parses its own bodies
  // The passthrough is ComfyUI's whole surface (queue clear, global interrupt, other users' extra_data,
  // extension routes): admins only. Everyone else goes through /v1 or /api/v2.
  app.all('/comfy{/*path}', need('admin'), (req, res) => proxyHttp(daemon, req, res));

  app.use(notFound);
  app.use(errorHandler(log));

  const events = eventSocketServer(daemon, {
    slots: streams,
    messagesPerMinute: config.security.wsMessagesPerMinute,
    open: openStreams,
  });
  const comfyWs = comfySocketProxy(daemon, openStreams);
  const server = http.createServer(app);
  server.on(
    'upgrade',
    upgradeHandler({
      policy,
      tokens,
      events,
      comfy: comfyWs,
      fallback: async (req) => (await sessionPrincipal(req, sessions, daemon.store))?.principal ?? null,
    }),
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  publicUrl = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
  let closing: Promise<void> | null = null;
  return {
    url: publicUrl,
    port,
    adminToken,
    server,
    loginLink: () => loginUrl(publicUrl, sessions.mintCode(ADMIN_TOKEN_ID).code),
    close() {
      closing ??= (async () => {
        events.close();
        comfyWs.close();
        metrics.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      })();
      return closing;
    },
  };
}
