// Authorization codes (RFC 6749 §4.1.2, RFC 7636, RFC 9700 §2.1.1, §4.5): issued by /oauth/authorize after a
// sign-in, exchanged once at /oauth/token. A code is 256 random bits; the table keeps only its SHA-256, so a
// copy of the database redeems nothing. Each code is bound to its client, its exact redirect URI, its PKCE
// challenge and, when the authorization request named one, a DPoP key (RFC 9449 §10). Single use is one
// conditional UPDATE; a code presented again revokes the session its first use opened (RFC 6749 §4.1.2).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidGrantError, type RevokeReason } from '@tessera/auth';
import type { Kysely } from 'kysely';
import type { ServerDatabase } from '../db/schema.js';

/** A code lives 60 seconds (RFC 6749 §4.1.2 recommends at most ten minutes; a browser redirect takes one). */
export const CODE_TTL_MS = 60_000;

/**
 * What `session_id` holds once a second use of the code was seen before the first one opened its session: the
 * first exchange's `attachSession` then finds the slot taken and ends the session it just opened. No session id
 * contains `!` (they are base64url).
 */
const REUSED = '!reused';

/** A code as issued: 32 random bytes, base64url (43 characters). */
const CODE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** RFC 7636 §4.1: `code_verifier` is 43 to 128 unreserved characters. */
export const VERIFIER_SHAPE = /^[A-Za-z0-9._~-]{43,128}$/;

/** What a code is bound to, and who signed in for it. */
export interface CodeGrant {
  readonly clientId: string;
  /** The redirect URI exactly as the authorization request sent it (RFC 6749 §4.1.3 compares it again). */
  readonly redirectUri: string;
  /** The S256 challenge, base64url (RFC 7636 §4.2). */
  readonly codeChallenge: string;
  readonly userId: string;
  /** Space-separated scope tokens, or null when none were asked for. */
  readonly scope: string | null;
  /** The `dpop_jkt` of the authorization request (RFC 9449 §10): the token request's proof must be by that key. */
  readonly jkt: string | null;
  /** The user's credential version read with the password hash at sign-in (docs/security.md, the cut-off). */
  readonly credentialVersion: number;
}

/** What the token endpoint presents with a code (RFC 6749 §4.1.3, RFC 7636 §4.5). */
export interface CodeExchange {
  /** The authenticated client (or the public client's `client_id`). */
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeVerifier: string;
  /** The thumbprint of the token request's DPoP proof, when it carried one. */
  readonly jkt?: string | undefined;
  /** Epoch milliseconds. */
  readonly now: number;
  /** Ends the session a reused code opened: the runtime's `Tessera` (`auth`). */
  readonly sessions: SessionRevoker;
}

/** The one verb of `Tessera` that a reused code needs. */
export interface SessionRevoker {
  revokeSession(sid: string, reason: RevokeReason): Promise<boolean>;
}

/** A code accepted once: what the session it opens is made of. */
export interface RedeemedCode extends CodeGrant {
  /** The code's key in the table: pass it to `attachSession` once the session is stored. */
  readonly codeHash: string;
}

