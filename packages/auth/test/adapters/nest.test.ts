// The NestJS adapter on both Nest platforms (Express and Fastify): the shared behaviour suite
// (test/conformance/adapter.ts; the byte-for-byte comparison with the other adapters runs in
// conformance-all.test.ts), then what is Nest's own: decorators on a controller and per route, a global
// guard with @Public(), refusals handed to the app's exception filters, forRootAsync, start-up errors.
import { Catch, HttpCode, HttpException, Req, Res, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { send, type RunningApp } from '@tessera/test-kit';
import type { Request as ExpressRequest } from 'express';
import type { FastifyRequest } from 'fastify';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { AdapterOptions } from '../../src/adapters/adapter-kit.js';
import {
  Auth,
  Authenticated,
  Fresh,
  OptionalAuth,
  Public,
  RequireClaims,
  RequireScope,
  TesseraGuard,
  TesseraHttpException,
  TesseraModule,
  type Identity,
  type NestRequest,
} from '../../src/adapters/nest/index.js';
import { fixedClock } from '../../src/core/clock.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import { createTessera, type Tessera } from '../../src/core/tessera.js';
import { memoryStore } from '../../src/stores/memory.js';
import { describeAdapter } from '../conformance/adapter.js';
import { controller, makeNestExpress, makeNestFastify, nestModule, startNest, type NestPlatform, type RouteSpec } from '../conformance/apps-nest.js';

describeAdapter('nest-express', makeNestExpress);
describeAdapter('nest-fastify', makeNestFastify);

// Both platforms' request types are what TesseraService and the guard take (checked by the type-check of the tests).
type Fits<T> = T extends NestRequest ? true : false;
const fits: [Fits<ExpressRequest>, Fits<FastifyRequest>] = [true, true];

/** The login check of these tests: any name, password 'pw'; all but 'bob' are admins; ada, carol and dave hold scopes. */
const check = (body: unknown) => {
  const { username, password } = (body ?? {}) as { username?: unknown; password?: unknown };
  if (typeof username !== 'string' || password !== 'pw') return null;
  const scopes: Record<string, string> = { ada: 'docs:read', carol: 'docs:read docs:write', dave: 'docs:write' };
  const roles = username === 'bob' ? [] : ['admin'];
  return { sub: username, claims: username in scopes ? { roles, scope: scopes[username] } : { roles } };
};

/** POST /login, /refresh and /logout through the injected TesseraService. */
const AUTH_ROUTES: readonly RouteSpec[] = [
  {
    method: 'post',
    path: '/login',
    params: [Req(), Res()],
    run(req: NestRequest, res: object) {
      return this.tessera.login(req, res, check);
    },
  },
  {
    method: 'post',
    path: '/refresh',
    params: [Req(), Res()],
    run(req: NestRequest, res: object) {
      return this.tessera.refresh(req, res);
    },
  },
];

/** A route that answers the caller `@Auth()` gives, as a plain return value (Nest serializes it). */
const whoami = (method: 'get' | 'post', path: string, decorators: MethodDecorator[] = []): RouteSpec => ({
  method,
  path,
  decorators: method === 'post' ? [...decorators, HttpCode(200)] : decorators,
  params: [Auth()],
  run: (identity: Identity | null) => ({ sub: identity?.sub ?? null }),
});

describe.each<NestPlatform>(['express', 'fastify'])('nest adapter on %s', (platform) => {
  let keys: Key;
  let refreshKey: Key;
  beforeAll(async () => {
    [keys, refreshKey] = await Promise.all([generateKey('EdDSA'), generateRefreshKey()]);
  });

  const setup = () => {
    const clock = fixedClock(Date.UTC(2030, 0, 1));
    const auth = createTessera({ keys, refreshKey, clock, sessions: { store: memoryStore() } });
    onTestFinished(() => auth.close());
    return { auth, clock };
  };

  async function start(
    auth: Tessera,
    routes: readonly RouteSpec[],
    more: { options?: AdapterOptions<unknown>; classDecorators?: ClassDecorator[] } = {},
  ) {
    const app = await startNest(
      platform,
      nestModule({ imports: [TesseraModule.forRoot({ auth, ...more.options })], controllers: [controller(routes, more.classDecorators)] }),
    );
    onTestFinished(() => app.close());
    return app;
  }

  async function login(app: RunningApp, username: string): Promise<{ access: string; refresh: string }> {
    const answer = await send(app.url, '/login', { json: { username, password: 'pw' } });
    expect(answer.status, answer.text).toBe(200);
    return { access: String(answer.json.access_token), refresh: String(answer.json.refresh_token) };
  }

  it('guards a whole controller by its class decorator; a route overrides it (@Public, @Fresh with @RequireClaims, @RequireScope)', async () => {
    const { auth } = setup();
    const app = await start(
      auth,
      [
        ...AUTH_ROUTES.map((route) => ({ ...route, decorators: [Public()] })),
        whoami('get', '/me'),
        { method: 'get', path: '/open', decorators: [Public()], run: () => ({ open: true }) },
        whoami('get', '/open-auth', [Public()]),
        whoami('post', '/fresh-admin', [Fresh(), RequireClaims({ roles: 'admin' })]),
        whoami('post', '/write-docs', [RequireScope('docs:write')]),
        whoami('get', '/maybe', [OptionalAuth()]),
        // A predicate over typed claims.
        whoami('get', '/typed', [RequireClaims<{ roles: string[] }>((claims) => claims.roles.includes('admin'))]),
      ],
      { classDecorators: [Authenticated()] },
    );
    const [ada, bob] = [await login(app, 'ada'), await login(app, 'bob')];

    const anonymous = await send(app.url, '/me');
    expect([anonymous.status, anonymous.json.error, anonymous.header('www-authenticate')]).toEqual([401, 'token_missing', 'Bearer']);
    expect((await send(app.url, '/me', { bearer: ada.access })).json).toEqual({ sub: 'ada' });
    expect((await send(app.url, '/open')).json).toEqual({ open: true });
    // @Auth() where no guard verified anyone is a programming error (500), never an anonymous caller.
    expect((await send(app.url, '/open-auth')).status).toBe(500);
    expect((await send(app.url, '/maybe')).json).toEqual({ sub: null });

    expect((await send(app.url, '/fresh-admin', { method: 'POST', bearer: ada.access })).json).toEqual({ sub: 'ada' });
    const notAdmin = await send(app.url, '/fresh-admin', { method: 'POST', bearer: bob.access });
    expect([notAdmin.status, notAdmin.json.error]).toEqual([403, 'insufficient_scope']);
    expect(notAdmin.header('www-authenticate')).toMatch(/^Bearer error="insufficient_scope"/);
    const refreshed = await send(app.url, '/refresh', { json: { refresh_token: ada.refresh } });
    const stale = await send(app.url, '/fresh-admin', { method: 'POST', bearer: String(refreshed.json.access_token) });
    expect([stale.status, stale.json.error]).toEqual([401, 'fresh_token_required']);

    expect((await send(app.url, '/typed', { bearer: ada.access })).json).toEqual({ sub: 'ada' });
    expect((await send(app.url, '/typed', { bearer: bob.access })).status).toBe(403);
    const scope = await send(app.url, '/write-docs', { method: 'POST', bearer: ada.access });
    expect([scope.status, scope.json.error]).toEqual([403, 'insufficient_scope']);
    expect(scope.header('www-authenticate')).toMatch(/scope="docs:write"/);
  });

  it("never lets a @Public() controller undo a route's own @RequireClaims or @RequireScope", async () => {
    const { auth } = setup();
    const app = await start(
      auth,
      [
        ...AUTH_ROUTES,
        whoami('get', '/open'),
        whoami('get', '/admin', [RequireClaims({ roles: 'admin' })]),
        whoami('get', '/docs', [RequireScope('docs:read')]),
      ],
      { classDecorators: [Public()] },
    );
    const [ada, bob] = [await login(app, 'ada'), await login(app, 'bob')];
    expect((await send(app.url, '/open')).status).toBe(500); // @Auth() on a public route: no guard verified anyone
    for (const path of ['/admin', '/docs']) {
      expect([(await send(app.url, path)).status, (await send(app.url, path, { bearer: bob.access })).status]).toEqual([401, 403]);
      expect((await send(app.url, path, { bearer: ada.access })).json).toEqual({ sub: 'ada' });
    }
  });

  it("adds a route's own @RequireClaims and @RequireScope to its controller's, never replacing them", async () => {
    const { auth } = setup();
    const open = AUTH_ROUTES.map((route) => ({ ...route, decorators: [Public()] }));
    const admins = await start(auth, [...open, whoami('get', '/any', [RequireClaims((claims) => typeof claims.sub === 'string')])], {
      classDecorators: [RequireClaims({ roles: 'admin' })],
    });
    expect((await send(admins.url, '/any', { bearer: (await login(admins, 'ada')).access })).json).toEqual({ sub: 'ada' });
    const notAdmin = await send(admins.url, '/any', { bearer: (await login(admins, 'bob')).access });
    expect([notAdmin.status, notAdmin.json.message]).toEqual([403, 'The token\'s roles claim does not include "admin"']);

    const readers = await start(auth, [...open, whoami('get', '/write', [RequireScope('docs:write')])], {
      classDecorators: [RequireScope('docs:read')],
    });
    expect((await send(readers.url, '/write', { bearer: (await login(readers, 'carol')).access })).json).toEqual({ sub: 'carol' });
    for (const name of ['ada', 'dave']) {
      const refused = await send(readers.url, '/write', { bearer: (await login(readers, name)).access });
      expect([refused.status, refused.json.error]).toEqual([403, 'insufficient_scope']);
      expect(refused.header('www-authenticate')).toMatch(/scope="docs:read docs:write"$/);
    }
  });

  it("never lets an @OptionalAuth() controller make a route's own @RequireClaims or @RequireScope optional", async () => {
    const { auth } = setup();
    const app = await start(
      auth,
      [
        ...AUTH_ROUTES,
        whoami('get', '/maybe'),
        whoami('get', '/admin', [RequireClaims({ roles: 'admin' })]),
        whoami('get', '/docs', [RequireScope('docs:read')]),
      ],
      { classDecorators: [OptionalAuth()] },
    );
    const [ada, bob] = [await login(app, 'ada'), await login(app, 'bob')];
    expect((await send(app.url, '/maybe')).json).toEqual({ sub: null });
    for (const path of ['/admin', '/docs']) {
      const anonymous = await send(app.url, path);
      expect([anonymous.status, anonymous.json.error, anonymous.header('www-authenticate')]).toEqual([401, 'token_missing', 'Bearer']);
      expect((await send(app.url, path, { bearer: bob.access })).status).toBe(403);
      expect((await send(app.url, path, { bearer: ada.access })).json).toEqual({ sub: 'ada' });
    }
  });

  it('guards every route with APP_GUARD, opens @Public() ones, and checks a route guarded twice once', async () => {
    const { auth, clock } = setup();
    const routes: RouteSpec[] = [
      whoami('get', '/me'),
      { method: 'get', path: '/open', decorators: [Public()], run: () => ({ open: true }) },
      whoami('get', '/twice', [Authenticated()]),
    ];
    const app = await startNest(
      platform,
      nestModule({
        imports: [TesseraModule.forRoot({ auth, implicitRefresh: { within: '5m' } })],
        controllers: [controller(routes)],
        providers: [{ provide: APP_GUARD, useClass: TesseraGuard }],
      }),
    );
    onTestFinished(() => app.close());
    const anonymous = await send(app.url, '/me');
    // Without a decorator on the route, the module's own filter writes the refusal: the same bytes as a decorated route.
    const decorated = await send(app.url, '/twice');
    expect([anonymous.status, anonymous.json.error, anonymous.header('www-authenticate')]).toEqual([401, 'token_missing', 'Bearer']);
    expect([anonymous.text, anonymous.setCookie]).toEqual([decorated.text, decorated.setCookie]);
    expect(anonymous.header('cache-control')).toBe('no-store');
    expect((await send(app.url, '/open')).json).toEqual({ open: true });

    // A cookie near its end is re-issued once, though two guard instances ran on the route.
    const { access } = await auth.openSession({ sub: 'ada', transport: 'cookie' });
    clock.advance(11 * 60_000);
    const cookie = `${auth.config.cookies.names.access}=${access.token}`;
    for (const path of ['/me', '/twice']) {
      const answer = await send(app.url, path, { cookie });
      expect([answer.status, answer.json]).toEqual([200, { sub: 'ada' }]);
      expect(answer.setCookie.map((line) => line.slice(0, line.indexOf('=')))).toEqual([auth.config.cookies.names.access]);
    }
  });

  it("keeps a global guard's refusal whole under the app's own catch-all filter, on a route without a Tessera decorator", async () => {
    const { auth } = setup();
    // A catch-all as Nest's docs write one: it answers every exception, and knows nothing of challenges.
    class CatchAll implements ExceptionFilter {
      catch(exception: unknown, host: ArgumentsHost) {
        const status = exception instanceof HttpException ? exception.getStatus() : 500;
        const response = host
          .switchToHttp()
          .getResponse<{ status?(code: number): { json(body: unknown): void }; code?(code: number): { send(body: unknown): void } }>();
        if (platform === 'express') response.status!(status).json({ caught: status });
        else response.code!(status).send({ caught: status });
      }
    }
    Catch()(CatchAll);
    const routes: RouteSpec[] = [
      whoami('get', '/me'),
      {
        method: 'get',
        path: '/broken',
        decorators: [Public()],
        run: () => {
          throw new Error('boom');
        },
      },
    ];
    const module = nestModule({
      imports: [TesseraModule.forRoot({ auth })],
      controllers: [controller(routes)],
      providers: [{ provide: APP_GUARD, useClass: TesseraGuard }],
    });
    const app = await startNest(platform, module, [new CatchAll()]);
    onTestFinished(() => app.close());
    const refused = await send(app.url, '/me', { bearer: 'abc.def.ghi' });
    expect([refused.status, refused.json.error, refused.header('cache-control')]).toEqual([401, 'token_invalid', 'no-store']);
    expect(refused.header('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    // The app's other errors still reach its filter.
    expect([(await send(app.url, '/broken')).json]).toEqual([{ caught: 500 }]);
  });

  it("errors: 'throw' hands refusals of the guard and the handlers to the app's filters; without one, the module writes them", async () => {
    const { auth } = setup();
    const seen: TesseraHttpException[] = [];
    class Mine implements ExceptionFilter {
      catch(exception: TesseraHttpException, host: ArgumentsHost) {
        seen.push(exception);
        const response = host
          .switchToHttp()
          .getResponse<{ status?(code: number): { json(body: unknown): void }; code?(code: number): { send(body: unknown): void } }>();
        const body = { mine: exception.code, challenge: exception.result.headers['www-authenticate'] ?? null };
        if (platform === 'express') response.status!(exception.getStatus()).json(body);
        else response.code!(exception.getStatus()).send(body);
      }
    }
    Catch(TesseraHttpException)(Mine);
    const routes = [...AUTH_ROUTES, whoami('get', '/me', [Authenticated()])];
    const module = nestModule({ imports: [TesseraModule.forRoot({ auth, errors: 'throw' })], controllers: [controller(routes)] });
    const app = await startNest(platform, module, [new Mine()]);
    onTestFinished(() => app.close());

    const guard = await send(app.url, '/me', { bearer: 'abc.def.ghi' });
    expect([guard.status, guard.json]).toEqual([401, { mine: 'token_invalid', challenge: expect.stringMatching(/^Bearer error="invalid_token"/) }]);
    const handler = await send(app.url, '/login', { json: { username: 'ada', password: 'nope' } });
    expect([handler.status, handler.json]).toEqual([401, { mine: 'invalid_credentials', challenge: 'Bearer' }]);
    expect(seen.map((e) => [e.getStatus(), e.code, (e.cause as { code?: string }).code])).toEqual([
      [401, 'token_invalid', 'token_invalid'],
      [401, 'invalid_credentials', 'invalid_credentials'],
    ]);

    // No filter of the app's own: TesseraExceptionFilter (registered by the module) writes Tessera's answer.
    const plain = await startNest(
      platform,
      nestModule({
        imports: [TesseraModule.forRoot({ auth, errors: 'throw' })],
        controllers: [controller([whoami('get', '/me', [Authenticated()])])],
      }),
    );
    onTestFinished(() => plain.close());
    const answer = await send(plain.url, '/me', { bearer: 'abc.def.ghi' });
    expect([answer.status, answer.json.error, answer.header('cache-control')]).toEqual([401, 'token_invalid', 'no-store']);
    expect(answer.header('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
  });

  it('forRootAsync takes the Tessera instance from a factory and its injected providers', async () => {
    const { auth } = setup();
    const config = nestModule({ providers: [{ provide: 'AUTH', useValue: auth }], exports: ['AUTH'] });
    const module = nestModule({
      imports: [TesseraModule.forRootAsync({ imports: [config], inject: ['AUTH'], useFactory: async (tessera: Tessera) => ({ auth: tessera }) })],
      controllers: [controller([...AUTH_ROUTES, whoami('get', '/me', [Authenticated()])])],
    });
    const app = await startNest(platform, module);
    onTestFinished(() => app.close());
    const { access } = await login(app, 'ada');
    expect((await send(app.url, '/me', { bearer: access })).json).toEqual({ sub: 'ada' });
  });
});

describe('TesseraModule', () => {
  it('takes the request types of both platforms', () => {
    expect(fits).toEqual([true, true]);
  });

  it("names Nest's body parser when a JSON login arrives unparsed (bodyParser: false), instead of refusing the credentials", async () => {
    const keys = await generateKey('EdDSA');
    const auth = createTessera({ keys, refreshKey: await generateRefreshKey() });
    onTestFinished(() => auth.close());
    const module = nestModule({ imports: [TesseraModule.forRoot({ auth })], controllers: [controller(AUTH_ROUTES)] });
    const app = await NestFactory.create(module, new ExpressAdapter(), { bodyParser: false, logger: false, forceCloseConnections: true });
    onTestFinished(() => app.close());
    await app.listen(0, '127.0.0.1');
    const answer = await send(await app.getUrl(), '/login', { json: { username: 'ada', password: 'pw' } });
    expect([answer.status, answer.json.error]).toEqual([400, 'invalid_request']);
    expect(answer.json.message).toMatch(/not parsed.*bodyParser/);
  });

  it('refuses to start without a Tessera instance, saying where one comes from', async () => {
    const module = nestModule({ imports: [TesseraModule.forRoot({ auth: {} as Tessera })] });
    await expect(NestFactory.create(module, new ExpressAdapter(), { logger: false, abortOnError: false })).rejects.toThrow(/createTessera\(\)/);
  });
});
