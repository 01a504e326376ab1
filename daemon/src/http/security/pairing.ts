import crypto from 'node:crypto';
import type { PairStarted, PairStatus } from '@comfygate/shared';
import { GatewayError } from '../../errors.js';
import type { TokenService } from './tokens.js';

interface Pending {
  pairingId: string;
  code: string;
  name: string;
  origin: string | null;
  userAgent: string | null;
  expiresAt: number;
  token: string | null;
}

export const PAIRING_TTL_MS = 5 * 60_000;
const MAX_PENDING = 20;

/**
 * Figma pairing: the plugin (no token yet) asks for a code, a person confirms that code with an admin
 * token (`comfygate pair <code>` or the dashboard), and the plugin collects its own revocable token by
 * polling with the secret pairingId. Codes live in memory only and expire.
 */
export class PairingService {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly tokens: TokenService, private readonly onStart: (code: string, name: string) => void) {}

  start(name: string, from: { origin: string | null; userAgent: string | null } = { origin: null, userAgent: null }): PairStarted {
    this.sweep();
    if (this.pending.size >= MAX_PENDING) throw new GatewayError({ code: 'rate_limited', message: 'too many pending pairing requests; try again in a few minutes' });
    const p: Pending = {
      pairingId: crypto.randomBytes(24).toString('base64url'),
      code: String(crypto.randomInt(0, 1_000_000)).padStart(6, '0'),
      name,
      ...from,
      expiresAt: Date.now() + PAIRING_TTL_MS,
      token: null,
    };
    this.pending.set(p.pairingId, p);
    this.onStart(p.code, `${name}${from.origin ? ` from ${from.origin}` : ''}`);
    return { pairingId: p.pairingId, code: p.code, expiresAt: p.expiresAt };
  }

  status(pairingId: string): PairStatus {
    this.sweep();
    const p = this.pending.get(pairingId);
    if (!p) return { state: 'expired' };
    if (!p.token) return { state: 'pending', expiresAt: p.expiresAt };
    this.pending.delete(pairingId); // the token is handed out once
    return { state: 'confirmed', token: p.token };
  }

  list(): { code: string; name: string; expiresAt: number; origin: string | null; userAgent: string | null }[] {
    this.sweep();
    return [...this.pending.values()].filter((p) => !p.token).map(({ code, name, expiresAt, origin, userAgent }) => ({ code, name, expiresAt, origin, userAgent }));
  }

  async confirm(code: string): Promise<void> {
    this.sweep();
    const p = [...this.pending.values()].find((x) => x.code === code && !x.token);
    if (!p) throw new GatewayError({ code: 'not_found', message: `no pending pairing with code ${code} (expired?)` });
    p.token = (await this.tokens.create({ name: `paired: ${p.name}`, scope: 'submit', dailyQuota: null, seeAll: false })).token;
  }

  /** Refuses a request: it is dropped, and the asking client's next poll answers `expired` (no token, ever). */
  deny(code: string): void {
    this.sweep();
    const p = [...this.pending.values()].find((x) => x.code === code && !x.token);
    if (!p) throw new GatewayError({ code: 'not_found', message: `no pending pairing with code ${code} (expired?)` });
    this.pending.delete(p.pairingId);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) if (p.expiresAt < now) this.pending.delete(id);
  }
}
