// Type tests of the Express, Fastify and Hono adapters, checked by `tsc -p tsconfig.json` (vitest does not
// run this file). The Fastify user registry is module augmentation, global to a program, so it is
// checked in a program of its own: see fastify-user.test.ts.
import express, { type Request } from 'express';
import Fastify from 'fastify';
import { Hono, type Context } from 'hono';
import { describe, expectTypeOf, it } from 'vitest';
import { tessera as expressTessera, type AuthedRequest } from '../../src/adapters/express.js';
import { tessera as fastifyTessera, type FastifyTessera, type FastifyTesseraUser } from '../../src/adapters/fastify.js';
import { tessera as honoTessera, type TesseraVariables } from '../../src/adapters/hono.js';
import { tessera as nextTessera } from '../../src/adapters/next/index.js';
import type { Identity } from '../../src/adapters/adapter-kit.js';
import { createTessera, type Tessera } from '../../src/core/tessera.js';
import type { TokenClaims } from '../../src/core/tokens/claims.js';

interface User {
  id: string;
  roles: string[];
}
declare const auth: Tessera;
declare const user: User;
/** The custom claims of the app's tokens, given once to createTessera. */
interface Claims {
  roles: string[];
  tenant: string;
}
declare const typed: Tessera<Claims>;

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
    // authed(): request.auth is set, also on a route with its own generics.
    app.get(
      '/me',
      { preHandler: app.tessera.required({ scope: 'docs:read' }) },
      app.tessera.authed(async (request) => {
        expectTypeOf(request.auth.sub).toBeString();
        return { sub: request.auth.sub };
      }),
    );
    app.get<{ Querystring: { q: string } }>(
      '/find',
      { preHandler: app.tessera.required() },
      app.tessera.authed<{ Querystring: { q: string } }>(async (request) => {
        expectTypeOf(request.query.q).toBeString();
        return { sub: request.auth.sub, q: request.query.q };
      }),
    );
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
  it('types c.var.auth as set behind a required guard and as nullable behind an optional one, and identity() with the user type of lookupUser', () => {
    const t = honoTessera(auth, { lookupUser: async (claims): Promise<User | null> => (claims.sub === user.id ? user : null) });
    const app = new Hono();
    app.get('/me', t.required(), (c) => {
      expectTypeOf(c.var.auth.sub).toBeString();
      expectTypeOf(c.get('auth').sid).toBeString();
      expectTypeOf(c.var.auth.user).toEqualTypeOf<User | undefined>();
      expectTypeOf(t.identity(c)).toEqualTypeOf<Identity<User>>();
      expectTypeOf(t.identity(c).user).toEqualTypeOf<User | undefined>();
      // @ts-expect-error -- no such property
      void c.var.auth.nope;
      return c.json({ sub: t.identity(c).sub });
    });
    app.get('/maybe', t.optional(), (c) => {
      expectTypeOf(c.var.auth).toBeNullable();
      expectTypeOf(c.var.auth?.user).toEqualTypeOf<User | undefined>();
      // @ts-expect-error -- null on an optional route: narrow first
      void c.var.auth.sub;
      return c.json({ sub: c.var.auth?.sub ?? null });
    });
    // Without a guard, the global ContextVariableMap still says what a guard would have set.
    app.get('/open', (c) => {
      expectTypeOf(c.get('auth')).toEqualTypeOf<Identity<unknown> | null>();
      return c.text('open');
    });
    expectTypeOf(honoTessera(auth).identity).returns.toEqualTypeOf<Identity<never>>();
  });

  it('types c.var.auth as set inside a one-handler guard (guarded), with path params and the options of required()', () => {
    const t = honoTessera(auth, { lookupUser: async (claims): Promise<User | null> => (claims.sub === user.id ? user : null) });
    const app = new Hono();
    app.get(
      '/me',
      t.guarded((c) => {
        expectTypeOf(c.var.auth.sub).toBeString();
        expectTypeOf(c.var.auth.user).toEqualTypeOf<User | undefined>();
        // @ts-expect-error -- no such property
        void c.var.auth.nope;
        return c.json({ sub: c.var.auth.sub });
      }),
    );
    app.get(
      '/users/:id',
      // The path's params reach a handler nested in a call only when named: guarded<'/users/:id'>(…).
      t.guarded<'/users/:id'>({ claims: (claims) => claims.sub !== '' }, (c) => {
        expectTypeOf(c.req.param('id')).toBeString();
        return c.json({ id: c.req.param('id'), sub: c.var.auth.sub });
      }),
    );
    // @ts-expect-error -- the rules of required(): a scope is text
    t.guarded({ scope: 42 }, (c) => c.text(c.var.auth.sub));
    // @ts-expect-error -- options come first, the handler last
    t.guarded((c) => c.text(c.var.auth.sub), {});
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

describe('typed claims, given once to createTessera', () => {
  it('types the claims of authenticate, verifyAccessToken and every adapter from the Tessera instance', async () => {
    const created = createTessera<Claims>({} as never);
    expectTypeOf(created).toEqualTypeOf<Tessera<Claims>>();
    expectTypeOf(typed.verifyAccessToken('t').roles).toEqualTypeOf<string[]>();
    expectTypeOf((await typed.authenticate({ method: 'GET', headers: [] })).claims.tenant).toBeString();
    // A typed instance still goes wherever a Tessera is taken.
    const plain: Tessera = typed;
    void plain;
    expectTypeOf(auth.verifyAccessToken('t')).toExtend<TokenClaims>();

    const hono = honoTessera(typed, { lookupUser: (claims) => ({ id: claims.sub, roles: claims.roles }) });
    const app = new Hono();
    app.get('/admin', hono.required({ claims: (claims) => claims.roles.includes('admin') && claims.tenant !== '' }), (c) => {
      expectTypeOf(c.var.auth.claims.roles).toEqualTypeOf<string[]>();
      expectTypeOf(c.var.auth.claims.sub).toBeString();
      expectTypeOf(c.var.auth.user).toEqualTypeOf<{ id: string; roles: string[] } | undefined>();
      // @ts-expect-error -- roles are strings
      const wrong: number[] = c.var.auth.claims.roles;
      return c.json(wrong);
    });
    // @ts-expect-error -- the predicate sees the typed claims: tenant is a string
    hono.required({ claims: (claims) => claims.tenant > 1 });
    hono.required({ scope: ['docs:read', 'docs:write'] });
    hono.required({ scope: 'docs:read', claims: { roles: 'admin' } });
    // @ts-expect-error -- a scope is text
    hono.required({ scope: 42 });

    const ex = expressTessera(typed);
    express().get(
      '/admin',
      ex.required({ scope: 'docs:write' }),
      ex.authed((req, res) => void res.json(req.auth.claims.tenant)),
    );
    expectTypeOf(ex.identity({} as Request).claims.roles).toEqualTypeOf<string[]>();
  });

  it('exports the Hono Variables type, for apps that declare their own', () => {
    const app = new Hono<{ Variables: TesseraVariables<User, Claims> & { requestId: string } }>();
    app.get('/anywhere', (c) => {
      expectTypeOf(c.var.auth).toBeNullable();
      expectTypeOf(c.var.auth?.user).toEqualTypeOf<User | undefined>();
      expectTypeOf(c.var.auth?.claims.roles).toEqualTypeOf<string[] | undefined>();
      expectTypeOf(c.var.requestId).toBeString();
      return c.text(c.var.auth?.claims.tenant ?? '');
    });
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
    // authed(): behind a required guard, req.auth is set and typed with the user.
    app.get(
      '/authed',
      t.required(),
      t.authed((req, res) => {
        expectTypeOf(req.auth.sub).toBeString();
        expectTypeOf(req.auth.user).toEqualTypeOf<User | undefined>();
        res.json({ sub: req.auth.sub });
      }),
    );
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

describe('next adapter types', () => {
  it("types context.auth as set behind required() and nullable behind optional(), with the claims given once and Next.js's own context kept", async () => {
    const t = nextTessera(() => typed, { lookupUser: (claims) => ({ id: claims.sub, tenant: claims.tenant }) });
    type Caller = Identity<{ id: string; tenant: string }, Claims>;
    const GET = t.required(async (_request, { auth: caller }) => {
      expectTypeOf(caller).toEqualTypeOf<Caller>();
      expectTypeOf(caller.claims.tenant).toBeString();
      expectTypeOf(caller.user).toEqualTypeOf<{ id: string; tenant: string } | undefined>();
      return Response.json({ sub: caller.sub });
    });
    // Next.js calls it with its own context; the guard adds auth, so the route's type does not ask for it.
    await GET(new Request('http://x'), { params: Promise.resolve({}) });
    t.optional(async (_request, { auth: caller }) => {
      expectTypeOf(caller).toEqualTypeOf<Caller | null>();
      // @ts-expect-error -- null without a token: narrow first
      void caller.sub;
      return new Response(null);
    });
    const item = t.required(async (_request, { params, auth: caller }: { params: Promise<{ id: string }>; auth: Caller }) =>
      Response.json({ id: (await params).id, sub: caller.sub }),
    );
    await item(new Request('http://x'), { params: Promise.resolve({ id: '7' }) });
    // @ts-expect-error -- the predicate sees the typed claims: tenant is a string
    t.required(async () => new Response(null), { claims: (claims) => claims.tenant > 1 });
    expectTypeOf(t.session).returns.toEqualTypeOf<Promise<Caller | null>>();
    expectTypeOf(t.requireSession).returns.toEqualTypeOf<Promise<Caller>>();
    expectTypeOf(t.identity).returns.toEqualTypeOf<Caller>();
  });
});
