import type { TokenScope } from '@comfygate/shared';
import { GatewayError } from '../errors.js';

/** A request's token: what ownership checks are made against. */
export interface TokenViewer {
  kind: 'token';
  tokenId: string;
  scope: TokenScope;
  /** A token trusted to read every owner's objects (a team dashboard); it still acts on its own only. */
  seeAll: boolean;
}

/** The daemon's own work (the engine, chains, watched folders, retention, the CLI's offline paths). */
export interface InternalViewer {
  kind: 'internal';
}

/**
 * Who is asking. Every service method takes one, required: a caller that forgot to say is a type error, never a
 * silent "sees everything". Ownership is a rule of the API, not of the daemon's own work, which names itself
 * with `INTERNAL`.
 */
export type Viewer = TokenViewer | InternalViewer;

export const INTERNAL: Viewer = Object.freeze({ kind: 'internal' });

/** The token-file admin; rows made before owners existed belong to it (migration 12). */
export const ADMIN_TOKEN_ID = 'local-admin';

export function seesAll(v: Viewer): boolean {
  switch (v.kind) {
    case 'internal':
      return true;
    case 'token':
      return v.scope === 'admin' || v.seeAll;
  }
}

/** The owner a list is narrowed to, or undefined for every owner's rows. */
export function ownerFilter(v: Viewer): string | undefined {
  switch (v.kind) {
    case 'internal':
      return undefined;
    case 'token':
      return seesAll(v) ? undefined : v.tokenId;
  }
}

export function canSee(v: Viewer, owner: string): boolean {
  switch (v.kind) {
    case 'internal':
      return true;
    case 'token':
      return seesAll(v) || owner === v.tokenId;
  }
}

/**
 * Throws unless the viewer may read (`act` false) or change (`act` true) an object of `owner`. An object the
 * viewer may not even see is reported missing (404, like one that does not exist: no probing for ids); one it
 * may see but not change (a see-all token) is a 403.
 */
export function checkOwner(v: Viewer, owner: string, what: string, act = false): void {
  switch (v.kind) {
    case 'internal':
      return;
    case 'token':
      if (v.scope === 'admin' || owner === v.tokenId) return;
      if (!v.seeAll) throw new GatewayError({ code: 'not_found', message: `no ${what}` });
      if (act)
        throw new GatewayError({
          code: 'forbidden',
          message: `${what} belongs to another token; this token may read it, not change it`,
        });
  }
}

/** The token acting, which owns what it makes; none for the daemon's own work (its caller names the owner). */
export const tokenOf = (v: Viewer): string | undefined => (v.kind === 'token' ? v.tokenId : undefined);
