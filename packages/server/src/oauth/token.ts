// POST /oauth/token (RFC 6749 §3.2): the authorization code grant with PKCE (RFC 7636) and the refresh token
// grant. Refresh goes through the library's one rotation (`auth.refresh`, the same as /auth/refresh): grace,
// reuse detection and the cross-client and DPoP-key refusals are the library's, never a second implementation.
// No password grant and no implicit grant exist (RFC 9700 §2.4, §2.1.2).
import {
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  TesseraError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  type HttpResult,
  type SessionTokens,
  type TokenClaims,
} from '@tessera/auth';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { send } from '../http-errors.js';
import type { Runtime } from '../runtime.js';
import { authenticateClient } from './client-auth.js';
import { BUILT_IN_CLIENT, type OAuthClient } from './clients.js';
import { attachSession, consumeCode, VERIFIER_SHAPE } from './codes.js';
import { oauthSchemas } from './endpoint-schemas.js';
import { authRequestOf, formOf, oauthScope, type FormParams } from './form.js';
import { oauthJsonResult } from './oauth-errors.js';
import type { OAuthRuntime } from './oauth-runtime.js';

/** The token response (RFC 6749 §5.1), with the DPoP token type when the tokens are bound (RFC 9449 §5). */
export interface OAuthTokenBody {
  readonly access_token: string;
  readonly token_type: 'Bearer' | 'DPoP';
  readonly expires_in: number;
  readonly refresh_token: string;
  readonly scope?: string;
}

/** The RFC 6749 §5.1 answer for a session's tokens: `DPoP` when they are bound (`cnf.jkt`), and `scope` when one was granted. */
export function tokenAnswer(tokens: SessionTokens): HttpResult {
  const claims = tokens.access.claims as { cnf?: unknown; scope?: unknown };
  const scope = typeof claims.scope === 'string' && claims.scope !== '' ? { scope: claims.scope } : {};
  const body: OAuthTokenBody = {
    access_token: tokens.access.token,
    token_type: claims.cnf === undefined ? 'Bearer' : 'DPoP',
    expires_in: tokens.access.expiresIn,
    refresh_token: tokens.refresh.token,
    ...scope,
  };
  return oauthJsonResult(body);
}

/** A required parameter, or 400 `invalid_request` naming it. */
function required(params: FormParams, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw new InvalidRequestError({ message: `The parameter ${name} is missing` });
  return value;
}

/**
 * `grant_type=refresh_token` (RFC 6749 §6): the library's rotation, presented by this client with this
 * request's DPoP key. A bad, expired, reused, revoked or another client's token is `invalid_grant` (the
 * library refuses another client's before rotating, so that session is not revoked); a bound token without
 * a proof by its key is `invalid_dpop_proof`. `scope` may only repeat what was granted (no narrowing here).
 */
async function refreshGrant(runtime: Runtime, client: OAuthClient, params: FormParams, jkt: string | undefined): Promise<SessionTokens> {
  const token = required(params, 'refresh_token');
  const { auth, users, clock } = runtime;
  // Verified here to check the scope and the user before anything rotates, as /auth/refresh's hook does (an HMAC
  // check: microseconds); the rotation verifies it again with the presenter's client and key.
  let claims: TokenClaims;
  try {
    claims = auth.verifyRefreshToken(token);
  } catch (err) {
    throw err instanceof TesseraError ? new InvalidGrantError({ message: err.message, cause: err }) : err;
  }
  const requested = params.get('scope');
  if (requested !== undefined && requested !== claims.scope) {
    // RFC 6749 §6: a scope beyond the original grant is refused; this server re-issues the grant as it was.
    throw new InvalidScopeError({ message: 'A refresh keeps the scope granted; leave scope out or repeat it' });
  }
  const sub = claims.sub;
  // A disabled user's sessions do not rotate, here as at /auth/refresh (the guard's one-second-old read).
  const user = await users.recentById(sub, clock.now());
  if (user === undefined || user.disabledAt !== null) throw new InvalidGrantError({ message: 'The user of this grant is unknown or disabled' });
  return auth.refresh(token, { clientId: client.id, ...(jkt === undefined ? {} : { jkt }) });
}

