// POST /auth/exchange: a refresh token of the replaced stack for a Tessera session, once. It is a login
// whose credential is that token, so the library's login handler runs it (transport choice, Origin and
// JSON rules for cookies, the answer per transport); this file is only the credential check.
//
// Exchanged once, all or nothing. The library's session store writes a session in one statement of its
// own and cannot join a transaction of ours (and on SQLite, one connection behind a mutex, a transaction
// of ours around it would deadlock). So the order does the work instead:
//   1. the session row is stored (the login handler, `openSession`);
//   2. `stillValid`, which the handler runs before any token leaves, inserts the jti row naming that
//      session under the primary key: of two exchanges at once exactly one inserts;
//   3. only then are the tokens answered.
// A loser of step 2 ends its own session (the handler revokes it when `stillValid` throws), revokes the
// winner's (reuse detection, as for our refresh tokens) and answers 401 `legacy_token_reused`. A crash
// between 1 and 2 leaves a session whose tokens never left the server: nothing can use it (it stays in
// the user's device list until it expires or is revoked, then purge deletes it), and the legacy token is
// still unspent. No outcome has tokens out without the jti row, or the jti row
// naming a session that was never stored.
import {
  LegacyCutoverEndedError,
  LegacyTokenReusedError,
  TokenRevokedError,
  UserInvalidError,
  type CredentialCheck,
  type LoginIdentity,
} from '@tessera/auth';
import type { Runtime } from '../runtime.js';
import type { LegacyCutover } from './cutover.js';
import { verifyLegacyToken } from './verify.js';

/** The credential check of `/auth/exchange`: the old refresh token in `refresh_token`. */
export function exchangeCheck(runtime: Runtime, cutover: LegacyCutover): CredentialCheck {
  const { auth, clock, users, metrics } = runtime;
  const { store } = cutover;

  /** Reuse: the session the first exchange opened ends, and this one is refused. */
  const reused = async (sessionId: string): Promise<never> => {
    await auth.revokeSession(sessionId, 'reuse');
    throw new LegacyTokenReusedError();
  };

  return async (body): Promise<LoginIdentity> => {
    const now = clock.now();
    if (now >= cutover.until) throw new LegacyCutoverEndedError();
    // The body schema has checked that refresh_token is a string.
    const token = (body as { refresh_token: string }).refresh_token;
    const claims = verifyLegacyToken(token, 'refresh', cutover.verifier, now);
    if (await store.isRevoked(claims.jti)) throw new TokenRevokedError({ message: 'This token was revoked before the move to Tessera' });
    // The common replay is refused here, before a session is opened; a replay racing the first exchange is settled in stillValid.
    const earlier = await store.exchangedInto(claims.jti);
    if (earlier !== undefined) return reused(earlier);
    const user = await store.userByLegacyId(claims.user);
    if (user === undefined || user.disabled) throw new UserInvalidError();
    // A password change, disable or logout-all here bumps the version from the 0 of the import: old tokens are dead.
    if (user.credentialVersion !== 0) throw changed();
    return {
      sub: user.id,
      // A refresh token is not a password entry: the session never passes a fresh() guard.
      fresh: false,
      claims: { roles: [...user.roles] },
      stillValid: async ({ sid }) => {
        const claim = await store.claim({ jti: claims.jti, sessionId: sid, userId: user.id, now: clock.now() });
        if (!claim.won) return reused(claim.sessionId);
        // The credential cut-off, as for a password login: a change that landed since the read above revoked
        // the user's sessions, possibly before ours was stored. The token stays spent either way.
        if ((await users.credentialVersion(user.id)) !== 0) throw changed();
        metrics.legacyAccepts.inc({ kind: 'exchange' });
        return true;
      },
    };
  };
}

function changed(): TokenRevokedError {
  return new TokenRevokedError({ message: 'The account changed since it moved to Tessera; sign in with its password' });
}
