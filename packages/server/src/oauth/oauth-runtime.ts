// What an instance holds for OAuth when TESSERA_ISSUER turns it on (docs/oauth.md "Turning it on"), and the
// pieces it holds either way: the DPoP replay store and nonce secret (DPoP works at /auth/* with OAuth off too).
import { hkdfSync, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { answered } from '../db/connect.js';
import type { ServerDatabase } from '../db/schema.js';
import { ClientStore } from './clients.js';
import { purgeCodes } from './codes.js';
import { oauthEndpoints, oauthIssuer, type OAuthEndpoints } from './issuer.js';

/** The OAuth side of a runtime: present only when OAuth is on. */
export interface OAuthRuntime {
  /** The issuer, as TESSERA_ISSUER names it. */
  readonly issuer: URL;
  /** Every endpoint URL, built from the issuer alone. */
  readonly endpoints: OAuthEndpoints;
  readonly clients: ClientStore;
}

/** The OAuth runtime for `issuer` over `db`, or undefined when the issuer does not turn OAuth on. */
export function createOAuthRuntime(issuer: string, db: Kysely<ServerDatabase>): OAuthRuntime | undefined {
  const url = oauthIssuer(issuer);
  if (url === undefined) return undefined;
  return Object.freeze({ issuer: url, endpoints: oauthEndpoints(url), clients: new ClientStore(db) });
}

/**
 * The DPoP nonce secret (RFC 9449 §8): HKDF-SHA256 of the refresh key's secret, so every instance that shares the
 * database derives the same one without another setting, and a nonce never reveals the refresh key. Derived once at
 * startup: the library's `dpop.nonceSecret` is fixed for the life of a `Tessera`, so after the refresh key is revoked
 * instances agree again only once each restarts (docs/operations.md says so).
 */
export function dpopNonceSecret(refreshKey: KeyObject): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', refreshKey.export(), new Uint8Array(0), 'tessera dpop nonce', 32));
}

/**
 * Deletes DPoP proofs past their window, and authorization codes a day past their lifetime (a late reuse must still
 * find the session to revoke, codes.ts); answers how many rows went. The hourly purge and `tessera purge` run it.
 */
export async function purgeOAuth(db: Kysely<ServerDatabase>, now: number): Promise<number> {
  const proofs = await answered(db.deleteFrom('tessera_dpop_proofs').where('expires_at', '<', now).executeTakeFirst());
  const codes = await answered(purgeCodes(db, now));
  return Number(proofs.numDeletedRows) + codes;
}
