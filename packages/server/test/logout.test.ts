// POST /auth/logout at the server (the Fastify adapter over the library's handleLogout), on a clock the
// tests move: a token from this issuer ends its session whether or not it has expired, as long as it
// was issued within the session's absolute lifetime; a token that does not verify is 401
// token_invalid; every answer, 204 or 401, clears the cookies.
import { fixedClock } from '@tessera/auth';
import { claimsOf, PASSWORD, register, setCookieOf, sqliteBackend, tokens, type Answer } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACCESS, CSRF, expectError, REFRESH } from './support/contract-suite.js';
import { call, cookieJar, startServer } from './support/harness.js';

const ACCESS_TTL_MS = 900_000;
const DAY_MS = 86_400_000;

describe('POST /auth/logout on the server', () => {
  const backend = sqliteBackend();
  const clock = fixedClock(Date.now());
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    server = await startServer({ ...backend.env, TESSERA_TRANSPORT: 'bearer,cookie' }, { clock });
    url = server.url;
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });
  // Every test an hour after the last, so no answer cached in one test serves another.
  beforeEach(() => clock.advance(3_600_000));

  const expectCleared = (reply: Answer): void => {
    for (const name of [ACCESS, REFRESH, CSRF]) expect(setCookieOf(reply.setCookie, name)).toMatch(/^[^=]+=; .*Max-Age=0/);
  };

  async function bearerLogin(): Promise<{ id: string; access: string; refresh: string; sid: string }> {
    const user = await register(url);
    const body = tokens(await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } }));
    const access = body.access_token!;
    return { id: user.id, access, refresh: body.refresh_token!, sid: String(claimsOf(access).sid) };
  }

  it('an expired access token ends its session: 204, cookies cleared, then its refresh token is token_revoked', async () => {
    const s = await bearerLogin();
    clock.advance(ACCESS_TTL_MS + 60_000);
    expectError(await call(url, 'GET', '/auth/me', { bearer: s.access }), 401, 'token_expired');
    const reply = await call(url, 'POST', '/auth/logout', { bearer: s.access });
    expect(reply.status).toBe(204);
    expectCleared(reply);
    expectError(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: s.refresh } }), 401, 'token_revoked');
  });

  it('an expired refresh token ends its session: 204, cookies cleared, then the current refresh token is token_revoked', async () => {
    const user = await register(url);
    const login = await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'cookie' } });
    const first = cookieJar(login.setCookie);
    const csrf = { 'x-csrf-token': first[CSRF]! };
    clock.advance(DAY_MS);
    const rotated = await call(url, 'POST', '/auth/refresh', { cookies: { [REFRESH]: first[REFRESH]! }, headers: csrf });
    expect(rotated.status).toBe(200);
    const current = cookieJar(rotated.setCookie)[REFRESH]!;
    // The first refresh token and every access token have expired; the rotated refresh token has not.
    clock.advance(6 * DAY_MS + 60_000);
    const reply = await call(url, 'POST', '/auth/logout', { cookies: { [REFRESH]: first[REFRESH]!, [ACCESS]: first[ACCESS]! }, headers: csrf });
    expect(reply.status).toBe(204);
    expectCleared(reply);
    expectError(await call(url, 'POST', '/auth/refresh', { cookies: { [REFRESH]: current }, headers: csrf }), 401, 'token_revoked');
  });

  it('garbage or a wrong signature: 401 token_invalid, cookies cleared, the session untouched', async () => {
    const s = await bearerLogin();
    const garbage = await call(url, 'POST', '/auth/logout', { cookies: { [REFRESH]: 'garbage', [ACCESS]: 'x.y.z' } });
    expectError(garbage, 401, 'token_invalid');
    expectCleared(garbage);
    const [head, body, signature] = s.refresh.split('.') as [string, string, string];
    const forged = `${head}.${body}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    for (const reply of [
      await call(url, 'POST', '/auth/logout', { json: { refresh_token: forged } }),
      await call(url, 'POST', '/auth/logout', { bearer: `${s.access.slice(0, s.access.lastIndexOf('.'))}.c2ln` }),
    ]) {
      expectError(reply, 401, 'token_invalid');
      expectCleared(reply);
    }
    expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: s.refresh } })).status).toBe(200);
  });

  it('a token issued longer than the session lifetime ago: 204, and nothing else changes', async () => {
    const s = await bearerLogin();
    const maxAgeMs = server.runtime.auth.config.sessionMaxAge * 1000;
    const now = clock.now();
    // A genuine token of this server for the live session, from before the session could have begun.
    clock.set(now - maxAgeMs - 60_000);
    const ancient = server.runtime.auth.createAccessToken({ sub: s.id, sid: s.sid }).token;
    clock.set(now);
    const reply = await call(url, 'POST', '/auth/logout', { bearer: ancient });
    expect(reply.status).toBe(204);
    expectCleared(reply);
    expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: s.refresh } })).status).toBe(200);
  });

  it('a session that had already ended: 204; no token at all: 401 token_missing; both clear the cookies', async () => {
    const s = await bearerLogin();
    expect((await call(url, 'POST', '/auth/logout', { bearer: s.access })).status).toBe(204);
    const again = await call(url, 'POST', '/auth/logout', { json: { refresh_token: s.refresh } });
    expect(again.status).toBe(204);
    expectCleared(again);
    const none = await call(url, 'POST', '/auth/logout');
    expectError(none, 401, 'token_missing');
    expectCleared(none);
  });
});
