// A Hono app on @tessera/auth/hono answering real HTTP requests on 127.0.0.1, served the runtime's own way
// (serve.ts): login, the identity route, refresh, logout, in bearer and cookie transports. The cases run in
// order and share the server and the session they build.
import assert from 'node:assert/strict';
import { createTessera, generateKey, generateRefreshKey } from '@tessera/auth';
import { tessera } from '@tessera/auth/hono';
import { memoryStore } from '@tessera/auth/stores/memory';
import { Hono } from 'hono';
import type { Case } from '../harness.js';
import type { FetchHandler, Served } from '../serve.js';

const PASSWORD = 'correct horse';

async function createApp(): Promise<Hono> {
  const auth = createTessera({ keys: await generateKey('EdDSA'), refreshKey: await generateRefreshKey(), sessions: { store: memoryStore() } });
  const t = tessera(auth);
  const app = new Hono();
  const check = (body: unknown) => {
    const { username, password } = (body ?? {}) as { username?: unknown; password?: unknown };
    return username === 'ada' && password === PASSWORD ? { sub: 'ada' } : null;
  };
  app.post('/auth/login', t.login(check, { transports: ['bearer', 'cookie'] }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  app.get('/me', t.required(), (c) => c.json({ sub: t.identity(c).sub }));
  app.post('/notes', t.required(), (c) => c.json({ saved: true, by: t.identity(c).sub }));
  return app;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown> | undefined;
}

/** The `name=value` pairs of a response's Set-Cookie headers, joined as a Cookie header. */
function cookieHeader(headers: Headers): string {
  return headers
    .getSetCookie()
    .map((line) => line.split(';')[0] ?? '')
    .filter((pair) => !pair.endsWith('='))
    .join('; ');
}

/** Every case of the app, in order; `serve` is the running runtime's way to listen. */
export function honoAppCases(serve: (fetch: FetchHandler) => Promise<Served>): Case[] {
  const group = 'hono-app';
  let server: Served | undefined;
  const state = { access: '', refresh: '', oldAccess: '', cookies: '', csrf: '' };

  async function call(
    method: string,
    path: string,
    options: { token?: string; json?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    assert.ok(server, 'the app is not listening');
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers,
      ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
  }

  const step = (name: string, run: () => Promise<void>): Case => ({ group, name, run });

  return [
    step('listens on 127.0.0.1', async () => {
      const app = await createApp();
      server = await serve((request) => app.fetch(request));
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    }),
    step('login with a wrong password: 401 invalid_credentials', async () => {
      const answer = await call('POST', '/auth/login', { json: { username: 'ada', password: 'wrong horse' } });
      assert.equal(answer.status, 401);
      assert.equal(answer.body?.error, 'invalid_credentials');
    }),
    step('login: 200, a bearer pair, no-store', async () => {
      const answer = await call('POST', '/auth/login', { json: { username: 'ada', password: PASSWORD } });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.equal(answer.body?.token_type, 'Bearer');
      assert.equal(typeof answer.body?.access_token, 'string');
      assert.equal(typeof answer.body?.refresh_token, 'string');
      state.access = String(answer.body?.access_token);
      state.refresh = String(answer.body?.refresh_token);
    }),
    step('/me with the access token: 200 and the subject', async () => {
      const answer = await call('GET', '/me', { token: state.access });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { sub: 'ada' });
    }),
    step('/me without a token: 401 with a bare Bearer challenge (RFC 6750 §3)', async () => {
      const answer = await call('GET', '/me');
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('www-authenticate'), 'Bearer');
      assert.equal(answer.body?.error, 'token_missing');
    }),
    step('/me with a garbled token: 401 invalid_token, the token not echoed', async () => {
      const garbled = `${state.access.slice(0, -4)}AAAA`;
      const answer = await call('GET', '/me', { token: garbled });
      assert.equal(answer.status, 401);
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
      assert.equal(answer.body?.error, 'token_invalid');
      assert.ok(!JSON.stringify(answer.body).includes(garbled));
    }),
    step('/me with the refresh token: 401 token_type_invalid', async () => {
      const answer = await call('GET', '/me', { token: state.refresh });
      assert.equal(answer.status, 401);
      assert.equal(answer.body?.error, 'token_type_invalid');
    }),
    step('refresh: 200 with a new pair, and the new access token works', async () => {
      const answer = await call('POST', '/auth/refresh', { json: { refresh_token: state.refresh } });
      assert.equal(answer.status, 200);
      assert.notEqual(answer.body?.refresh_token, state.refresh);
      state.oldAccess = state.access;
      state.access = String(answer.body?.access_token);
      state.refresh = String(answer.body?.refresh_token);
      assert.equal((await call('GET', '/me', { token: state.access })).status, 200);
    }),
    step('logout with the refresh token: 204, cookies cleared', async () => {
      const answer = await call('POST', '/auth/logout', { json: { refresh_token: state.refresh } });
      assert.equal(answer.status, 204);
      assert.ok(answer.headers.getSetCookie().length > 0);
    }),
    step('after logout the session is over: /me and refresh answer 401 token_revoked', async () => {
      for (const token of [state.access, state.oldAccess]) {
        const me = await call('GET', '/me', { token });
        assert.equal(me.status, 401);
        assert.equal(me.body?.error, 'token_revoked');
      }
      const refresh = await call('POST', '/auth/refresh', { json: { refresh_token: state.refresh } });
      assert.equal(refresh.status, 401);
      assert.equal(refresh.body?.error, 'token_revoked');
    }),
    step('cookie login: 200, HttpOnly cookies set, a CSRF value in the body', async () => {
      const answer = await call('POST', '/auth/login', {
        json: { username: 'ada', password: PASSWORD, transport: 'cookie' },
        headers: { origin: server?.url ?? '' },
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.body?.access_token, undefined);
      assert.equal(typeof answer.body?.csrf_token, 'string');
      const setCookie = answer.headers.getSetCookie();
      assert.equal(setCookie.length, 3, setCookie.join(' | '));
      assert.ok(setCookie.filter((line) => /;\s*HttpOnly/i.test(line)).length >= 2);
      state.cookies = cookieHeader(answer.headers);
      state.csrf = String(answer.body?.csrf_token);
    }),
    step('cookie session: GET /me with cookies alone is 200', async () => {
      const answer = await call('GET', '/me', { headers: { cookie: state.cookies } });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { sub: 'ada' });
    }),
    step('cookie session: a POST without the CSRF header is 403 csrf_failed, with it 200', async () => {
      const refused = await call('POST', '/notes', { json: {}, headers: { cookie: state.cookies, origin: server?.url ?? '' } });
      assert.equal(refused.status, 403);
      assert.equal(refused.body?.error, 'csrf_failed');
      const saved = await call('POST', '/notes', {
        json: {},
        headers: { cookie: state.cookies, origin: server?.url ?? '', 'x-csrf-token': state.csrf },
      });
      assert.equal(saved.status, 200);
      assert.deepEqual(saved.body, { saved: true, by: 'ada' });
    }),
    step('cookie refresh with the CSRF header: 200 and new cookies', async () => {
      const answer = await call('POST', '/auth/refresh', {
        headers: { cookie: state.cookies, origin: server?.url ?? '', 'x-csrf-token': state.csrf },
      });
      assert.equal(answer.status, 200);
      const next = cookieHeader(answer.headers);
      assert.ok(next.length > 0 && next !== state.cookies);
    }),
    step('stops listening', async () => {
      await server?.close();
      server = undefined;
    }),
  ];
}
