// What an instance holds for OAuth when TESSERA_ISSUER turns it on (docs/oauth.md "Turning it on"), and the
// pieces it holds either way: the DPoP replay store and nonce secret (DPoP works at /auth/* with OAuth off too).
import { hkdfSync } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Key, KeyRing } from '@tessera/auth';
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
 * The DPoP nonce secret (RFC 9449 §8): HKDF-SHA256 of the secret of the refresh key the ring holds now, so every
 * instance that shares the database derives the same one without another setting, and a nonce never reveals the
 * refresh key. Answered as a function the library asks at each nonce made or checked: the 2-second key reload swaps
 * the ring in place, so after the refresh key changes (`tessera keys revoke`, a restore) every instance moves to the
 * new secret within one reload, without a restart; the library keeps accepting nonces of the previous secret for
 * the rest of their window, so clients mid-flight and instances not yet reloaded still agree. Derived once per key.
 */
export function dpopNonceSecret(refreshKeys: KeyRing): () => Uint8Array {
  let derived: { key: Key; secret: Uint8Array } | undefined;
  return () => {
    const key = refreshKeys.signingKey;
    if (derived?.key !== key) {
      // A ring's signing key always holds its secret (createKeyRing refuses one without).
      const secret = key.signingKey;
      if (secret === undefined) throw new Error('The current refresh-token key has no secret: run `tessera keys list`.');
      derived = { key, secret: new Uint8Array(hkdfSync('sha256', secret.export(), new Uint8Array(0), 'tessera dpop nonce', 32)) };
    }
    return derived.secret;
  };
}

/**
 * Deletes DPoP proofs past their window, and authorization codes a day past their lifetime (a late reuse must still
 * find the session to revoke, codes.ts); answers how many rows went. The hourly purge and `tessera purge` run it,
 * in batches of `batch` rows through the tables' `expires_at` indexes, yielding the event loop between two (SQLite
 * has one writer) and stopping between two when `signal` is aborted.
 */
export async function purgeOAuth(db: Kysely<ServerDatabase>, now: number, options: { signal?: AbortSignal; batch?: number } = {}): Promise<number> {
  const batch = options.batch ?? 1000;
  const proofs = (limit: number) =>
    db
      .deleteFrom('tessera_dpop_proofs')
      .where(({ eb, refTuple, selectFrom }) =>
        eb(
          refTuple('jkt', 'jti'),
          'in',
          selectFrom('tessera_dpop_proofs')
            .select(['jkt', 'jti'])
            .where('expires_at', '<', now)
            .orderBy('expires_at')
            .limit(limit)
            .$asTuple('jkt', 'jti'),
        ),
      )
      .executeTakeFirst()
      .then((result) => Number(result.numDeletedRows));
  let deleted = 0;
  for (const step of [proofs, (limit: number) => purgeCodes(db, now, limit)]) {
    for (;;) {
      if (options.signal?.aborted === true) return deleted;
      const rows = await answered(step(batch));
      deleted += rows;
      if (rows < batch) break;
      await yieldToLoop();
    }
  }
  return deleted;
}
