// POST /oauth/revoke (RFC 7009): a client ends a session it holds a token of. Only the function that ends a
// session is shared with /auth/logout (`auth.revokeSession`); the answers differ: here anything that is not
// this client's live token is a 200 that changes nothing (§2.2), so the endpoint reveals nothing of tokens.
import { clientIdOf, InvalidRequestError, TesseraError, type TokenClaims } from '@tessera/auth';
import type { FastifyInstance } from 'fastify';
import { send } from '../http-errors.js';
import type { Runtime } from '../runtime.js';
import { authenticateClient } from './client-auth.js';
import { oauthSchemas } from './endpoint-schemas.js';
import { formOf, oauthScope } from './form.js';
import { OAUTH_JSON_HEADERS } from './oauth-errors.js';
import type { OAuthRuntime } from './oauth-runtime.js';

/** The kinds a token may be, in the order to try them: the hint first (RFC 7009 §2.1), then the other. */
type Kind = 'refresh' | 'access';

/** The kinds to try for `hint`: an unknown hint is ignored, as §2.1 lets the server extend its search. */
function kindsFor(hint: string | undefined): readonly Kind[] {
  return hint === 'access_token' ? ['access', 'refresh'] : ['refresh', 'access'];
}

/**
 * The claims of `token` when it verifies as one of our refresh or access tokens, else undefined. Expired
 * tokens count as unknown: an expired refresh token names a session that can no longer rotate, and an
 * expired access token is useless already (the client revokes the refresh token to end its session).
 */
export function verifiedClaims(runtime: Pick<Runtime, 'auth'>, token: string, hint: string | undefined): TokenClaims | undefined {
  for (const kind of kindsFor(hint)) {
    try {
      return kind === 'refresh' ? runtime.auth.verifyRefreshToken(token) : runtime.auth.verifyAccessToken(token);
    } catch (err) {
      if (!(err instanceof TesseraError)) throw err;
    }
  }
  return undefined;
}

/**
 * Revokes the session of `token` when it was issued to `clientId`; answers whether a session was ended by
 * this call. Another client's token, an unknown, malformed, expired or already revoked one: nothing changes.
 */
export async function revokeToken(runtime: Pick<Runtime, 'auth'>, clientId: string, token: string, hint: string | undefined): Promise<boolean> {
  const claims = verifiedClaims(runtime, token, hint);
  // §2.1: "the authorization server first validates the client credentials ... and then verifies whether the
  // token was issued to the client making the revocation request"; if not, §2.2 answers 200 all the same.
  if (claims === undefined || clientIdOf(claims) !== clientId) return false;
  return runtime.auth.revokeSession(claims.sid, 'logout');
}

/** Registers POST /oauth/revoke in its own form-only scope. */
export function revokeRoutes(app: FastifyInstance, runtime: Runtime, oauth: OAuthRuntime): void {
  oauthScope(app, oauth.endpoints.issuer, (scope) => {
    scope.post('/oauth/revoke', { schema: oauthSchemas.revoke }, async (request, reply) => {
      const params = formOf(request);
      const client = await authenticateClient({ headers: request.raw.rawHeaders, params }, oauth.clients);
      const token = params.get('token');
      if (token === undefined) throw new InvalidRequestError({ message: 'Send the token to revoke (token)' });
      await revokeToken(runtime, client.id, token, params.get('token_type_hint'));
      // §2.2: 200 whether or not anything was revoked; the body is empty (the client ignores it).
      const { 'cache-control': cacheControl, pragma } = OAUTH_JSON_HEADERS;
      return send(reply, { status: 200, headers: { 'cache-control': cacheControl, pragma }, body: undefined });
    });
  });
}