/** The table key of a code: hex SHA-256 of its text. */
export function hashCode(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/**
 * Stores a new code for `grant`, valid `CODE_TTL_MS` from `now`, and answers it; only its hash is kept.
 * @example const code = await issueCode(db, { clientId, redirectUri, codeChallenge, userId, scope: null, jkt: null, credentialVersion }, clock.now());
 */
export async function issueCode(db: Kysely<ServerDatabase>, grant: CodeGrant, now: number): Promise<string> {
  const code = randomBytes(32).toString('base64url');
  await db
    .insertInto('tessera_oauth_codes')
    .values({
      code_hash: hashCode(code),
      client_id: grant.clientId,
      redirect_uri: grant.redirectUri,
      code_challenge: grant.codeChallenge,
      user_id: grant.userId,
      scope: grant.scope,
      jkt: grant.jkt,
      credential_version: grant.credentialVersion,
      created_at: now,
      expires_at: now + CODE_TTL_MS,
      used_at: null,
      session_id: null,
    })
    .execute();
  return code;
}

/**
 * Redeems a code for `/oauth/token` (`grant_type=authorization_code`), or throws `InvalidGrantError`. The code is
 * marked used first, in one conditional UPDATE, and only then checked, so that two exchanges in parallel never
 * both pass and a failed check (another client, another redirect URI, a wrong `code_verifier`, another DPoP
 * key, expired) burns it: a stolen code gets one guess at the verifier (RFC 9700 §4.5.3).
 *
 * A code that was used already is refused and the session its first use opened is revoked (reason `reuse`), here,
 * through `exchange.sessions` (RFC 6749 §4.1.2: "SHOULD revoke all tokens previously issued based on that
 * authorization code"). If that first exchange has not stored its session yet, the code is marked so that its
 * `attachSession` answers false and that session ends too.
 *
 * The caller then opens the session (client, `jkt`, `claims: { scope }` from the answer), calls
 * `attachSession(db, redeemed.codeHash, sid, sessions)` and refuses with `invalid_grant` when it answers false;
 * and it cuts the session off like a login does when the user's credential version is no longer
 * `redeemed.credentialVersion` (a password change, a disable or a logout-all since the sign-in).
 * @example const redeemed = await consumeCode(db, body.code, { clientId, redirectUri, codeVerifier, jkt: proof?.jkt, now: clock.now(), sessions: auth });
 */
export async function consumeCode(db: Kysely<ServerDatabase>, code: unknown, exchange: CodeExchange): Promise<RedeemedCode> {
  if (typeof code !== 'string' || !CODE_SHAPE.test(code)) throw new InvalidGrantError({ message: 'The authorization code is not valid' });
  const codeHash = hashCode(code);
  const row = await db
    .updateTable('tessera_oauth_codes')
    .set({ used_at: exchange.now })
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (row === undefined) {
    await refuseReuse(db, codeHash, exchange.sessions);
    throw new InvalidGrantError({ message: 'The authorization code is not valid' });
  }
  // Every check below runs on a code already burnt: one answer for each, none saying which binding failed.
  const refuse = (why: string): never => {
    throw new InvalidGrantError({ message: `The authorization code ${why}` });
  };
  if (Number(row.expires_at) <= exchange.now) refuse('has expired');
  if (row.client_id !== exchange.clientId) refuse('was issued to another client');
  // RFC 6749 §4.1.3: the same redirect URI as the authorization request, compared as a string.
  if (row.redirect_uri !== exchange.redirectUri) refuse('was issued for another redirect_uri');
  if (!verifierMatches(exchange.codeVerifier, row.code_challenge)) refuse('does not match the code_verifier (RFC 7636 §4.6)');
  // RFC 9449 §10: a code bound by `dpop_jkt` is redeemed only with a proof by that very key.
  if (row.jkt !== null && row.jkt !== exchange.jkt) refuse('is bound to another DPoP key');
  return {
    codeHash,
    clientId: row.client_id,
    redirectUri: row.redirect_uri,
    codeChallenge: row.code_challenge,
    userId: row.user_id,
    scope: row.scope,
    jkt: row.jkt,
    credentialVersion: Number(row.credential_version ?? 0),
  };
}

/**
 * Records the session a redeemed code opened, so that a later reuse of the code can end it. Answers false when
 * the code was presented again before this ran: the session `sid` has been revoked here, and the token request
 * must be refused with `invalid_grant`.
 * @example if (!(await attachSession(db, redeemed.codeHash, tokens.sid, auth))) throw new InvalidGrantError();
 */
export async function attachSession(db: Kysely<ServerDatabase>, codeHash: string, sid: string, sessions: SessionRevoker): Promise<boolean> {
  const result = await db
    .updateTable('tessera_oauth_codes')
    .set({ session_id: sid })
    .where('code_hash', '=', codeHash)
    .where('session_id', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows > 0n) return true;
  await sessions.revokeSession(sid, 'reuse');
  return false;
}

/**
 * Deletes up to `limit` codes expired for more than `keepMs` (default one day), oldest first, through the index on
 * `expires_at`: a used code is kept a while after its expiry so that a late reuse still finds, and ends, its
 * session. Answers how many were deleted; the purge (oauth-runtime.ts) repeats it until fewer than `limit` go.
 * @example await purgeCodes(db, clock.now(), 1000);
 */
export async function purgeCodes(db: Kysely<ServerDatabase>, now: number, limit: number, keepMs = 24 * 3600_000): Promise<number> {
  const result = await db
    .deleteFrom('tessera_oauth_codes')
    .where(
      'code_hash',
      'in',
      db
        .selectFrom('tessera_oauth_codes')
        .select('code_hash')
        .where('expires_at', '<', now - keepMs)
        .orderBy('expires_at')
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A second use: marks the code (for a first exchange still in flight) or ends the session it opened. */
async function refuseReuse(db: Kysely<ServerDatabase>, codeHash: string, sessions: SessionRevoker): Promise<void> {
  const marked = await db
    .updateTable('tessera_oauth_codes')
    .set({ session_id: REUSED })
    .where('code_hash', '=', codeHash)
    .where('session_id', 'is', null)
    .executeTakeFirst();
  if (marked.numUpdatedRows > 0n) return;
  const row = await db.selectFrom('tessera_oauth_codes').select('session_id').where('code_hash', '=', codeHash).executeTakeFirst();
  if (row?.session_id !== undefined && row.session_id !== null && row.session_id !== REUSED) await sessions.revokeSession(row.session_id, 'reuse');
}

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) equals the stored challenge, compared in constant time. */
export function verifierMatches(verifier: unknown, challenge: string): boolean {
  if (typeof verifier !== 'string' || !VERIFIER_SHAPE.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'), 'utf8');
  const stored = Buffer.from(challenge, 'utf8');
  return computed.length === stored.length && timingSafeEqual(computed, stored);
}
