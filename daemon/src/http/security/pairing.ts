import crypto from 'node:crypto';
import type { PairStarted, PairStatus, PendingPairing } from '@comfygate/shared';
import { GatewayError } from '../../errors.js';
import type { TokenService } from './tokens.js';

interface Pending {
  pairingId: string;
  code: string;
  name: string;
  origin: string | null;
  userAgent: string | null;
  address: string | null;
  createdAt: number;
  expiresAt: number;
  token: string | null;
}

export const PAIRING_TTL_MS = 5 * 60_000;

export interface Requester {
  origin: string | null;
  userAgent: string | null;
  address: string | null;
}

/** Who is asking, as far as a tokenless request can tell: pending slots and start rates are counted per key. */
export const requesterKey = (r: Pick<Requester, 'origin' | 'address'>): string =>
  `${r.origin ?? '-'} ${r.address ?? '-'}`;

/**
 * Figma pairing: the plugin (no token yet) asks for a code, a person confirms that code with an admin
 * token (`comfygate pair <code>` or the dashboard), and the plugin collects its own revocable token by
 * polling with the secret pairingId. Codes live in memory only and expire.
 */
export class PairingService {
  private readonly pending = new Map<string, Pending>();

  /** `maxPerRequester` pending requests per origin+address, ten times that in all: one page cannot hold every slot. */
  constructor(
    private readonly tokens: TokenService,
    private readonly onStart: (code: string, name: string) => void,
    private readonly maxPerRequester = 3,
  ) {}

  start(name: string, from: Requester = { origin: null, userAgent: null, address: null }): PairStarted {
    this.sweep();
    const key = requesterKey(from);
    const mine = [...this.pending.values()].filter((p) => !p.token && requesterKey(p) === key).length;
    if (mine >= this.maxPerRequester || this.pending.size >= this.maxPerRequester * 10) {
      const message = 'too many pending pairing requests (security.maxPendingPairings); try again in a few minutes';
      throw new GatewayError({ code: 'rate_limited', message, retryAfterSec: 60 });
    }
    const now = Date.now();
    const p: Pending = {
      pairingId: crypto.randomBytes(24).toString('base64url'),
      code: String(crypto.randomInt(0, 1_000_000)).padStart(6, '0'),
      name,
      ...from,
      createdAt: now,
      expiresAt: now + PAIRING_TTL_MS,
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

  /** Whether a poll names a live pairing: such polls are not charged to the shared unauthenticated rate limit. */
  has(pairingId: string): boolean {
    const p = this.pending.get(pairingId);
    return p !== undefined && p.expiresAt >= Date.now();
  }

  list(): PendingPairing[] {
    this.sweep();
    return [...this.pending.values()]
      .filter((p) => !p.token)
      .map(({ code, name, expiresAt, origin, userAgent, address, createdAt }) => ({
        code,
        name,
        expiresAt,
        origin,
        userAgent,
        address,
        createdAt,
      }));
  }

  async confirm(code: string): Promise<void> {
    this.sweep();
    const p = [...this.pending.values()].find((x) => x.code === code && !x.token);
    if (!p) throw new GatewayError({ code: 'not_found', message: `no pending pairing with code ${code} (expired?)` });
    p.token = (
      await this.tokens.create({ name: `paired: ${p.name}`, scope: 'submit', dailyQuota: null, seeAll: false })
    ).token;
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

/** `GET /v1/pair/{pairingId}` of a pairing that is still pending. */
export function isPairingPoll(path: string, pairing: PairingService): boolean {
  const m = /^\/v1\/pair\/([A-Za-z0-9_-]{16,64})$/.exec(path);
  return m !== null && pairing.has(m[1]!);
}
