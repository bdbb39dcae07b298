// The Hono adapter on a real listening server (@hono/node-server), through the shared adapter
// suite, then what is Hono's own: JSON bodies read by the adapter, the fetch-only path without
// Node's raw headers (app.request), and where a guard's cookies go among the handler's.
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { listen, rawRequest } from '@tessera/test-kit';
import { Hono } from 'hono';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { HTTPException } from 'hono/http-exception';
import { tessera, TesseraHTTPException } from '../../src/adapters/hono.js';
import { fixedClock } from '../../src/core/clock.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import type { TokenResponseBody } from '../../src/core/transport/respond.js';
import { createTessera } from '../../src/core/tessera.js';
import { memoryStore } from '../../src/stores/memory.js';
import { adapterSuite, check, json, send, TRANSPORTS, whoami, type Serve } from './adapter-suite.js';

const serveHono: Serve = async (auth, options) => {
  const t = tessera(auth, options);
  const app = new Hono();
  app.post('/auth/login', t.login(check, { transports: TRANSPORTS }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  app.get('/me', t.required(), (c) => c.json(whoami(t.identity(c))));
  app.post('/me', t.required(), (c) => c.json(whoami(t.identity(c))));
  app.get('/maybe', t.optional(), (c) => c.json(whoami(c.get('auth'))));
  app.get('/fresh', t.fresh(), (c) => c.json(whoami(t.identity(c))));
  app.get('/admin', t.required({ claims: { role: 'admin' } }), (c) => c.json(whoami(t.identity(c))));
  app.post('/auth/session', t.refreshRequired(), (c) => c.json(whoami(t.identity(c))));
  // On Node, createAdaptorServer makes a plain http.Server (its type also covers the HTTP/2 servers it can make).
  return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
};

adapterSuite('hono', serveHono);

describe('hono adapter', () => {
  let keys: Key;
  let refreshKey: Key;
  beforeAll(async () => {
    keys = await generateKey('EdDSA');
    refreshKey = await generateRefreshKey();
  });
  const setup = () => {
    const clock = fixedClock(Date.UTC(2030, 0, 1));
    const auth = createTessera({ keys, refreshKey, clock, sessions: { store: memoryStore() } });
    onTestFinished(() => auth.close());
    return { auth, clock, t: tessera(auth) };
  };

  it('answers a malformed JSON body at login, refresh and logout with 400 invalid_request in the Tessera format', async () => {
    const { auth } = setup();
    const served = await serveHono(auth, {});
    onTestFinished(() => served.close());
    for (const path of ['/auth/login', '/auth/refresh', '/auth/logout']) {
      const answer = await send(served.url, 'POST', path, { headers: { 'content-type': 'application/json' }, body: '{"refresh_token": "eyJ' });
      expect(answer.status).toBe(400);
      expect(json(answer)).toEqual({ error: 'invalid_request', message: 'The body is not valid JSON' });
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer error="invalid_request"/);
    }
  });

  it('reads no body on a guarded GET, even a malformed JSON one sent over a raw socket', async () => {
    const { auth } = setup();
    const served = await serveHono(auth, {});
    onTestFinished(() => served.close());
    const login = await send(served.url, 'POST', '/auth/login', { json: { username: 'alice', password: 'pw' } });
    const token = json<TokenResponseBody>(login).access_token!;
    const headers = [
      ['Authorization', `Bearer ${token}`],
      ['Content-Type', 'application/json'],
    ] as const;
    const answer = await rawRequest(served.url, 'GET /me HTTP/1.1', headers, '{nope');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ sub: 'alice' });
  });

  it('works without Node (app.request): headers come from the Request, and a merged pair of Authorization values is still refused', async () => {
    const { auth, t } = setup();
    const app = new Hono();
    app.post('/auth/login', t.login(check));
    app.get('/me', t.required(), (c) => c.json(whoami(t.identity(c))));
    const login = await app.request('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'pw' }),
    });
    expect(login.status).toBe(200);
    const { access_token } = (await login.json()) as TokenResponseBody;
    expect(await (await app.request('/me', { headers: { authorization: `Bearer ${access_token!}` } })).json()).toEqual({ sub: 'alice', user: null });
    const twice = new Headers();
    twice.append('authorization', `Bearer ${access_token!}`);
    twice.append('authorization', `Bearer ${access_token!}`);
    const merged = await app.request('/me', { headers: twice });
    expect(merged.status).toBe(400);
    expect(((await merged.json()) as { error: string }).error).toBe('invalid_request');
    expect((await auth.listSessions('alice'))[0]?.ip).toBeNull();
  });

  it("puts a guard's re-issued cookie ahead of the handler's own cookies, whether the handler uses c.header or returns a Response", async () => {
    const clock = fixedClock(Date.UTC(2030, 0, 1));
    const auth = createTessera({ keys, refreshKey, clock, cookies: { secure: false }, sessions: { store: memoryStore() } });
    onTestFinished(() => auth.close());
    const t = tessera(auth, { implicitRefresh: { within: '5m' } });
    const app = new Hono();
    app.get('/context', t.required(), (c) => {
      c.header('set-cookie', 'app=1', { append: true });
      return c.json({ ok: true });
    });
    app.get(
      '/response',
      t.required(),
      () =>
        new Response('{}', {
          headers: [
            ['set-cookie', 'app=1'],
            ['set-cookie', 'app=2'],
          ],
        }),
    );
    // The same two handlers guarded as one handler.
    app.get(
      '/context-one',
      t.guarded((c) => {
        c.header('set-cookie', 'app=1', { append: true });
        return c.json({ ok: true });
      }),
    );
    app.get(
      '/response-one',
      t.guarded(
        () =>
          new Response('{}', {
            headers: [
              ['set-cookie', 'app=1'],
              ['set-cookie', 'app=2'],
            ],
          }),
      ),
    );
    const { access } = await auth.openSession({ sub: 'alice', transport: 'cookie' });
    clock.advance(11 * 60_000);
    const cookie = `${auth.config.cookies.names.access}=${access.token}`;
    for (const [path, own] of [
      ['/context', ['app=1']],
      ['/response', ['app=1', 'app=2']],
      ['/context-one', ['app=1']],
      ['/response-one', ['app=1', 'app=2']],
    ] as const) {
      const cookies = (await app.request(path, { headers: { cookie } })).headers.getSetCookie();
      expect(cookies.map((c) => c.slice(0, c.indexOf(';') < 0 ? undefined : c.indexOf(';')).split('=')[0])).toEqual([
        'tessera-access',
        ...own.map(() => 'app'),
      ]);
      expect(cookies.slice(1)).toEqual(own);
    }
  });

  it('guards as one handler (guarded): the handler runs with c.var.auth set, synchronously when the guard is, and a refusal never reaches it', async () => {
    // Stateless: no session store to ask, so the guard decides synchronously.
    const auth = createTessera({ keys, refreshKey, clock: fixedClock(Date.UTC(2030, 0, 1)) });
    onTestFinished(() => auth.close());
    const t = tessera(auth);
    const app = new Hono();
    let ran = 0;
    app.get(
      '/me',
      t.guarded((c) => {
        ran += 1;
        return c.json({ sub: c.var.auth.sub, same: c.var.auth === t.identity(c) });
      }),
    );
    app.get(
      '/admin',
      t.guarded({ claims: { role: 'admin' } }, (c) => {
        ran += 1;
        return c.text('admin');
      }),
    );
    app.post(
      '/echo',
      t.guarded(async (c) => c.json({ sub: c.var.auth.sub, body: await c.req.json<unknown>() })),
    );
    const { access } = auth.createTokenPair({ sub: 'alice' });
    const authorization = `Bearer ${access.token}`;
    // Hono answers a one-handler route without a promise when the handler does: nothing here waits.
    const answered = app.fetch(new Request('http://localhost/me', { headers: { authorization } }));
    expect(answered).toBeInstanceOf(Response);
    expect(await (answered as Response).json()).toEqual({ sub: 'alice', same: true });
    const admin = await app.request('/admin', { headers: { authorization } });
    expect(admin.status).toBe(403);
    expect(((await admin.json()) as { error: string }).error).toBe('insufficient_scope');
    const missing = await app.request('/me');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(ran).toBe(1);
    const echo = await app.request('/echo', {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ n: 1 }),
    });
    expect(await echo.json()).toEqual({ sub: 'alice', body: { n: 1 } });
    expect(() => t.guarded({}, undefined as unknown as () => Response)).toThrow(TypeError);
    // Rules after the handler (untyped callers) would be dropped: the route is refused when declared.
    const late = t.guarded as unknown as (handler: () => Response, options: object) => unknown;
    expect(() => late(() => new Response('admin'), { claims: { role: 'admin' } })).toThrow(/options first/);
  });

  it('leaves a JSON body the guard read for the handler, and takes a refresh token from it', async () => {
    const { auth, t } = setup();
    const { refresh } = await auth.openSession({ sub: 'alice' });
    const app = new Hono();
    app.post('/echo', t.refreshRequired(), async (c) => c.json({ sub: t.identity(c).sub, body: await c.req.json<unknown>() }));
    const body = { refresh_token: refresh.token, note: 'kept' };
    const answer = await app.request('/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ sub: 'alice', body });
  });

  it('identity() throws where no guard ran', async () => {
    const { t } = setup();
    const app = new Hono();
    app.get('/open', (c) => c.json(t.identity(c)));
    expect((await app.request('/open')).status).toBe(500);
  });

  it("with errors: 'throw', app.onError gets an HTTPException whose response is Tessera's; without onError Hono answers it", async () => {
    const { auth } = setup();
    const t = tessera(auth, { errors: 'throw' });
    const plain = new Hono();
    plain.get('/me', t.required(), (c) => c.text('never'));
    const defaults = await plain.request('/me');
    expect([defaults.status, defaults.headers.get('www-authenticate'), await defaults.json()]).toEqual([
      401,
      'Bearer',
      { error: 'token_missing', message: 'No access token was found in the Authorization header or the __Host-tessera-access cookie' },
    ]);

    const seen: unknown[] = [];
    const app = new Hono();
    app.get('/me', t.required({ scope: 'docs:write' }), (c) => c.text('never'));
    app.post(
      '/auth/login',
      t.login(() => null),
    );
    app.onError((err, c) => {
      seen.push(err);
      if (err instanceof HTTPException) return err.getResponse();
      return c.text('other', 500);
    });
    const { access } = await auth.openSession({ sub: 'alice' });
    const scoped = await app.request('/me', { headers: { authorization: `Bearer ${access.token}` } });
    expect(scoped.status).toBe(403);
    expect(scoped.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", error_description="The token lacks the scope docs:write", scope="docs:write"',
    );
    expect(seen[0]).toBeInstanceOf(TesseraHTTPException);
    expect(seen[0]).toMatchObject({ status: 403, code: 'insufficient_scope' });
    const login = await app.request('/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([login.status, ((await login.json()) as { error: string }).error]).toEqual([401, 'invalid_credentials']);
  });

  it('types c.var.auth as set behind a required guard, with the claims of the Tessera instance', async () => {
    const auth = createTessera<{ roles: string[] }>({ keys, refreshKey });
    const t = tessera(auth);
    const app = new Hono();
    app.get('/me', t.required({ claims: (claims) => claims.roles.includes('admin') }), (c) =>
      c.json({ sub: c.var.auth.sub, roles: c.var.auth.claims.roles }),
    );
    const { access } = auth.createTokenPair({ sub: 'alice', claims: { roles: ['admin'] } });
    expect(await (await app.request('/me', { headers: { authorization: `Bearer ${access.token}` } })).json()).toEqual({
      sub: 'alice',
      roles: ['admin'],
    });
    const { access: other } = auth.createTokenPair({ sub: 'bob', claims: { roles: [] } });
    expect(await (await app.request('/me', { headers: { authorization: `Bearer ${other.token}` } })).json()).toEqual({
      error: 'insufficient_scope',
      message: 'The token does not meet the claims this route requires',
    });
  });
});
