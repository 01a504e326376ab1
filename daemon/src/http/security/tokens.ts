import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CreatedToken, Token, TokenScope } from '@comfygate/shared';
import { ADMIN_TOKEN_ID, type TokenViewer } from '../../ownership/viewer.js';
import type { Store, TokenRecord } from '../../store/types.js';

/** The caller; as a `Viewer` it is what ownership checks are made against. */
export interface Principal extends TokenViewer {
  name: string;
  dailyQuota: number | null;
  /** Set when a dashboard session (cookie) is acting as this token: signing out ends what it opened. */
  sessionId?: string;
  /** When that session expires: a stream it opened ends then too. */
  sessionEndsAt?: number;
}

const RANK: Record<TokenScope, number> = { read: 0, submit: 1, admin: 2 };
export const allows = (have: TokenScope, need: TokenScope): boolean => RANK[have] >= RANK[need];

export { ADMIN_TOKEN_ID };
const hash = (token: string) => crypto.createHash('sha256').update(token).digest('hex');
const newToken = () => `cg_${crypto.randomBytes(32).toString('base64url')}`;

const view = (t: TokenRecord): Token => ({
  id: t.id,
  name: t.name,
  scope: t.scope,
  dailyQuota: t.dailyQuota,
  seeAll: t.seeAll,
  createdAt: t.createdAt,
  revokedAt: t.revokedAt,
});

/** Tokens are stored hashed; the admin token lives in `$home/token` (0600) for the CLI and the VS Code extension. */
export class TokenService {
  constructor(private readonly store: Store) {}

  /** Reads the admin token file, creating it on first start, and makes sure the store knows its hash. */
  async ensureAdminToken(home: string): Promise<string> {
    const file = path.join(home, 'token');
    let token: string;
    try {
      token = fs.readFileSync(file, 'utf8').trim();
    } catch {
      token = newToken();
      fs.mkdirSync(home, { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, token + '\n', { mode: 0o600 });
    }
    fs.chmodSync(file, 0o600);
    await this.store.tokens.put({
      id: ADMIN_TOKEN_ID,
      name: 'local admin (token file)',
      scope: 'admin',
      hash: hash(token),
      dailyQuota: null,
      createdAt: Date.now(),
      revokedAt: null,
    });
    return token;
  }

  async authenticate(raw: string | undefined): Promise<Principal | null> {
    if (!raw || raw.length > 200) return null;
    const t = await this.store.tokens.byHash(hash(raw));
    if (!t || t.revokedAt !== null) return null;
    return { kind: 'token', tokenId: t.id, name: t.name, scope: t.scope, dailyQuota: t.dailyQuota, seeAll: t.seeAll };
  }

  async create(input: {
    name: string;
    scope: TokenScope;
    dailyQuota: number | null;
    seeAll: boolean;
  }): Promise<CreatedToken> {
    const token = newToken();
    const rec: TokenRecord = {
      id: crypto.randomUUID(),
      ...input,
      hash: hash(token),
      createdAt: Date.now(),
      revokedAt: null,
    };
    await this.store.tokens.put(rec);
    return { ...view(rec), token };
  }

  async list(): Promise<Token[]> {
    return (await this.store.tokens.list()).map(view);
  }

  revoke(id: string): Promise<boolean> {
    return this.store.tokens.revoke(id);
  }
}
