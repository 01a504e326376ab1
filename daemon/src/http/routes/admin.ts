import { type Request, Router } from 'express';
import { ConfirmPairing, CreateToken, PairRequest, RetentionSettings } from '@comfygate/shared';
import type { Daemon } from '../../daemon.js';
import { GatewayError } from '../../errors.js';
import { need } from '../middleware/auth.js';
import { rateLimit } from '../middleware/rate-limit.js';
import { parseBody } from '../validate.js';
import { type OpenStreams, tokenStreams } from '../security/open-streams.js';
import { type PairingService, type Requester, requesterKey } from '../security/pairing.js';
import { ADMIN_TOKEN_ID, type TokenService } from '../security/tokens.js';

export function backendRoutes(daemon: Daemon): Router {
  const r = Router();
  r.get('/backends', need('read'), (_req, res) => void res.json(daemon.backends()));
  r.post('/backends', need('admin'), async (req, res) => void res.status(201).json(await daemon.addBackend(req.body)));
  r.delete('/backends/:name', need('admin'), async (req, res) => {
    await daemon.removeBackend(req.params.name as string);
    res.status(204).end();
  });
  r.post('/backends/:name/drain', need('admin'), (req, res) => {
    const draining = req.body?.draining ?? true;
    if (typeof draining !== 'boolean')
      throw new GatewayError({ code: 'validation_failed', message: 'draining must be a boolean' });
    res.json(daemon.drainBackend(req.params.name as string, draining));
  });
  r.get('/stats', need('read'), async (_req, res) => void res.json(await daemon.stats()));
  r.get('/retention', need('admin'), (_req, res) => void res.json(RetentionSettings.parse(daemon.config.retention)));
  r.post(
    '/gc',
    need('admin'),
    async (req, res) =>
      void res.json(await daemon.gc({ dryRun: req.query.dryRun === 'true' || req.query.dryRun === '1' })),
  );
  return r;
}

/** `open`: the event streams to end when a token is revoked (its own and its sessions'). */
export function tokenRoutes(tokens: TokenService, open?: OpenStreams): Router {
  const r = Router();
  r.get('/tokens', need('admin'), async (_req, res) => void res.json(await tokens.list()));
  r.post(
    '/tokens',
    need('admin'),
    async (req, res) => void res.status(201).json(await tokens.create(parseBody(CreateToken, req.body))),
  );
  r.delete('/tokens/:id', need('admin'), async (req, res) => {
    if (req.params.id === ADMIN_TOKEN_ID)
      throw new GatewayError({
        code: 'conflict',
        message: 'the token-file admin token is rotated by deleting $COMFYGATE_HOME/token and restarting',
      });
    if (!(await tokens.revoke(req.params.id as string)))
      throw new GatewayError({ code: 'not_found', message: `no active token ${req.params.id}` });
    open?.end(tokenStreams(req.params.id as string));
    res.status(204).end();
  });
  return r;
}

/** Starting a pairing and collecting its token need no token (the plugin has none yet); confirming needs admin. */
export function pairRoutes(pairing: PairingService, startsPerMinute: number): Router {
  const r = Router();
  const requester = (req: Request): Requester => ({
    origin: req.get('origin')?.slice(0, 200) ?? null,
    userAgent: req.get('user-agent')?.slice(0, 200) ?? null,
    address: req.socket.remoteAddress ?? null,
  });
  // No token yet, so any page can ask: a limit per origin+address, and who asked is shown to the confirming admin.
  const startLimit = rateLimit(startsPerMinute, {
    key: (req) => `pair:${requesterKey(requester(req))}`,
    what: 'pairing requests (security.pairStartsPerMinute)',
  });
  r.post('/pair', startLimit, (req, res) => {
    res.status(201).json(pairing.start(parseBody(PairRequest, req.body ?? {}).name, requester(req)));
  });
  r.get('/pair', need('admin'), (_req, res) => void res.json(pairing.list()));
  r.post('/pair/confirm', need('admin'), async (req, res) => {
    await pairing.confirm(parseBody(ConfirmPairing, req.body).code);
    res.status(204).end();
  });
  r.post('/pair/deny', need('admin'), (req, res) => {
    pairing.deny(parseBody(ConfirmPairing, req.body).code);
    res.status(204).end();
  });
  r.get('/pair/:pairingId', (req, res) => void res.json(pairing.status(req.params.pairingId as string)));
  return r;
}
