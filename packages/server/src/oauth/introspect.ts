// POST /oauth/introspect (RFC 7662): a confidential client registered for an audience (a resource server) asks
// whether an access token is live. `active: true` needs all of: our signature and claims, a live session, an
// enabled user, and an `aud` the caller is registered for; anything else is `{"active": false}` and nothing
// more (§2.2), so the endpoint is no oracle for tokens of other audiences.
import { clientIdOf, InvalidClientError, InvalidRequestError, jktOf, RateLimitedError, TesseraError, type TokenClaims } from '@tessera/auth';
import type { FastifyInstance } from 'fastify';
import { send } from '../http-errors.js';
import type { Runtime } from '../runtime.js';
import { authenticateClient } from './client-auth.js';
import type { OAuthClient } from './clients.js';
import { oauthSchemas } from './endpoint-schemas.js';
import { formOf, oauthScope } from './form.js';
import { oauthJsonResult } from './oauth-errors.js';
import type { OAuthRuntime } from './oauth-runtime.js';

/**
 * Introspections per client and minute. A resource server may introspect on every request it serves, so the
 * bound is high; it exists so one leaked client secret cannot make the endpoint a token-testing oracle at
 * line rate (RFC 7662 §4: "the authorization server SHOULD ... protect against ... token scanning").
 */
export const INTROSPECTION_LIMIT = { limit: 1200, windowMs: 60_000 } as const;

/** The answer for every token that is not active (RFC 7662 §2.2: "SHOULD NOT include any additional information"). */
const INACTIVE = { active: false } as const;

/** An active token's answer (RFC 7662 §2.2). */
export interface ActiveIntrospection {
  readonly active: true;
  readonly scope?: string;
  readonly client_id: string;
  readonly sub: string;
  readonly exp: number;
  readonly iat: number;
  readonly iss: string;
  readonly aud: string | readonly string[];
  readonly token_type: 'Bearer' | 'DPoP';
  readonly cnf?: { readonly jkt: string };
}

/** The audiences a token names. */
function audiences(claims: TokenClaims): readonly string[] {
  const aud: unknown = claims.aud;
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

/**
 * What `caller` may learn about `token`: the active answer, or `{active: false}` for a token that does not
 * verify as an access token, names none of the caller's audiences, belongs to a session that has ended or
 * a user who is unknown or disabled.
 */
export async function introspect(
  runtime: Pick<Runtime, 'auth' | 'users' | 'clock'>,
  caller: Pick<OAuthClient, 'audiences'>,
  token: string,
): Promise<ActiveIntrospection | typeof INACTIVE> {
  let claims: TokenClaims;
  try {
    claims = runtime.auth.verifyAccessToken(token) as TokenClaims;
  } catch (err) {
    if (err instanceof TesseraError && err.status < 500) return INACTIVE;
    throw err;
  }
  // The audience first: a token of another audience costs no store read, and its state is none of the caller's business.
  if (!audiences(claims).some((aud) => caller.audiences.includes(aud))) return INACTIVE;
  const now = runtime.clock.now();
  const session = await runtime.auth.getSession(claims.sid);
  if (session === undefined || session.revokedAt !== null || Math.min(session.expiresAt, session.absoluteExpiresAt) <= now) return INACTIVE;
  const user = await runtime.users.recentById(claims.sub, now);
  if (user === undefined || user.disabledAt !== null) return INACTIVE;
  const jkt = jktOf(claims);
  return {
    active: true,
    ...(typeof claims.scope === 'string' && claims.scope !== '' ? { scope: claims.scope } : {}),
    client_id: clientIdOf(claims),
    sub: claims.sub,
    exp: claims.exp,
    iat: claims.iat,
    iss: claims.iss,
    aud: claims.aud as string | readonly string[],
    token_type: jkt === undefined ? 'Bearer' : 'DPoP',
    ...(jkt === undefined ? {} : { cnf: { jkt } }),
  };
}

/** Registers POST /oauth/introspect in its own form-only scope. */
export function introspectRoutes(app: FastifyInstance, runtime: Runtime, oauth: OAuthRuntime): void {
  oauthScope(app, oauth.endpoints.issuer, (scope) => {
    scope.post('/oauth/introspect', { schema: oauthSchemas.introspect }, async (request, reply) => {
      const params = formOf(request);
      const client = await authenticateClient({ headers: request.raw.rawHeaders, params }, oauth.clients);
      // RFC 7662 §2.1: the endpoint requires authorization; a public client proves nothing, so it may not ask.
      if (client.public) throw new InvalidClientError({ message: 'Introspection is for confidential clients' });
      const hit = await runtime.throttle.hit(`introspect:${client.id}`, INTROSPECTION_LIMIT);
      if (!hit.allowed) throw new RateLimitedError({ retryAfter: hit.retryAfterMs / 1000 });
      const token = params.get('token');
      if (token === undefined) throw new InvalidRequestError({ message: 'Send the token to introspect (token)' });
      return send(reply, oauthJsonResult(await introspect(runtime, client, token)));
    });
  });
}
