// TESSERA_LEGACY_ACCESS: the server's own guarded routes take the replaced stack's access tokens until
// TESSERA_LEGACY_UNTIL, so pages still holding one keep working while they move. Never as fresh, and never
// on routes that act on sessions or credentials: those keep the plain guard. The library's adapters know
// nothing of this; it wraps the guard of a route of this server only.
import { LegacyCutoverEndedError, TokenRevokedError, UserInvalidError, type Identity } from '@tessera/auth';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Runtime } from '../runtime.js';
import { cutoverOf, type LegacyCutover } from './cutover.js';
import { headerOf, verifyLegacyToken } from './verify.js';

/** Our access tokens say so in their header (RFC 9068); the old stacks write `JWT` or nothing. */
const OUR_TYPES: ReadonlySet<unknown> = new Set(['at+jwt', 'rt+jwt']);

/**
 * `guard`, or, when the request's one Bearer token is the old stack's access token, that token instead.
 * Without a cut-over with TESSERA_LEGACY_ACCESS, `guard` itself.
 */
export function orLegacyAccess(runtime: Runtime, guard: preHandlerAsyncHookHandler): preHandlerAsyncHookHandler {
  const cutover = cutoverOf(runtime);
  if (cutover === undefined || !cutover.access) return guard;
  return async function legacyOrGuard(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const token = legacyBearer(request);
    if (token === undefined) return guard.call(this, request, reply);
    request.auth = await legacyIdentity(runtime, cutover, token);
    return undefined;
  };
}

/** The token of a lone `Authorization: Bearer` line whose header is not one of ours. */
function legacyBearer(request: FastifyRequest): string | undefined {
  const raw = request.raw.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'authorization') continue;
    // Two Authorization lines: the plain guard refuses them (400), as on every route.
    if (value !== undefined) return undefined;
    value = raw[i + 1];
  }
  const m = value === undefined ? null : /^Bearer +([A-Za-z0-9_.-]+)$/i.exec(value);
  const header = m?.[1] === undefined ? undefined : headerOf(m[1]);
  return header === undefined || OUR_TYPES.has(header.typ) ? undefined : m?.[1];
}

async function legacyIdentity(runtime: Runtime, cutover: LegacyCutover, token: string): Promise<Identity<unknown>> {
  const now = runtime.clock.now();
  if (now >= cutover.until) throw new LegacyCutoverEndedError();
  const claims = verifyLegacyToken(token, 'access', cutover.verifier, now);
  if (await cutover.store.isRevoked(claims.jti)) throw new TokenRevokedError({ message: 'This token was revoked before the move to Tessera' });
  const found = await cutover.store.userByLegacyId(claims.user);
  // The same user rules as our own tokens: the user exists and is enabled; and as for exchange, nothing changed here since the import.
  const user = found === undefined || found.disabled ? undefined : await runtime.users.recentById(found.id, now);
  if (user === undefined || user.disabledAt !== null) throw new UserInvalidError();
  if (user.credentialVersion !== 0)
    throw new TokenRevokedError({ message: 'The account changed since it moved to Tessera; sign in with its password' });
  runtime.metrics.legacyAccepts.inc({ kind: 'access' });
  const iat = Math.floor(now / 1000);
  return {
    kind: 'access',
    token,
    // Our claim names, for handlers that read them: no session (`sid` names the old token), never fresh.
    claims: {
      iss: 'legacy',
      aud: 'legacy',
      sub: user.id,
      iat,
      exp: claims.exp,
      jti: claims.jti,
      sid: `legacy:${claims.jti}`,
      type: 'access',
      fresh: false,
    },
    sub: user.id,
    sid: `legacy:${claims.jti}`,
    location: 'header',
    user,
  };
}
