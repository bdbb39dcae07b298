// Registration, login, the caller's account and password change. Token handling is the library's
// (the Fastify adapter and the session manager); this file holds only the account rules.
import {
  InvalidCredentialsError,
  jsonResult,
  RateLimitedError,
  tokenResult,
  UserInvalidError,
  UsernameTakenError,
  ValidationError,
  type AuthRequest,
  type Transport,
} from '@tessera/auth';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { send } from '../http-errors.js';
import type { Runtime } from '../runtime.js';
import { canonicalUsername, normalisePassword } from '../users/credentials.js';
import type { User } from '../users/user-store.js';
import { schemas } from './schemas.js';

/** Throttles an attempt per account-and-address and per address (so nobody can lock a victim out). */
async function throttle(runtime: Runtime, action: string, account: string, ip: string): Promise<void> {
  const { loginLimit, loginIpLimit } = runtime.config;
  const [pair, address] = await Promise.all([
    runtime.throttle.hit(`${action}:${account}|${ip}`, { limit: loginLimit.count, windowMs: loginLimit.window * 1000 }),
    runtime.throttle.hit(`${action}-ip:${ip}`, { limit: loginIpLimit.count, windowMs: loginIpLimit.window * 1000 }),
  ]);
  const refused = [pair, address].filter((r) => !r.allowed);
  if (refused.length > 0) throw new RateLimitedError({ retryAfter: Math.max(...refused.map((r) => r.retryAfterMs)) / 1000 });
}

function field<T>(result: { ok: true; value: T } | { ok: false; problem: string }): T {
  if (!result.ok) throw new ValidationError({ message: result.problem });
  return result.value;
}

export function accountRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { users, hasher, auth, clock } = runtime;
  const body = (request: FastifyRequest): Record<string, unknown> => (request.body ?? {}) as Record<string, unknown>;

  app.post('/auth/register', { schema: schemas.register }, async (request, reply) => {
    const username = field(canonicalUsername(body(request).username));
    const password = field(normalisePassword(body(request).password));
    await throttle(runtime, 'register', username, request.ip);
    const user = await users.create({ username, passwordHash: await hasher.hash(password), now: clock.now() });
    if (user === undefined) throw new UsernameTakenError();
    return send(reply, jsonResult(201, { id: user.id, username: user.username }));
  });

  /** The credential check: same answer and same work for an unknown user and a wrong password. */
  const check = async (raw: unknown, request: AuthRequest): Promise<{ sub: string; claims: Record<string, unknown> } | null> => {
    const input = (raw ?? {}) as Record<string, unknown>;
    const name = canonicalUsername(input.username);
    const password = normalisePassword(input.password);
    const ip = request.ip ?? 'unknown';
    await throttle(runtime, 'login', name.ok ? name.value : 'invalid', ip);
    const user = name.ok ? await users.byUsername(name.value) : undefined;
    const ok =
      user !== undefined && user.disabledAt === null && password.ok
        ? await hasher.verify(user.passwordHash, password.value)
        : await hasher.verifyNobody(password.ok ? password.value : '');
    runtime.metrics.logins.inc({ result: ok ? 'success' : 'failure' });
    if (!ok || user === undefined) return null;
    return { sub: user.id, claims: { roles: [...user.roles] } };
  };
  app.post('/auth/login', { schema: schemas.login }, app.tessera.login(check, { transports: runtime.config.transports }));

  app.get('/auth/me', { schema: schemas.me, preHandler: app.tessera.required() }, async (request, reply) => {
    const user = app.tessera.identity(request).user as User;
    return send(reply, jsonResult(200, { id: user.id, username: user.username, roles: user.roles }));
  });

  app.post('/auth/password', { schema: schemas.password, preHandler: app.tessera.fresh() }, async (request, reply) => {
    const caller = app.tessera.identity(request);
    // Read afresh, not the guard's copy (up to a second old): the hash checked must be the current one.
    const user = await users.byId((caller.user as User).id);
    if (user === undefined || user.disabledAt !== null) throw new UserInvalidError();
    const current = normalisePassword(body(request).current_password);
    const next = field(normalisePassword(body(request).new_password));
    await throttle(runtime, 'password', user.id, request.ip);
    if (!current.ok || !(await hasher.verify(user.passwordHash, current.value)))
      throw new InvalidCredentialsError({ message: 'The current password is not right' });
    await users.setPassword(user.id, await hasher.hash(next), clock.now());
    await auth.revokeUserSessions(user.id, 'password_change');
    const transport = transportOf(request, caller.location, auth.config.cookies.names.refresh);
    const tokens = await auth.openSession({
      sub: user.id,
      transport,
      claims: { roles: [...user.roles] },
      userAgent: request.headers['user-agent'],
      ip: request.ip,
    });
    return send(reply, tokenResult(auth.config, tokens, transport));
  });
}

/** The transport the caller's session uses, so the new pair after a password change travels the same way. */
function transportOf(request: FastifyRequest, location: string, refreshCookie: string): Transport {
  if (location === 'cookie') return 'cookie';
  return (request.headers.cookie ?? '').includes(`${refreshCookie}=`) ? 'hybrid' : 'bearer';
}
