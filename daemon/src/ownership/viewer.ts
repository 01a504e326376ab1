import type { TokenScope } from '@comfygate/shared';
import { GatewayError } from '../errors.js';

/**
 * Who is asking: the token behind a request. Internal callers (the engine, chains, watched folders, the CLI's
 * offline paths) pass none and see everything: ownership is a rule of the API, not of the daemon's own work.
 */
export interface Viewer {
  tokenId: string;
  scope: TokenScope;
  /** A token trusted to read every owner's objects (a team dashboard); it still acts on its own only. */
  seeAll: boolean;
}

/** The token-file admin; rows made before owners existed belong to it (migration 12). */
export const ADMIN_TOKEN_ID = 'local-admin';

export const seesAll = (v: Viewer | undefined): boolean => !v || v.scope === 'admin' || v.seeAll;

/** The owner a list is narrowed to, or undefined for every owner's rows. */
export const ownerFilter = (v: Viewer | undefined): string | undefined => (seesAll(v) ? undefined : v!.tokenId);

export const canSee = (v: Viewer | undefined, owner: string): boolean => seesAll(v) || owner === v!.tokenId;

/**
 * Throws unless the viewer may read (`act` false) or change (`act` true) an object of `owner`. An object the
 * viewer may not even see is reported missing (404, like one that does not exist: no probing for ids); one it
 * may see but not change (a see-all token) is a 403.
 */
export function checkOwner(v: Viewer | undefined, owner: string, what: string, act = false): void {
  if (!v || v.scope === 'admin' || owner === v.tokenId) return;
  if (!v.seeAll) throw new GatewayError({ code: 'not_found', message: `no ${what}` });
  if (act)
    throw new GatewayError({
      code: 'forbidden',
      message: `${what} belongs to another token; this token may read it, not change it`,
    });
}
