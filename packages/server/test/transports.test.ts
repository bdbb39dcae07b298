// Transport settings (docs/architecture.md "Transports") beyond the defaults the contract suite runs with:
// cookies without `Secure` for local http, configured public origins, CORS, which tokens may
// travel together, and CSRF on every state-changing route a cookie authenticates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, decodeJwt, PASSWORD, register, setCookieOf, sqliteBackend, tokens } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { ACCESS, CSRF, expectError, REFRESH } from './support/contract-suite.js';
import { call, cookieJar, startServer } from './support/harness.js';

const APP = 'https://app.example';

describe('transport settings', () => {
  const backend = sqliteBackend();
  /** Cookies for plain local http: no Secure, so no __Host-/__Secure- prefixes either. */
  let insecure: TestServer;
  /** Cookie credentials only from the listed origin; CORS for it. */
  let listed: TestServer;
  /** Every transport, the defaults otherwise. */
  let all: TestServer;

  beforeAll(async () => {
    insecure = await startServer({ ...backend.env, TESSERA_TRANSPORT: 'cookie,bearer', TESSERA_COOKIE_SECURE: 'false' });
    listed = await startServer({ ...backend.env, TESSERA_TRANSPORT: 'hybrid,cookie', TESSERA_PUBLIC_ORIGINS: APP, TESSERA_CORS_ORIGINS: APP });
    all = await startServer({ ...backend.env, TESSERA_TRANSPORT: 'bearer,hybrid,cookie' });
  });
  afterAll(async () => {
    await Promise.allSettled([insecure?.close(), listed?.close(), all?.close()]);
    await backend.cleanup();
  });

  async function cookieLogin(server: TestServer, headers: Record<string, string> = {}): Promise<Record<string, string>> {
    const user = await register(server.url);
    const reply = await call(server.url, 'POST', '/auth/login', {
      json: { username: user.username, password: PASSWORD, transport: 'cookie' },
      headers,
    });
    expect(reply.status).toBe(200);
    return cookieJar(reply.setCookie);
  }

  it('drops Secure and the cookie prefixes when TESSERA_COOKIE_SECURE=false, and defaults to the first transport', async () => {
    const user = await register(insecure.url);
    const reply = await call(insecure.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } });
    expect(reply.status).toBe(200);
    expect(reply.body).not.toHaveProperty('access_token');
    expect(reply.setCookie.map((c) => c.split('=')[0]).sort()).toEqual(['tessera-access', 'tessera-csrf', 'tessera-refresh']);
    for (const line of reply.setCookie) {
      expect(line).not.toMatch(/Secure/);
      expect(line).toMatch(/SameSite=Lax/);
    }
    const jar = cookieJar(reply.setCookie);
    const refreshed = await call(insecure.url, 'POST', '/auth/refresh', {
      cookies: { 'tessera-refresh': jar['tessera-refresh']! },
      headers: { 'x-csrf-token': jar['tessera-csrf']! },
    });
    expect(refreshed.status).toBe(200);
    expect(
      (await call(insecure.url, 'GET', '/auth/me', { cookies: { 'tessera-access': cookieJar(refreshed.setCookie)['tessera-access']! } })).status,
    ).toBe(200);
  });

  it('takes cookie credentials only from the configured public origins', async () => {
    const user = await register(listed.url);
    const json = { username: user.username, password: PASSWORD };
    expectError(await call(listed.url, 'POST', '/auth/login', { json, headers: { origin: listed.origin } }), 403, 'origin_refused');
    const reply = await call(listed.url, 'POST', '/auth/login', { json, headers: { origin: APP } });
    const body = tokens(reply);
    expect(body.access_token).toBeTruthy();
    const jar = cookieJar(reply.setCookie);
    const refresh = { cookies: { [REFRESH]: jar[REFRESH]! } };
    expectError(
      await call(listed.url, 'POST', '/auth/refresh', { ...refresh, headers: { 'x-csrf-token': jar[CSRF]!, origin: listed.origin } }),
      403,
      'origin_refused',
    );
    expect((await call(listed.url, 'POST', '/auth/refresh', { ...refresh, headers: { 'x-csrf-token': jar[CSRF]!, origin: APP } })).status).toBe(200);
  });

  it('answers CORS preflights for the configured origins only', async () => {
    const preflight = await call(listed.url, 'OPTIONS', '/auth/refresh', {
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf-token' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.header('access-control-allow-origin')).toBe(APP);
    expect(preflight.header('access-control-allow-credentials')).toBe('true');
    expect(preflight.header('access-control-allow-headers')).toMatch(/x-csrf-token/);
    expect(preflight.header('vary')).toMatch(/Origin/);

    const foreign = await call(listed.url, 'OPTIONS', '/auth/refresh', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(foreign.header('access-control-allow-origin')).toBeNull();
    expect(foreign.status).toBe(404);
    // CORS is off unless configured.
    expect((await call(all.url, 'GET', '/healthz', { headers: { origin: APP } })).header('access-control-allow-origin')).toBeNull();
    expect((await call(listed.url, 'GET', '/healthz', { headers: { origin: APP } })).header('access-control-allow-origin')).toBe(APP);
  });

  it('refuses two different refresh tokens in one request, and takes one of each kind at logout', async () => {
    const jar = await cookieLogin(all);
    const other = await account(all.url);
    const conflict = await call(all.url, 'POST', '/auth/refresh', {
      cookies: { [REFRESH]: jar[REFRESH]! },
      headers: { 'x-csrf-token': jar[CSRF]! },
      json: { refresh_token: other.refresh },
    });
    expectError(conflict, 400, 'token_conflict');
    // The same session's access token as Bearer and its refresh token in the body: no conflict.
    const logout = await call(all.url, 'POST', '/auth/logout', { bearer: other.access, json: { refresh_token: other.refresh } });
    expect(logout.status).toBe(204);
    expectError(await call(all.url, 'GET', '/auth/me', { bearer: other.access }), 401, 'token_revoked');
  });

  it('requires the CSRF header on every state-changing route a cookie authenticates', async () => {
    const jar = await cookieLogin(all);
    const cookies = { [ACCESS]: jar[ACCESS]!, [CSRF]: jar[CSRF]! };
    const sid = decodeJwt(jar[ACCESS]!).claims.sid as string;
    const attempts = [
      ['POST', '/auth/logout-all', undefined],
      ['DELETE', `/auth/sessions/${sid}`, undefined],
      ['POST', '/auth/password', { current_password: PASSWORD, new_password: 'a new password here' }],
      ['POST', '/auth/logout', undefined],
    ] as const;
    for (const [method, path, json] of attempts) {
      expectError(await call(all.url, method, path, { cookies, ...(json === undefined ? {} : { json }) }), 403, 'csrf_failed');
      const crossSite = await call(all.url, method, path, {
        cookies,
        headers: { 'x-csrf-token': jar[CSRF]!, 'sec-fetch-site': 'cross-site' },
        ...(json === undefined ? {} : { json }),
      });
      expectError(crossSite, 403, 'origin_refused');
    }
    // Nothing happened: reads need no CSRF header, and the session is still live.
    expect((await call(all.url, 'GET', '/auth/sessions', { cookies: { [ACCESS]: jar[ACCESS]! } })).status).toBe(200);
    const revoked = await call(all.url, 'DELETE', `/auth/sessions/${sid}`, { cookies, headers: { 'x-csrf-token': jar[CSRF]! } });
    expect(revoked.status).toBe(204);
    expectError(await call(all.url, 'GET', '/auth/me', { cookies: { [ACCESS]: jar[ACCESS]! } }), 401, 'token_revoked');
  });

  it('clears a dead refresh cookie along with the refusal', async () => {
    const reply = await call(all.url, 'POST', '/auth/refresh', { cookies: { [REFRESH]: 'dead.refresh.cookie' }, headers: { 'x-csrf-token': 'x' } });
    expectError(reply, 401, 'token_invalid');
    for (const name of [ACCESS, REFRESH, CSRF]) expect(setCookieOf(reply.setCookie, name)).toMatch(/Max-Age=0/);
  });

  it('takes the client address from the socket unless a proxy is trusted: X-Forwarded-For cannot dodge throttling', async () => {
    const strict = await startServer({ ...backend.env, TESSERA_LOGIN_LIMIT: '2/15m' });
    try {
      const user = await register(strict.url);
      const attempt = (ip: string, password: string) =>
        call(strict.url, 'POST', '/auth/login', { json: { username: user.username, password }, headers: { 'x-forwarded-for': ip } });
      expect((await attempt('203.0.113.1', 'wrong password')).status).toBe(401);
      expect((await attempt('203.0.113.2', 'wrong password')).status).toBe(401);
      expectError(await attempt('203.0.113.3', PASSWORD), 429, 'rate_limited');
    } finally {
      await strict.close();
    }
    const pair = tokens(
      await call(all.url, 'POST', '/auth/login', {
        json: { username: (await register(all.url)).username, password: PASSWORD },
        headers: { 'x-forwarded-for': '203.0.113.9' },
      }),
    );
    const list = (await call(all.url, 'GET', '/auth/sessions', { bearer: pair.access_token! })).body as { ip: string }[];
    expect(list.map((s) => s.ip)).toEqual(['127.0.0.1']);
  });

  it('answers a hybrid password change in hybrid: the access token in the body, the refresh token in a cookie', async () => {
    const user = await register(all.url);
    const first = await call(all.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'hybrid' } });
    const jar = cookieJar(first.setCookie);
    const reply = await call(all.url, 'POST', '/auth/password', {
      bearer: tokens(first).access_token!,
      cookies: { [REFRESH]: jar[REFRESH]! },
      json: { current_password: PASSWORD, new_password: 'hybrid new password' },
    });
    const body = tokens(reply);
    expect(body.access_token).toBeTruthy();
    expect(body).not.toHaveProperty('refresh_token');
    expect(setCookieOf(reply.setCookie, REFRESH)).toBeDefined();
    const next = cookieJar(reply.setCookie);
    expect(
      (await call(all.url, 'POST', '/auth/refresh', { cookies: { [REFRESH]: next[REFRESH]! }, headers: { 'x-csrf-token': next[CSRF]! } })).status,
    ).toBe(200);
  });
});