/**
 * `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5): the code is consumed once (oauth/codes.ts
 * checks client, redirect URI, PKCE and expiry; a second use revokes what the first issued), then a session
 * is opened for the client, bound to the DPoP key when the request proved one.
 */
async function codeGrant(
  runtime: Runtime,
  client: OAuthClient,
  params: FormParams,
  jkt: string | undefined,
  request: FastifyRequest,
): Promise<SessionTokens> {
  const code = required(params, 'code');
  const redirectUri = required(params, 'redirect_uri');
  const verifier = required(params, 'code_verifier');
  if (!VERIFIER_SHAPE.test(verifier))
    throw new InvalidRequestError({ message: 'code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)' });
  const { auth, users, clock, database } = runtime;
  // Burnt first, then checked (client, redirect URI, PKCE, dpop_jkt, expiry); a second use revokes what the first opened.
  const redeemed = await consumeCode(database.db, code, {
    clientId: client.id,
    redirectUri,
    codeVerifier: verifier,
    jkt,
    now: clock.now(),
    sessions: auth,
  });
  const user = await users.byId(redeemed.userId);
  if (user === undefined || user.disabledAt !== null) throw new InvalidGrantError({ message: 'The user of this grant is unknown or disabled' });
  const claims: Record<string, unknown> = {
    // Roles are for the deployment's own clients; a third-party client's tokens carry its scope alone.
    ...(client.firstParty ? { roles: [...user.roles] } : {}),
    ...(redeemed.scope === null ? {} : { scope: redeemed.scope }),
  };
  const tokens = await auth.openSession({
    sub: user.id,
    transport: 'bearer',
    clientId: client.id,
    ...(jkt === undefined ? {} : { jkt }),
    claims,
    userAgent: request.headers['user-agent'],
    ip: request.ip,
  });
  // A reuse of the code that raced this exchange has marked it: this session ends at once (oauth/codes.ts).
  if (!(await attachSession(database.db, redeemed.codeHash, tokens.sid, auth)))
    throw new InvalidGrantError({ message: 'The authorization code is not valid' });
  // The cut-off of a login (docs/security.md): a password change, disable or logout-all since the sign-in ends it.
  if ((await users.credentialVersion(user.id)) !== redeemed.credentialVersion) {
    await auth.revokeSession(tokens.sid, 'logout_all');
    throw new InvalidGrantError({ message: 'The account changed since the sign-in; sign in again' });
  }
  return tokens;
}

/** Registers POST /oauth/token in its own form-only scope. */
export function tokenRoutes(app: FastifyInstance, runtime: Runtime, oauth: OAuthRuntime): void {
  oauthScope(app, oauth.endpoints.issuer, (scope) => {
    scope.post('/oauth/token', { schema: oauthSchemas.token }, async (request, reply) => {
      const params = formOf(request);
      const client = await authenticateClient({ headers: request.raw.rawHeaders, params }, oauth.clients);
      const grant = params.get('grant_type');
      if (grant === undefined) throw new InvalidRequestError({ message: 'The parameter grant_type is missing' });
      if (grant !== 'authorization_code' && grant !== 'refresh_token')
        throw new UnsupportedGrantTypeError({ message: 'The grant types are authorization_code and refresh_token' });
      // The built-in client signs in and refreshes through /auth/*, never here.
      if (client.id === BUILT_IN_CLIENT) throw new UnauthorizedClientError({ message: `${BUILT_IN_CLIENT} uses the /auth/* endpoints` });
      // The proof before the grant: a nonce challenge (use_dpop_nonce) must not cost the client its single-use code.
      const proof = await runtime.auth.dpopProof(authRequestOf(request));
      const jkt = proof?.jkt;
      const tokens =
        grant === 'refresh_token' ? await refreshGrant(runtime, client, params, jkt) : await codeGrant(runtime, client, params, jkt, request);
      return send(reply, tokenAnswer(tokens));
    });
  });
}
