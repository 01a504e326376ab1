import crypto from 'node:crypto';

/** How long a printed sign-in link works: long enough to click, short enough that a leaked link goes stale. */
export const LOGIN_CODE_TTL_MS = 5 * 60_000;
/** A dashboard session; signing in again after a day is cheap, a forgotten browser tab staying signed in is not. */
export const SESSION_TTL_MS = 12 * 60 * 60_000;
const MAX_CODES = 50;
const MAX_SESSIONS = 500;

interface Entry {
  tokenId: string;
  expiresAt: number;
}

/**
 * Dashboard sign-in, in memory only (a restart signs everyone out, which is the safe direction). A login code
 * is minted for a token by someone who holds it (the CLI, `comfygate start`, the demo), travels in a link's
 * fragment and is exchanged once for a session; a session acts as that token, so its scope, owner and
 * revocation carry over. Codes and session ids are stored hashed so a heap dump does not hand them out.
 */
export class SessionService {
  private readonly codes = new Map<string, Entry>();
  private readonly sessions = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  mintCode(tokenId: string): { code: string; expiresAt: number } {
    this.sweep();
    if (this.codes.size >= MAX_CODES) this.dropOldest(this.codes);
    const code = crypto.randomBytes(24).toString('base64url');
    const expiresAt = this.now() + LOGIN_CODE_TTL_MS;
    this.codes.set(digest(code), { tokenId, expiresAt });
    return { code, expiresAt };
  }

  /** The code's token id, once: a second exchange (a replayed link) finds nothing. */
  redeem(code: string): string | null {
    this.sweep();
    const key = digest(code);
    const e = this.codes.get(key);
    this.codes.delete(key);
    return e ? e.tokenId : null;
  }

  open(tokenId: string): { id: string; expiresAt: number } {
    this.sweep();
    if (this.sessions.size >= MAX_SESSIONS) this.dropOldest(this.sessions);
    const id = crypto.randomBytes(32).toString('base64url');
    const expiresAt = this.now() + SESSION_TTL_MS;
    this.sessions.set(digest(id), { tokenId, expiresAt });
    return { id, expiresAt };
  }

  lookup(id: string): Entry | null {
    const e = this.sessions.get(digest(id));
    if (!e) return null;
    if (e.expiresAt <= this.now()) {
      this.sessions.delete(digest(id));
      return null;
    }
    return e;
  }

  close(id: string): boolean {
    return this.sessions.delete(digest(id));
  }

  private sweep(): void {
    const now = this.now();
    for (const m of [this.codes, this.sessions]) for (const [k, e] of m) if (e.expiresAt <= now) m.delete(k);
  }

  private dropOldest(m: Map<string, Entry>): void {
    const first = m.keys().next();
    if (!first.done) m.delete(first.value);
  }
}

const digest = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
