// Registration, login, the caller's account and password change. Token handling is the library's
// (the Fastify adapter and the session manager); this file holds only the account rules.
import {
  clientIdOf,
  InvalidCredentialsError,
  jktOf,
  jsonResult,
  TokenRevokedError,
  tokenResult,
  UserInvalidError,
  UsernameTakenError,
  ValidationError,
  type AuthRequest,
  type LoginIdentity,
  type TokenClaims,
  type Transport,
} from '@tessera/auth';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { send } from '../http-errors.js';
import { orLegacyAccess } from '../legacy/access.js';
import type { Runtime } from '../runtime.js';
import { LoginThrottle } from '../users/login-throttle.js';
import { PasswordSignIn } from '../users/password-sign-in.js';
import { checkNewPassword, normaliseLoginPassword } from '../users/password-policy.js';
import { checkNewUsername } from '../users/username/index.js';
import type { User } from '../users/user-store.js';
import { schemas } from './schemas.js';

/** A checked field's value; a refusal is 422 with the rule's own sentence. */
function field<T>(result: { ok: true; value: T } | { ok: false; problem: string }): T {
  if (!result.ok) throw new ValidationError({ message: result.problem });
  return result.value;
}

export function accountRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { users, hasher, auth, clock, firstParty } = runtime;
  const body = (request: FastifyRequest): Record<string, unknown> => (request.body ?? {}) as Record<string, unknown>;
  const throttle = new LoginThrottle(runtime.throttle, runtime.config, (err) => runtime.log.warn({ err: String(err) }, 'throttle reset failed'));

  app.post('/auth/register', { schema: schemas.register }, async (request, reply) => {
    const name = checkNewUsername(body(request).username);
    if (!name.ok) {
      // A mixed-script look-alike of a taken name (Cyrillic а in "dаve") is answered as taken.
      if (name.lookalikeOf !== undefined && (await users.skeletonTaken(name.lookalikeOf))) throw new UsernameTakenError();
      throw new ValidationError({ message: name.problem });
    }
    const password = field(checkNewPassword(body(request).password, { username: name.key, minLength: runtime.config.passwordMinLength }));
    const attempt = await throttle.begin('register', name.key, request.ip);
    const user = await users.create({ username: name, passwordHash: await hasher.hash(password), now: clock.now() });
    if (user === undefined) throw new UsernameTakenError();
    await attempt.succeeded();
    return send(reply, jsonResult(201, { id: user.id, username: user.username }));
  });

  /** The credential check (users/password-sign-in.ts): same answer and same work for an unknown user and a wrong password. */
  const signIn = new PasswordSignIn(runtime);
  const check = async (raw: unknown, request: AuthRequest): Promise<LoginIdentity | null> => {
    const input = (raw ?? {}) as Record<string, unknown>;
    const user = await signIn.check(input.username, input.password, request.ip ?? 'unknown');
    if (user === undefined) return null;
    // The cut-off (docs/security.md): the version read with the hash must still stand once the session
    // is stored, or a password change, disable or logout-all ran meanwhile and the session ends.
    const version = user.credentialVersion;
    return { sub: user.id, claims: { roles: [...user.roles] }, stillValid: async () => (await users.credentialVersion(user.id)) === version };
  };
  app.post('/auth/login', { schema: schemas.login }, app.tessera.login(check, { transports: runtime.config.transports }));

  app.get('/auth/me', { schema: schemas.me, preHandler: orLegacyAccess(runtime, app.tessera.required()) }, async (request, reply) => {
    const caller = app.tessera.identity(request);
    const user = caller.user as User;
    const changeRequired = user.passwordChangeRequired ? { password_change_required: true } : {};
    // Roles stay with first-party clients, as in the tokens /oauth/token mints for the others.
    const roles = (await firstParty.isFirstParty(caller.claims as TokenClaims)) ? user.roles : [];
    return send(reply, jsonResult(200, { id: user.id, username: user.username, roles, ...changeRequired }));
  });

  app.post('/auth/password', { schema: schemas.password, preHandler: app.tessera.fresh() }, async (request, reply) => {
    const caller = app.tessera.identity(request);
    await firstParty.require(caller.claims as TokenClaims);
    // Read afresh, not the guard's copy (up to a second old): the hash checked must be the current one.
    const user = await users.byId((caller.user as User).id);
    if (user === undefined || user.disabledAt !== null) throw new UserInvalidError();
    const current = normaliseLoginPassword(body(request).current_password);
    const next = field(checkNewPassword(body(request).new_password, { username: user.username, minLength: runtime.config.passwordMinLength }));
    const attempt = await throttle.begin('password', user.id, request.ip);
    if (!current.ok || !(await hasher.verify(user.passwordHash, current.value)))
      throw new InvalidCredentialsError({ message: 'The current password is not right' });
    await attempt.succeeded();
    // Only over the version the current password was checked against: a change that landed since
    // (another password, a disable, a logout-all) has revoked this caller's session already.
    const version = await users.setPassword(user.id, await hasher.hash(next), clock.now(), user.credentialVersion);
    if (version === undefined) throw superseded();
    await auth.revokeUserSessions(user.id, 'password_change');
    const transport = transportOf(request, caller.location, auth.config.cookies.names.refresh);
    // The new session keeps the caller's client and DPoP key (verified by the guard): a bound session stays bound.
    // A token without client_id predates clients and is the first-party client's.
    const claims = caller.claims as TokenClaims;
    const jkt = jktOf(claims);
    const tokens = await auth.openSession({
      sub: user.id,
      transport,
      clientId: clientIdOf(claims),
      ...(typeof jkt === 'string' ? { jkt } : {}),
      claims: { roles: [...user.roles] },
      userAgent: request.headers['user-agent'],
      ip: request.ip,
    });
    // The new session is cut off like a login's: a change after ours may have revoked before it was stored.
    if ((await users.credentialVersion(user.id)) !== version) {
      await auth.revokeSession(tokens.sid, 'logout_all');
      throw superseded();
    }
    return send(reply, tokenResult(auth.config, tokens, transport));
  });
}

function superseded(): TokenRevokedError {
  return new TokenRevokedError({ message: 'The account changed again while the password was being changed; sign in again' });
}

/** The transport the caller's session uses, so the new pair after a password change travels the same way. */
function transportOf(request: FastifyRequest, location: string, refreshCookie: string): Transport {
  if (location === 'cookie') return 'cookie';
  return (request.headers.cookie ?? '').includes(`${refreshCookie}=`) ? 'hybrid' : 'bearer';
}
