// Type tests of the Express, Fastify and Hono adapters, checked by `tsc -p tsconfig.json` (vitest does not
// run this file). The Fastify user registry is module augmentation, global to a program, so it is
// checked in a program of its own: see fastify-user.test.ts.
import express, { type Request } from 'express';
import Fastify from 'fastify';
import { Hono, type Context } from 'hono';
import { describe, expectTypeOf, it } from 'vitest';
import { tessera as expressTessera, type AuthedRequest } from '../../src/adapters/express.js';
import { tessera as fastifyTessera, type FastifyTessera, type FastifyTesseraUser } from '../../src/adapters/fastify.js';
import { tessera as honoTessera } from '../../src/adapters/hono.js';
import type { Identity } from '../../src/adapters/adapter-kit.js';
import type { Tessera } from '../../src/core/tessera.js';

interface User {
  id: string;
  roles: string[];
}
declare const auth: Tessera;
declare const user: User;

describe('fastify adapter types', () => {
  it('types request.auth as Identity | null, and fastify.tessera with the registered user (unknown when none is)', async () => {
    const app = Fastify();
    await app.register(fastifyTessera, { auth, lookupUser: () => user });
    expectTypeOf<FastifyTesseraUser>().toBeUnknown();
    expectTypeOf(app.tessera).toEqualTypeOf<FastifyTessera<unknown>>();
    expectTypeOf<ReturnType<FastifyTessera<User>['identity']>>().toEqualTypeOf<Identity<User>>();
    app.get('/me', { preHandler: app.tessera.required() }, async (request) => {
      expectTypeOf(request.auth).toEqualTypeOf<Identity<unknown> | null>();
      expectTypeOf(app.tessera.identity(request)).toEqualTypeOf<Identity<unknown>>();
      // @ts-expect-error -- null on an optional route: narrow first
      void request.auth.sub;
      // @ts-expect-error -- no such property
      void request.auth?.nope;
      return request.auth?.sub;
    });
  });

  it('fits guards and handlers where Fastify takes them, also on routes with their own generics', () => {
    const app = Fastify();
    app.get<{ Querystring: { q: string } }>(
      '/search',
      { preHandler: [app.tessera.optional(), app.tessera.fresh({ claims: { role: 'admin' } })] },
      async (request) => {
        expectTypeOf(request.query.q).toBeString();
        return null;
      },
    );
    app.post(
      '/auth/login',
      app.tessera.login(() => ({ sub: 'alice' }), { transports: ['bearer', 'cookie'] }),
    );
    app.post('/auth/refresh', { preHandler: app.tessera.refreshRequired() }, app.tessera.refresh());
    app.post('/auth/logout', app.tessera.logout());
    // @ts-expect-error -- not a transport
    app.tessera.login(() => null, { transports: ['carrier-pigeon'] });
  });

  it('refuses plugin options without a Tessera or with a wrong option', async () => {
    const app = Fastify();
    // @ts-expect-error -- auth must be a Tessera from createTessera()
    await app.register(fastifyTessera, { auth: { config: {} } });
    // @ts-expect-error -- auth is required
    await app.register(fastifyTessera, { errorFormat: 'flask' });
    // @ts-expect-error -- not an error format
    await app.register(fastifyTessera, { auth, errorFormat: 'xml' });
  });
});

describe('hono adapter types', () => {
  it("types c.get('auth') as Identity | null, and identity() with the user type of lookupUser", () => {
    const t = honoTessera(auth, { lookupUser: async (claims): Promise<User | null> => (claims.sub === user.id ? user : null) });
    const app = new Hono();
    app.get('/me', t.required(), (c) => {
      expectTypeOf(c.get('auth')).toEqualTypeOf<Identity<unknown> | null>();
      expectTypeOf(t.identity(c)).toEqualTypeOf<Identity<User>>();
      expectTypeOf(t.identity(c).user).toEqualTypeOf<User | undefined>();
      // @ts-expect-error -- null on an optional route: narrow first
      void c.get('auth').sub;
      // @ts-expect-error -- no such property
      void c.get('auth')?.nope;
      return c.json({ sub: t.identity(c).sub });
    });
    expectTypeOf(honoTessera(auth).identity).returns.toEqualTypeOf<Identity<never>>();
  });

  it('works in an app with its own Variables, and refuses a non-Tessera or a wrong option', () => {
    const t = honoTessera<User>(auth);
    const app = new Hono<{ Variables: { requestId: string } }>();
    app.post(
      '/auth/login',
      t.login(() => ({ sub: 'alice' }), { transports: ['hybrid'] }),
    );
    app.post('/auth/refresh', t.refresh());
    app.post('/auth/logout', t.logout());
    app.get('/me', t.optional({ claims: (claims) => claims.sub !== '' }), (c: Context<{ Variables: { requestId: string } }>) => {
      expectTypeOf(c.get('requestId')).toBeString();
      expectTypeOf(t.identity(c)).toEqualTypeOf<Identity<User>>();
      return c.text('ok');
    });
    // @ts-expect-error -- auth must be a Tessera from createTessera()
    honoTessera({ config: {} });
    // @ts-expect-error -- lookupUser is a function
    honoTessera(auth, { lookupUser: user });
    // @ts-expect-error -- implicitRefresh takes { within }
    honoTessera(auth, { implicitRefresh: '5m' });
  });
});

describe('express adapter types', () => {
  it('types req.auth as Identity | null | undefined, AuthedRequest<User> with the user, and identity() with the user type of lookupUser', () => {
    const t = expressTessera(auth, { lookupUser: async (claims): Promise<User | null> => (claims.sub === user.id ? user : null) });
    const app = express();
    app.get('/me', t.required(), (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<Identity<unknown> | null | undefined>();
      expectTypeOf(t.identity(req)).toEqualTypeOf<Identity<User>>();
      expectTypeOf(t.identity(req).user).toEqualTypeOf<User | undefined>();
      // @ts-expect-error -- null or undefined until a guard ran: narrow first
      void req.auth.sub;
      // @ts-expect-error -- no such property
      void t.identity(req).nope;
      res.json({ sub: t.identity(req).sub });
    });
    // After a required guard: not nullable, and the user typed (what a handler can cast req to).
    const authed = {} as AuthedRequest<User>;
    expectTypeOf(authed.auth).toExtend<Identity<User>>();
    expectTypeOf(authed.auth.user).toEqualTypeOf<User | undefined>();
    expectTypeOf(authed.auth.sub).toBeString();
    expectTypeOf(authed).toExtend<Request>();
    expectTypeOf(expressTessera(auth).identity).returns.toEqualTypeOf<Identity<never>>();
  });

  it('fits guards and handlers where Express takes them, and refuses a non-Tessera or a wrong option', () => {
    const t = expressTessera<User>(auth);
    const app = express();
    app.post(
      '/auth/login',
      t.login(() => ({ sub: 'alice' }), { transports: ['cookie'] }),
    );
    app.post('/auth/refresh', t.refreshRequired(), t.refresh());
    app.post('/auth/logout', t.logout());
    app.get('/admin', t.fresh({ claims: { role: 'admin' } }), (req: Request, res) => void res.json(t.identity(req).user?.roles));
    // @ts-expect-error -- auth must be a Tessera from createTessera()
    expressTessera({ config: {} });
    // @ts-expect-error -- lookupUser is a function
    expressTessera(auth, { lookupUser: user });
    // @ts-expect-error -- not an error format
    expressTessera(auth, { errorFormat: 'xml' });
    // @ts-expect-error -- not a transport
    t.login(() => null, { transports: ['carrier-pigeon'] });
  });
});
