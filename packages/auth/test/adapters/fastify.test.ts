// The Fastify plugin on a real listening server, through the shared adapter suite, then what is
// Fastify's own: the request decorator, the plugin's metadata and encapsulation, registration errors.
import { listenFastify } from '@tessera/test-kit';
import Fastify from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tessera, TesseraHttpError } from '../../src/adapters/fastify.js';
import { generateKey, generateRefreshKey } from '../../src/core/keys/key.js';
import { createTessera, type Tessera } from '../../src/core/tessera.js';
import { adapterSuite, check, json, send, TRANSPORTS, whoami, type Serve } from './adapter-suite.js';

const serveFastify: Serve = async (auth, options) => {
  const app = Fastify();
  await app.register(tessera, { auth, ...options });
  const t = app.tessera;
  app.post('/auth/login', t.login(check, { transports: TRANSPORTS }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  app.get('/me', { preHandler: t.required() }, async (request) => whoami(t.identity(request)));
  app.post('/me', { preHandler: t.required() }, async (request) => whoami(t.identity(request)));
  app.get('/maybe', { preHandler: t.optional() }, async (request) => whoami(request.auth));
  app.get('/fresh', { preHandler: t.fresh() }, async (request) => whoami(t.identity(request)));
  app.get('/admin', { preHandler: t.required({ claims: { role: 'admin' } }) }, async (request) => whoami(t.identity(request)));
  app.post('/auth/session', { preHandler: t.refreshRequired() }, async (request) => whoami(t.identity(request)));
  return listenFastify(app);
};

adapterSuite('fastify', serveFastify);

describe('fastify plugin', () => {
  const auth = async (): Promise<Tessera> => createTessera({ keys: await generateKey('EdDSA'), refreshKey: await generateRefreshKey() });

  it('decorates every request with auth = null, so an unguarded route sees null and identity() throws there', async () => {
    const app = Fastify();
    onTestFinished(() => app.close());
    await app.register(tessera, { auth: await auth() });
    app.get('/open', async (request) => ({ auth: request.auth }));
    app.get('/wrong', async (request) => app.tessera.identity(request));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    expect(json(await send(url, 'GET', '/open'))).toEqual({ auth: null });
    expect(app.hasRequestDecorator('auth')).toBe(true);
    expect((await send(url, 'GET', '/wrong')).status).toBe(500);
  });

  it("is a fastify-plugin named '@tessera/auth': its decorations land on the app that registers it, not in a scope of their own", async () => {
    const meta = (tessera as unknown as Record<symbol, unknown>)[Symbol.for('plugin-meta')];
    expect(meta).toMatchObject({ name: '@tessera/auth', fastify: '5.x' });
    const app = Fastify();
    onTestFinished(() => app.close());
    await app.register(tessera, { auth: await auth() });
    let seen: unknown;
    await app.register(async (sibling) => {
      seen = sibling.tessera;
    });
    await app.ready();
    expect(typeof app.tessera.required).toBe('function');
    expect(seen).toBe(app.tessera);
  });

  it('refuses at startup to register without a Tessera instance', async () => {
    const app = Fastify();
    onTestFinished(() => app.close());
    await expect(app.register(tessera, { auth: {} as Tessera })).rejects.toThrow(TypeError);
  });

  it('answers the same bytes through fastify.inject as over the network', async () => {
    const server = await serveFastify(await auth(), {});
    onTestFinished(() => server.close());
    const app = Fastify();
    onTestFinished(() => app.close());
    await app.register(tessera, { auth: await auth() });
    app.get('/me', { preHandler: app.tessera.required() }, async () => 'never');
    const injected = await app.inject({ method: 'GET', url: '/me' });
    const fetched = await send(server.url, 'GET', '/me');
    expect(injected.statusCode).toBe(401);
    expect(injected.body).toBe(fetched.text);
    expect(injected.headers['www-authenticate']).toBe('Bearer');
  });

  it("with errors: 'throw', a refusal reaches setErrorHandler with statusCode, code and headers; Fastify's own handler uses them", async () => {
    const tesseraAuth = await auth();
    const own = Fastify();
    onTestFinished(() => own.close());
    await own.register(tessera, { auth: tesseraAuth, errors: 'throw' });
    own.get('/me', { preHandler: own.tessera.required() }, async () => 'never');
    const defaults = await own.inject({ method: 'GET', url: '/me' });
    expect(defaults.statusCode).toBe(401);
    expect(defaults.headers['www-authenticate']).toBe('Bearer');
    expect(defaults.headers['cache-control']).toBe('no-store');
    expect(defaults.json()).toMatchObject({ statusCode: 401, code: 'token_missing' });
    expect(defaults.body).not.toMatch(/\bat\s|node_modules|stack/);

    const app = Fastify();
    onTestFinished(() => app.close());
    const seen: unknown[] = [];
    app.setErrorHandler((err, _request, reply) => {
      seen.push(err);
      return reply.code(418).send({ handled: err instanceof TesseraHttpError ? err.code : 'other' });
    });
    await app.register(tessera, { auth: tesseraAuth, errors: 'throw' });
    app.get('/fresh', { preHandler: app.tessera.fresh() }, async () => 'never');
    app.post(
      '/auth/login',
      app.tessera.login(() => null),
    );
    const { access } = tesseraAuth.createTokenPair({ sub: 'ada', fresh: false });
    const fresh = await app.inject({ method: 'GET', url: '/fresh', headers: { authorization: `Bearer ${access.token}` } });
    expect([fresh.statusCode, fresh.json()]).toEqual([418, { handled: 'fresh_token_required' }]);
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'x' } });
    expect(login.json()).toEqual({ handled: 'invalid_credentials' });
    expect(seen[0]).toMatchObject({ statusCode: 401, status: 401, code: 'fresh_token_required' });
    expect((seen[0] as TesseraHttpError).headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
  });

  it('authed() types request.auth as set and throws where no guard ran', async () => {
    const tesseraAuth = await auth();
    const app = Fastify();
    onTestFinished(() => app.close());
    await app.register(tessera, { auth: tesseraAuth });
    app.get(
      '/me',
      { preHandler: app.tessera.required() },
      app.tessera.authed(async (request) => ({ sub: request.auth.sub })),
    );
    app.get(
      '/open',
      app.tessera.authed(async (request) => ({ sub: request.auth.sub })),
    );
    const { access } = tesseraAuth.createTokenPair({ sub: 'ada' });
    expect((await app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${access.token}` } })).json()).toEqual({ sub: 'ada' });
    expect((await app.inject({ method: 'GET', url: '/open' })).statusCode).toBe(500);
  });
});
