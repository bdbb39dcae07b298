// Logout, logout-all and the caller's own sessions (devices).
import { jsonResult, loggedOutResult, NotFoundError, type TokenClaims } from '@tessera/auth';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { send } from '../http-errors.js';
import type { Runtime } from '../runtime.js';
import { schemas } from './schemas.js';

export function sessionRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { auth, users, firstParty } = runtime;
  // Account management: first-party clients only (oauth/first-party.ts).
  const manager = [
    app.tessera.required(),
    async (request: FastifyRequest) => firstParty.require(app.tessera.identity(request).claims as TokenClaims),
  ];

  app.post('/auth/refresh', { schema: schemas.refresh }, app.tessera.refresh());
  app.post('/auth/logout', { schema: schemas.logout }, app.tessera.logout());

  app.post('/auth/logout-all', { schema: schemas.logoutAll, preHandler: manager }, async (request, reply) => {
    const { sub } = app.tessera.identity(request);
    // The version first, then the sessions: a login in flight either is revoked here or sees the bump.
    await users.bumpCredentialVersion(sub);
    await auth.revokeUserSessions(sub, 'logout_all');
    return send(reply, loggedOutResult(auth.config));
  });

  app.get('/auth/sessions', { schema: schemas.sessions, preHandler: manager }, async (request, reply) => {
    const caller = app.tessera.identity(request);
    const sessions = await auth.listSessions(caller.sub);
    return send(
      reply,
      jsonResult(
        200,
        sessions.map((s) => ({
          id: s.id,
          current: s.id === caller.sid,
          created_at: new Date(s.createdAt).toISOString(),
          last_used_at: new Date(s.lastUsedAt).toISOString(),
          expires_at: new Date(Math.min(s.expiresAt, s.absoluteExpiresAt)).toISOString(),
          user_agent: s.userAgent,
          ip: s.ip,
        })),
      ),
    );
  });

  app.delete<{ Params: { id: string } }>('/auth/sessions/:id', { schema: schemas.revokeSession, preHandler: manager }, async (request, reply) => {
    const caller = app.tessera.identity(request);
    // Another user's session answers exactly like a missing one: ids are not an oracle.
    const own = (await auth.listSessions(caller.sub)).some((s) => s.id === request.params.id);
    if (!own) throw new NotFoundError({ message: 'No such session' });
    await auth.revokeSession(request.params.id, 'device_revoked');
    return reply.code(204).header('cache-control', 'no-store').send();
  });
}
