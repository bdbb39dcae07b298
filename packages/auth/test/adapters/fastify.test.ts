// The Fastify plugin on a real listening server, through the shared adapter suite, then what is
// Fastify's own: the request decorator, the plugin's metadata and encapsulation, registration errors.
import { listenFastify } from '@tessera/test-kit';
import Fastify from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tessera } from '../../src/adapters/fastify.js';
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
});
