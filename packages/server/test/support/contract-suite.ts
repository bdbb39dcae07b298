// The HTTP contract of docs/architecture.md ("The HTTP contract", "Transports"), run over real sockets against
// servers on one backend. The same suite runs on SQLite and on Postgres + Redis: each test file
// calls `describeContract` with its backend.
// Long on purpose: the contract is one table of routes and refusals, run whole on every backend.
import { fixedClock } from '@tessera/auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  account,
  decodeJwt,
  loginTokens as login,
  PASSWORD,
  register,
  setCookieOf,
  tokens,
  uniqueName,
  type Answer,
  type Backend,
} from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { PasswordHasher } from '../../src/users/hasher.js';
import { call, cookieJar, rawCall, startServer } from './harness.js';

export const ACCESS = '__Host-tessera-access';
export const REFRESH = '__Secure-tessera-refresh';
export const CSRF = '__Host-tessera-csrf';
const METRICS_TOKEN = 'metrics-token-0123456789';

/** A refusal in the one error shape: status, stable code, a human sentence, JSON, no-store. */
export function expectError(reply: Answer, status: number, code: string): void {
  const body = reply.body;
  expect({ status: reply.status, body }).toMatchObject({ status, body: { error: code } });
  expect(typeof (body as { message?: unknown }).message).toBe('string');
  expect((body as { message: string }).message.length).toBeGreaterThan(0);
  expect(reply.header('content-type')).toMatch(/^application\/json/);
  expect(reply.header('cache-control')).toBe('no-store');
}

/** A 401 from a token check carries the RFC 6750 challenge for a bad token. */
function expectTokenRefused(reply: Answer, code: string): void {
  expectError(reply, 401, code);
  expect(reply.header('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
}

/** `expires_in` and `refresh_expires_in`: whole seconds left of the default 15 minutes and 7 days. */
function expectLifetimes(body: unknown): void {
  const { expires_in, refresh_expires_in } = body as { expires_in: unknown; refresh_expires_in: unknown };
  expect(Number.isInteger(expires_in) && Number.isInteger(refresh_expires_in)).toBe(true);
  expect(expires_in).toBeGreaterThanOrEqual(898);
  expect(expires_in).toBeLessThanOrEqual(900);
  expect(refresh_expires_in).toBeGreaterThanOrEqual(604798);
  expect(refresh_expires_in).toBeLessThanOrEqual(604800);
}

/** The same name in fullwidth letters and digits (NFKC folds them back). */
function fullwidth(name: string): string {
  return [...name].map((c) => (/[!-~]/.test(c) ? String.fromCodePoint(c.codePointAt(0)! + 0xfee0) : c)).join('');
}

function cookieHeaders(csrf: string, origin?: string): Record<string, string> {
  return { 'x-csrf-token': csrf, ...(origin === undefined ? {} : { origin }) };
}

export function describeContract(label: string, makeBackend: () => Promise<Backend>): void {
  describe(`HTTP contract on ${label}`, () => {
    let backend: Backend;
    /** Every transport allowed, the real clock. */
    let main: TestServer;
    /** Default transports, login limit 3 per account and address, trusted proxy, metrics behind a token, 2 sessions a user. */
    let strict: TestServer;
    /** A clock the tests move. */
    let timed: TestServer;
    const clock = fixedClock(Date.now());
    let url: string;

    beforeAll(async () => {
      backend = await makeBackend();
      main = await startServer({ ...backend.env, TESSERA_TRANSPORT: 'bearer,hybrid,cookie' });
      url = main.url;
      strict = await startServer({
        ...backend.env,
        TESSERA_LOGIN_LIMIT: '3/15m',
        TESSERA_TRUST_PROXY: 'true',
        TESSERA_METRICS_TOKEN: METRICS_TOKEN,
        TESSERA_MAX_SESSIONS: '2',
      });
      timed = await startServer({ ...backend.env, TESSERA_TRANSPORT: 'bearer,cookie' }, { clock });
    });

    afterAll(async () => {
      await Promise.allSettled([main?.close(), strict?.close(), timed?.close()]);
      await backend?.cleanup();
    });

    describe('POST /auth/register', () => {
      it('answers 201 {id, username} with the canonical name, no-store', async () => {
        const name = uniqueName('Reg');
        const reply = await call(url, 'POST', '/auth/register', { json: { username: name, password: PASSWORD } });
        expect(reply.status).toBe(201);
        expect(reply.body).toEqual({ id: expect.any(String), username: name.toLowerCase() });
        expect(reply.header('cache-control')).toBe('no-store');
      });

      it('answers 409 username_taken for a taken name, and for its case and NFKC look-alikes', async () => {
        const name = uniqueName('ada');
        await register(url, name);
        for (const variant of [name, name.toUpperCase(), fullwidth(name), fullwidth(name.toUpperCase())]) {
          const reply = await call(url, 'POST', '/auth/register', { json: { username: variant, password: PASSWORD } });
          expectError(reply, 409, 'username_taken');
        }
        // The look-alike logs in to the one account.
        const me = await call(url, 'GET', '/auth/me', { bearer: (await login(url, fullwidth(name.toUpperCase()))).access_token! });
        expect((me.body as { username: string }).username).toBe(name);
      });

      it("folds 'ADA' and 'ａｄａ' onto 'ada'", async () => {
        const first = await call(url, 'POST', '/auth/register', { json: { username: 'ADA', password: PASSWORD } });
        expect(first.status).toBe(201);
        expect((first.body as { username: string }).username).toBe('ada');
        for (const username of ['ada', 'ａｄａ', 'Ａｄａ']) {
          expectError(await call(url, 'POST', '/auth/register', { json: { username, password: PASSWORD } }), 409, 'username_taken');
        }
      });

      it('refuses control, zero-width, bidi and space characters in usernames with 422', async () => {
        const stem = uniqueName('zw');
        for (const username of [
          `${stem}\u200b`,
          `\u200d${stem}`,
          `${stem}\u0007`,
          `${stem}\u202e`,
          `${stem}\ufeff`,
          `a ${stem}`,
          `${stem}\t`,
          `${stem}\n`,
        ]) {
          const reply = await call(url, 'POST', '/auth/register', { json: { username, password: PASSWORD } });
          expectError(reply, 422, 'validation_failed');
          expect((reply.body as { message: string }).message).toMatch(/username/);
        }
        // None of them created the plain name either.
        expect((await call(url, 'POST', '/auth/register', { json: { username: stem, password: PASSWORD } })).status).toBe(201);
      });

      it('refuses bad shapes with 422 (types, missing fields, too short or long names)', async () => {
        for (const json of [
          { username: 12345, password: PASSWORD },
          { username: uniqueName(), password: 12345678 },
          { username: uniqueName() },
          { password: PASSWORD },
          { username: 'ab', password: PASSWORD },
          { username: 'x'.repeat(65), password: PASSWORD },
          [uniqueName(), PASSWORD],
        ]) {
          expectError(await call(url, 'POST', '/auth/register', { json }), 422, 'validation_failed');
        }
      });

      it('takes passwords of 8 to 1024 bytes after NFKC and refuses the rest, never truncating', async () => {
        const tooShort = await call(url, 'POST', '/auth/register', { json: { username: uniqueName(), password: '1234567' } });
        expectError(tooShort, 422, 'validation_failed');
        expect((tooShort.body as { message: string }).message).toMatch(/password/);
        // 513 two-byte characters are 1026 bytes: refused although short in characters.
        expectError(
          await call(url, 'POST', '/auth/register', { json: { username: uniqueName(), password: 'é'.repeat(513) } }),
          422,
          'validation_failed',
        );
        expectError(
          await call(url, 'POST', '/auth/register', { json: { username: uniqueName(), password: 'a'.repeat(1025) } }),
          422,
          'validation_failed',
        );

        // Eight characters that also meet the password policy (no sequence, not on the blocklist).
        const eight = await register(url, uniqueName(), 'k7#Qm2vX');
        expect((await login(url, eight.username, 'k7#Qm2vX')).access_token).toBeTruthy();

        const longest = 'é'.repeat(511) + 'ab'; // 1024 bytes
        const user = await register(url, uniqueName(), longest);
        expect((await login(url, user.username, longest)).access_token).toBeTruthy();
        // One more byte is a different (refused) password, not the same one cut short; one less is wrong.
        for (const password of [`${longest}x`, longest.slice(0, -1)]) {
          expectError(await call(url, 'POST', '/auth/login', { json: { username: user.username, password } }), 401, 'invalid_credentials');
        }
      });

      it('lets exactly one of several simultaneous registrations of a name win', async () => {
        const name = uniqueName('race');
        const replies = await Promise.all(
          [name, name.toUpperCase(), fullwidth(name), name, name].map((username) =>
            call(url, 'POST', '/auth/register', { json: { username, password: PASSWORD } }),
          ),
        );
        expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
      });

      it('normalises passwords with NFKC', async () => {
        const user = await register(url, uniqueName(), 'ｋｏｉｎｕ７ｇａｒｄｅｎ');
        expect((await login(url, user.username, 'koinu7garden')).access_token).toBeTruthy();
      });
    });

    describe('POST /auth/login', () => {
      it('answers the token shape in bearer: both tokens in the body, no cookies, no-store', async () => {
        const user = await register(url);
        const reply = await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } });
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({
          access_token: expect.any(String),
          refresh_token: expect.any(String),
          token_type: 'Bearer',
          expires_in: expect.any(Number),
          refresh_expires_in: expect.any(Number),
        });
        expectLifetimes(reply.body);
        expect(reply.header('cache-control')).toBe('no-store');
        expect(reply.setCookie).toEqual([]);
        const pair = tokens(reply);
        const access = decodeJwt(pair.access_token!);
        const refresh = decodeJwt(pair.refresh_token!);
        expect(access.header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) });
        expect(refresh.header).toMatchObject({ alg: 'HS256', typ: 'rt+jwt', kid: expect.any(String) });
        expect(refresh.header.kid).not.toBe(access.header.kid);
        expect(access.claims).toMatchObject({ iss: 'urn:tessera', aud: 'urn:tessera:api', sub: user.id, type: 'access', fresh: true });
        expect(refresh.claims).toMatchObject({ sub: user.id, type: 'refresh', sid: access.claims.sid });
        expect((access.claims.exp as number) - (access.claims.iat as number)).toBe(900);
      });

      it('takes a form body in bearer', async () => {
        const user = await register(url);
        const reply = await call(url, 'POST', '/auth/login', { form: { username: user.username, password: PASSWORD } });
        const pair = tokens(reply);
        expect(pair.access_token).toBeTruthy();
        expect(pair.refresh_token).toBeTruthy();
      });

      it('answers an unknown user and a wrong password with the same 401 body and headers', async () => {
        const user = await register(url);
        const wrong = await call(url, 'POST', '/auth/login', { json: { username: user.username, password: 'not the password' } });
        const unknown = await call(url, 'POST', '/auth/login', { json: { username: uniqueName('ghost'), password: 'not the password' } });
        const invalidName = await call(url, 'POST', '/auth/login', { json: { username: 'a\u200bb', password: 'x' } });
        expectError(wrong, 401, 'invalid_credentials');
        for (const other of [unknown, invalidName]) {
          expect(other.status).toBe(wrong.status);
          expect(other.text).toBe(wrong.text);
          expect(other.header('www-authenticate')).toBe(wrong.header('www-authenticate'));
        }
        expect(wrong.header('www-authenticate')).toBe('Bearer');
      });

      it('puts both tokens in HttpOnly cookies in cookie transport, none in the body', async () => {
        const user = await register(url);
        const reply = await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'cookie' } });
        expect(reply.status).toBe(200);
        const body = reply.body as Record<string, unknown>;
        expect(body).not.toHaveProperty('access_token');
        expect(body).not.toHaveProperty('refresh_token');
        expect(body).toMatchObject({ token_type: 'Bearer', csrf_token: expect.any(String) });
        expectLifetimes(body);
        expect(reply.header('cache-control')).toBe('no-store');
        expect(setCookieOf(reply.setCookie, ACCESS)).toMatch(/; Path=\/; Max-Age=(899|900); HttpOnly; Secure; SameSite=Lax$/);
        expect(setCookieOf(reply.setCookie, REFRESH)).toMatch(/; Path=\/auth; Max-Age=(604799|604800); HttpOnly; Secure; SameSite=Lax$/);
        const csrf = setCookieOf(reply.setCookie, CSRF);
        expect(csrf).toBeDefined();
        expect(csrf).not.toMatch(/HttpOnly/);
        expect(cookieJar(reply.setCookie)[CSRF]).toBe(body.csrf_token);
        // The cookie alone authenticates a read.
        const me = await call(url, 'GET', '/auth/me', { cookies: { [ACCESS]: cookieJar(reply.setCookie)[ACCESS]! } });
        expect(me.status).toBe(200);
      });

      it('puts the access token in the body and the refresh token in a cookie in hybrid', async () => {
        const user = await register(url);
        const reply = await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'hybrid' } });
        const body = tokens(reply);
        expect(body.access_token).toBeTruthy();
        expect(body).not.toHaveProperty('refresh_token');
        expectLifetimes(body);
        expect(setCookieOf(reply.setCookie, REFRESH)).toMatch(/HttpOnly; Secure; SameSite=Lax$/);
        expect(setCookieOf(reply.setCookie, ACCESS)).toBeUndefined();
      });

      it('refuses a form body where cookies would carry the tokens (400)', async () => {
        const user = await register(url);
        for (const transport of ['cookie', 'hybrid']) {
          const reply = await call(url, 'POST', '/auth/login', { form: { username: user.username, password: PASSWORD, transport } });
          expectError(reply, 400, 'invalid_request');
          expect(reply.setCookie).toEqual([]);
        }
      });

      it('refuses a cookie login from another origin or site (403), takes its own origin', async () => {
        const user = await register(url);
        const json = { username: user.username, password: PASSWORD, transport: 'cookie' };
        for (const headers of [
          { origin: 'https://evil.example' },
          { origin: 'null' },
          { 'sec-fetch-site': 'cross-site' },
          { 'sec-fetch-site': 'same-site' },
        ]) {
          const reply = await call(url, 'POST', '/auth/login', { json, headers });
          expectError(reply, 403, 'origin_refused');
          expect(reply.setCookie).toEqual([]);
        }
        const own = await call(url, 'POST', '/auth/login', { json, headers: { origin: main.origin, 'sec-fetch-site': 'same-origin' } });
        expect(own.status).toBe(200);
      });

      it('answers 400 naming the allowed transports when a login asks for another', async () => {
        const user = await register(strict.url);
        const reply = await call(strict.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'cookie' } });
        expectError(reply, 400, 'invalid_request');
        expect((reply.body as { message: string }).message).toContain('bearer, hybrid');
        // The default is the first listed: bearer.
        const fallback = tokens(await call(strict.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } }));
        expect(fallback.refresh_token).toBeTruthy();
      });
    });

    describe('POST /auth/refresh', () => {
      it('rotates a body refresh_token: a new pair for the same session, not fresh, no-store', async () => {
        const a = await account(url);
        const reply = await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } });
        expect(reply.status).toBe(200);
        expect(reply.header('cache-control')).toBe('no-store');
        const next = tokens(reply);
        expect(Object.keys(next).sort()).toEqual(['access_token', 'expires_in', 'refresh_expires_in', 'refresh_token', 'token_type']);
        const before = decodeJwt(a.refresh).claims;
        const after = decodeJwt(next.refresh_token!).claims;
        expect(after.sid).toBe(before.sid);
        expect(after.jti).not.toBe(before.jti);
        expect(decodeJwt(next.access_token!).claims).toMatchObject({ sid: before.sid, fresh: false });
        expect((await call(url, 'GET', '/auth/me', { bearer: next.access_token! })).status).toBe(200);
      });

      it('takes the refresh token as Bearer', async () => {
        const a = await account(url);
        const next = tokens(await call(url, 'POST', '/auth/refresh', { bearer: a.refresh }));
        expect(decodeJwt(next.refresh_token!).claims.sid).toBe(decodeJwt(a.refresh).claims.sid);
      });

      it('takes the refresh cookie with the CSRF header in cookie transport, and refuses it without', async () => {
        const user = await register(url);
        const first = await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'cookie' } });
        const jar = cookieJar(first.setCookie);
        const csrf = jar[CSRF]!;
        const cookies = { [REFRESH]: jar[REFRESH]!, [CSRF]: csrf };

        expectError(await call(url, 'POST', '/auth/refresh', { cookies }), 403, 'csrf_failed');
        expectError(await call(url, 'POST', '/auth/refresh', { cookies, headers: { 'x-csrf-token': 'not-it' } }), 403, 'csrf_failed');
        expectError(
          await call(url, 'POST', '/auth/refresh', { cookies, headers: cookieHeaders(csrf, 'https://evil.example') }),
          403,
          'origin_refused',
        );

        const reply = await call(url, 'POST', '/auth/refresh', { cookies, headers: cookieHeaders(csrf, main.origin) });
        expect(reply.status).toBe(200);
        expect(reply.body).not.toHaveProperty('refresh_token');
        expect(reply.body).not.toHaveProperty('access_token');
        const next = cookieJar(reply.setCookie);
        expect(next[REFRESH]).toBeTruthy();
        expect(next[REFRESH]).not.toBe(jar[REFRESH]);
        expect(next[ACCESS]).toBeTruthy();
        // One CSRF value per session, surviving rotation.
        expect(next[CSRF] ?? csrf).toBe(csrf);
        expect((await call(url, 'GET', '/auth/me', { cookies: { [ACCESS]: next[ACCESS]! } })).status).toBe(200);
      });

      it('answers hybrid refreshes with the access token in the body and the refresh token in a cookie', async () => {
        const user = await register(url);
        const first = await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'hybrid' } });
        const jar = cookieJar(first.setCookie);
        const cookies = { [REFRESH]: jar[REFRESH]! };
        expectError(await call(url, 'POST', '/auth/refresh', { cookies }), 403, 'csrf_failed');
        const reply = await call(url, 'POST', '/auth/refresh', { cookies, headers: cookieHeaders(jar[CSRF]!) });
        const body = tokens(reply);
        expect(body.access_token).toBeTruthy();
        expect(body).not.toHaveProperty('refresh_token');
        expect(cookieJar(reply.setCookie)[REFRESH]).toBeTruthy();
      });

      it('lets two tabs refresh with the same token at once: both succeed and end on one session', async () => {
        const a = await account(url);
        const [one, two] = await Promise.all([
          call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }),
          call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }),
        ]);
        const [p1, p2] = [tokens(one!), tokens(two!)];
        expect(decodeJwt(p1.refresh_token!).claims.jti).toBe(decodeJwt(p2.refresh_token!).claims.jti);
        expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: p2.refresh_token } })).status).toBe(200);
      });

      it('detects reuse: 401 refresh_token_reused, and the session is gone for its access token too', async () => {
        const a = await account(url);
        const second = tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }));
        const third = tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: second.refresh_token } }));
        expect((await call(url, 'GET', '/auth/me', { bearer: third.access_token! })).status).toBe(200);

        // The first token is older than the previous one: reuse, whatever the grace window.
        const reused = await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } });
        expectTokenRefused(reused, 'refresh_token_reused');
        expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: third.access_token! }), 'token_revoked');
        expectTokenRefused(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: third.refresh_token } }), 'token_revoked');
      });

      it('refuses the wrong kind of token, a forged one, none, and two different ones', async () => {
        const a = await account(url);
        const b = await account(url);
        expectTokenRefused(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.access } }), 'token_type_invalid');
        expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: a.refresh }), 'token_type_invalid');
        const [h, c, s] = a.refresh.split('.');
        const forged = `${h}.${c}.${s!.slice(0, -4)}AAAA`;
        expectTokenRefused(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: forged } }), 'token_invalid');
        expectTokenRefused(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: 'not.a.jwt' } }), 'token_invalid');
        const none = await call(url, 'POST', '/auth/refresh', { json: {} });
        expectError(none, 401, 'token_missing');
        expect(none.header('www-authenticate')).toBe('Bearer');
        expectError(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh }, bearer: b.refresh }), 400, 'token_conflict');
        // Neither session was touched by the refusals.
        expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } })).status).toBe(200);
      });
    });

    describe('forged access tokens', () => {
      it("refuses alg none, a token signed with another key, and the JWKS' public key used as an HMAC secret", async () => {
        const a = await account(url);
        const { header, claims } = decodeJwt(a.access);
        const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
        const { createHmac, generateKeyPairSync, sign } = await import('node:crypto');
        const none = `${b64({ ...header, alg: 'none' })}.${b64(claims)}.`;
        const jwk = ((await call(url, 'GET', '/.well-known/jwks.json')).body as { keys: { kid: string; x: string }[] }).keys.find(
          (k) => k.kid === header.kid,
        )!;
        const hsInput = `${b64({ ...header, alg: 'HS256' })}.${b64({ ...claims, sub: 'someone-else' })}`;
        const confused = `${hsInput}.${createHmac('sha256', Buffer.from(jwk.x, 'base64url')).update(hsInput).digest('base64url')}`;
        const other = generateKeyPairSync('ed25519');
        const edInput = `${b64(header)}.${b64({ ...claims, sub: 'someone-else' })}`;
        const foreign = `${edInput}.${sign(null, Buffer.from(edInput), other.privateKey).toString('base64url')}`;
        for (const token of [none, confused, foreign]) expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: token }), 'token_invalid');
      });
    });

    describe('POST /auth/logout and /auth/logout-all', () => {
      const expectCleared = (reply: Answer): void => {
        for (const name of [ACCESS, REFRESH, CSRF]) expect(setCookieOf(reply.setCookie, name)).toMatch(/^[^=]+=; .*Max-Age=0/);
      };

      it('ends the session of a refresh token: 204, cookies cleared, its access token refused after', async () => {
        const a = await account(url);
        const reply = await call(url, 'POST', '/auth/logout', { json: { refresh_token: a.refresh } });
        expect(reply.status).toBe(204);
        expect(reply.text).toBe('');
        expect(reply.header('cache-control')).toBe('no-store');
        expectCleared(reply);
        expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: a.access }), 'token_revoked');
        expectTokenRefused(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }), 'token_revoked');
      });

      it('ends the session of an access token alone', async () => {
        const a = await account(url);
        expect((await call(url, 'POST', '/auth/logout', { bearer: a.access })).status).toBe(204);
        expectTokenRefused(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }), 'token_revoked');
      });

      it('logs a cookie session out with the CSRF header and clears its cookies', async () => {
        const user = await register(url);
        const jar = cookieJar(
          (await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'cookie' } })).setCookie,
        );
        const cookies = { [ACCESS]: jar[ACCESS]!, [REFRESH]: jar[REFRESH]!, [CSRF]: jar[CSRF]! };
        expectError(await call(url, 'POST', '/auth/logout', { cookies }), 403, 'csrf_failed');
        const reply = await call(url, 'POST', '/auth/logout', { cookies, headers: cookieHeaders(jar[CSRF]!) });
        expect(reply.status).toBe(204);
        expectCleared(reply);
        expectTokenRefused(await call(url, 'GET', '/auth/me', { cookies: { [ACCESS]: jar[ACCESS]! } }), 'token_revoked');
      });

      it('clears cookies even when the tokens in them are invalid (401: nothing was ended); refuses a logout with no token at all', async () => {
        const garbage = await call(url, 'POST', '/auth/logout', { cookies: { [REFRESH]: 'garbage', [ACCESS]: 'garbage' } });
        expectError(garbage, 401, 'token_invalid');
        expectCleared(garbage);
        const none = await call(url, 'POST', '/auth/logout');
        expectError(none, 401, 'token_missing');
        expectCleared(none);
      });

      it('logout-all ends every session of the caller and no one else’s', async () => {
        const user = await register(url);
        const one = await login(url, user.username);
        const two = await login(url, user.username);
        const other = await account(url);
        expectError(await call(url, 'POST', '/auth/logout-all'), 401, 'token_missing');
        const reply = await call(url, 'POST', '/auth/logout-all', { bearer: one.access_token! });
        expect(reply.status).toBe(204);
        expect(reply.header('cache-control')).toBe('no-store');
        for (const pair of [one, two]) {
          expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: pair.access_token! }), 'token_revoked');
          expectTokenRefused(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: pair.refresh_token } }), 'token_revoked');
        }
        expect((await call(url, 'GET', '/auth/me', { bearer: other.access })).status).toBe(200);
      });
    });

    describe('GET /auth/me', () => {
      it('answers {id, username, roles}, no-store', async () => {
        const a = await account(url);
        const reply = await call(url, 'GET', '/auth/me', { bearer: a.access });
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({ id: a.id, username: a.username, roles: [] });
        expect(reply.header('cache-control')).toBe('no-store');
      });

      it('answers 401 with the RFC 6750 challenge: bare without a token, invalid_token with a bad one', async () => {
        const none = await call(url, 'GET', '/auth/me');
        expectError(none, 401, 'token_missing');
        expect(none.header('www-authenticate')).toBe('Bearer');
        const a = await account(url);
        const [h, c] = a.access.split('.');
        expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: `${h}.${c}.AAAA` }), 'token_invalid');
        expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: 'x' }), 'token_invalid');
        // A token in the query string is not looked at.
        expectError(await call(url, 'GET', `/auth/me?access_token=${a.access}`), 401, 'token_missing');
      });

      it('judges a request by its Authorization header alone: a good cookie never excuses a bad header', async () => {
        const user = await register(url);
        const jar = cookieJar(
          (await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'cookie' } })).setCookie,
        );
        const reply = await call(url, 'GET', '/auth/me', { cookies: { [ACCESS]: jar[ACCESS]! }, bearer: 'bad.token.here' });
        expectTokenRefused(reply, 'token_invalid');
      });

      it('refuses two Authorization headers (400 invalid_request)', async () => {
        const a = await account(url);
        const reply = await rawCall(url, 'GET /auth/me HTTP/1.1', [
          ['Authorization', `Bearer ${a.access}`],
          ['Authorization', `Bearer ${a.access}`],
        ]);
        expectError(reply, 400, 'invalid_request');
      });
    });

    describe('POST /auth/password', () => {
      it('with a fresh token: 200 and a new pair; every earlier session revoked; the new password only', async () => {
        const user = await register(url);
        const first = await login(url, user.username);
        const second = await login(url, user.username);
        const newPassword = 'a brand new password';
        const reply = await call(url, 'POST', '/auth/password', {
          bearer: first.access_token!,
          json: { current_password: PASSWORD, new_password: newPassword },
        });
        expect(reply.status).toBe(200);
        expect(reply.header('cache-control')).toBe('no-store');
        const fresh = tokens(reply);
        expect(fresh.token_type).toBe('Bearer');
        expect(decodeJwt(fresh.access_token!).claims.sid).not.toBe(decodeJwt(first.access_token!).claims.sid);

        for (const pair of [first, second]) {
          expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: pair.access_token! }), 'token_revoked');
          expectTokenRefused(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: pair.refresh_token } }), 'token_revoked');
        }
        expect((await call(url, 'GET', '/auth/me', { bearer: fresh.access_token! })).status).toBe(200);
        expect((await call(url, 'POST', '/auth/refresh', { json: { refresh_token: fresh.refresh_token } })).status).toBe(200);
        expectError(await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } }), 401, 'invalid_credentials');
        expect((await login(url, user.username, newPassword)).access_token).toBeTruthy();
      });

      it('refuses a refreshed (not fresh) token with 401 fresh_token_required', async () => {
        const a = await account(url);
        const refreshed = tokens(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }));
        const reply = await call(url, 'POST', '/auth/password', {
          bearer: refreshed.access_token!,
          json: { current_password: PASSWORD, new_password: 'another password' },
        });
        expectTokenRefused(reply, 'fresh_token_required');
        expect((await login(url, a.username)).access_token).toBeTruthy();
      });

      it('refuses a wrong current password (401) and an invalid new one (422), changing nothing', async () => {
        const a = await account(url);
        const wrong = await call(url, 'POST', '/auth/password', {
          bearer: a.access,
          json: { current_password: 'not it at all', new_password: 'another password' },
        });
        expectError(wrong, 401, 'invalid_credentials');
        const short = await call(url, 'POST', '/auth/password', { bearer: a.access, json: { current_password: PASSWORD, new_password: 'short' } });
        expectError(short, 422, 'validation_failed');
        expectError(await call(url, 'POST', '/auth/password', { bearer: a.access, json: { current_password: PASSWORD } }), 422, 'validation_failed');
        expect((await call(url, 'GET', '/auth/me', { bearer: a.access })).status).toBe(200);
        expect((await login(url, a.username)).access_token).toBeTruthy();
      });

      it('keeps a cookie session in cookies: the new pair comes back as cookies', async () => {
        const user = await register(url);
        const jar = cookieJar(
          (await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'cookie' } })).setCookie,
        );
        const reply = await call(url, 'POST', '/auth/password', {
          cookies: { [ACCESS]: jar[ACCESS]!, [REFRESH]: jar[REFRESH]!, [CSRF]: jar[CSRF]! },
          headers: cookieHeaders(jar[CSRF]!),
          json: { current_password: PASSWORD, new_password: 'cookie new password' },
        });
        expect(reply.status).toBe(200);
        expect(reply.body).not.toHaveProperty('access_token');
        const next = cookieJar(reply.setCookie);
        expect((await call(url, 'GET', '/auth/me', { cookies: { [ACCESS]: next[ACCESS]! } })).status).toBe(200);
        expectTokenRefused(await call(url, 'GET', '/auth/me', { cookies: { [ACCESS]: jar[ACCESS]! } }), 'token_revoked');
      });
    });

    describe('GET /auth/sessions and DELETE /auth/sessions/:id', () => {
      it("lists the caller's own live sessions with device, address and last use; the current one marked", async () => {
        const user = await register(url);
        const laptop = tokens(
          await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD }, headers: { 'user-agent': 'laptop/1.0' } }),
        );
        const phone = tokens(
          await call(url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD }, headers: { 'user-agent': 'phone/2.0' } }),
        );
        await account(url); // someone else's session must not appear
        const reply = await call(url, 'GET', '/auth/sessions', { bearer: phone.access_token! });
        expect(reply.status).toBe(200);
        expect(reply.header('cache-control')).toBe('no-store');
        const list = reply.body as {
          id: string;
          current: boolean;
          user_agent: string;
          ip: string;
          created_at: string;
          last_used_at: string;
          expires_at: string;
        }[];
        expect(list).toHaveLength(2);
        const current = list.find((s) => s.current);
        expect(current?.id).toBe(decodeJwt(phone.access_token!).claims.sid);
        expect(current?.user_agent).toBe('phone/2.0');
        expect(list.find((s) => !s.current)).toMatchObject({
          id: decodeJwt(laptop.access_token!).claims.sid,
          user_agent: 'laptop/1.0',
          ip: '127.0.0.1',
        });
        for (const s of list) {
          for (const time of [s.created_at, s.last_used_at, s.expires_at]) expect(Number.isNaN(Date.parse(time))).toBe(false);
          expect(Date.parse(s.expires_at)).toBeGreaterThan(Date.now());
        }
      });

      it("revokes one of the caller's sessions (204); another user's id and an unknown id answer 404", async () => {
        const user = await register(url);
        const keep = await login(url, user.username);
        const drop = await login(url, user.username);
        const stranger = await account(url);

        const foreign = await call(url, 'DELETE', `/auth/sessions/${decodeJwt(stranger.access).claims.sid as string}`, {
          bearer: keep.access_token!,
        });
        expectError(foreign, 404, 'not_found');
        expect((await call(url, 'GET', '/auth/me', { bearer: stranger.access })).status).toBe(200);
        expectError(await call(url, 'DELETE', '/auth/sessions/no-such-session', { bearer: keep.access_token! }), 404, 'not_found');

        const sid = decodeJwt(drop.access_token!).claims.sid as string;
        const reply = await call(url, 'DELETE', `/auth/sessions/${sid}`, { bearer: keep.access_token! });
        expect(reply.status).toBe(204);
        expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: drop.access_token! }), 'token_revoked');
        expect((await call(url, 'GET', '/auth/me', { bearer: keep.access_token! })).status).toBe(200);
        const list = (await call(url, 'GET', '/auth/sessions', { bearer: keep.access_token! })).body as { id: string }[];
        expect(list.map((s) => s.id)).toEqual([decodeJwt(keep.access_token!).claims.sid]);
        // Revoked already: now it is not found either.
        expectError(await call(url, 'DELETE', `/auth/sessions/${sid}`, { bearer: keep.access_token! }), 404, 'not_found');
        expectError(await call(url, 'GET', '/auth/sessions'), 401, 'token_missing');
      });
    });

    describe('the session limit', () => {
      it('revokes the oldest session past TESSERA_MAX_SESSIONS', async () => {
        const user = await register(strict.url);
        const pairs = [];
        // Each login from its own address, so the login limit of this server stays out of the way.
        for (let i = 0; i < 3; i++) {
          pairs.push(
            tokens(
              await call(strict.url, 'POST', '/auth/login', {
                json: { username: user.username, password: PASSWORD },
                headers: { 'x-forwarded-for': `192.0.2.${i + 1}` },
              }),
            ),
          );
        }
        expectTokenRefused(await call(strict.url, 'GET', '/auth/me', { bearer: pairs[0]!.access_token! }), 'token_revoked');
        for (const pair of pairs.slice(1)) expect((await call(strict.url, 'GET', '/auth/me', { bearer: pair.access_token! })).status).toBe(200);
        const list = (await call(strict.url, 'GET', '/auth/sessions', { bearer: pairs[2]!.access_token! })).body as { ip: string }[];
        expect(list.map((s) => s.ip).sort()).toEqual(['192.0.2.2', '192.0.2.3']);
      });
    });

    describe('a disabled user', () => {
      it('is refused at once, whatever their tokens say; revoking their sessions ends refresh too', async () => {
        const a = await account(url);
        const { users, auth, clock: now } = main.runtime;
        expect(await users.disable(a.id, now.now())).toBe(true);
        // The user check alone refuses the still-live session.
        expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: a.access }), 'user_invalid');
        const wrong = await call(url, 'POST', '/auth/login', { json: { username: a.username, password: 'wrong password' } });
        const disabled = await call(url, 'POST', '/auth/login', { json: { username: a.username, password: PASSWORD } });
        expect(disabled.text).toBe(wrong.text);
        expectError(disabled, 401, 'invalid_credentials');

        await auth.revokeUserSessions(a.id, 'user_disabled');
        expectTokenRefused(await call(url, 'GET', '/auth/me', { bearer: a.access }), 'token_revoked');
        expectTokenRefused(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }), 'token_revoked');
      });
    });

    describe('time (a fixed clock)', () => {
      it('refuses an expired access token with token_expired, and the refresh token still works', async () => {
        clock.set(Date.now());
        const a = await account(timed.url);
        clock.advance(901_000);
        const expired = await call(timed.url, 'GET', '/auth/me', { bearer: a.access });
        expectTokenRefused(expired, 'token_expired');
        expect((expired.body as { message: string }).message).toBe('Token has expired');
        const next = tokens(await call(timed.url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }));
        expect((await call(timed.url, 'GET', '/auth/me', { bearer: next.access_token! })).status).toBe(200);
        clock.advance(7 * 86_400_000 + 1000);
        expectTokenRefused(await call(timed.url, 'POST', '/auth/refresh', { json: { refresh_token: next.refresh_token } }), 'token_expired');
      });

      it('gives the previous refresh token the current one inside the grace window, and calls it reuse after', async () => {
        clock.set(Date.now());
        const a = await account(timed.url);
        const second = tokens(await call(timed.url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }));
        clock.advance(9000);
        const replay = tokens(await call(timed.url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }));
        expect(decodeJwt(replay.refresh_token!).claims.jti).toBe(decodeJwt(second.refresh_token!).claims.jti);
        clock.advance(2000);
        expectTokenRefused(await call(timed.url, 'POST', '/auth/refresh', { json: { refresh_token: a.refresh } }), 'refresh_token_reused');
        expectTokenRefused(await call(timed.url, 'GET', '/auth/me', { bearer: second.access_token! }), 'token_revoked');
      });

      it('refuses a token issued in the future with token_not_yet_valid', async () => {
        const now = Date.now();
        clock.set(now + 3_600_000);
        const a = await account(timed.url);
        clock.set(now);
        expectTokenRefused(await call(timed.url, 'GET', '/auth/me', { bearer: a.access }), 'token_not_yet_valid');
      });

      it('keeps a cookie session CSRF value through rotation, and refuses an expired access cookie', async () => {
        clock.set(Date.now());
        const user = await register(timed.url);
        const jar = cookieJar(
          (await call(timed.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD, transport: 'cookie' } })).setCookie,
        );
        clock.advance(901_000);
        expectTokenRefused(await call(timed.url, 'GET', '/auth/me', { cookies: { [ACCESS]: jar[ACCESS]! } }), 'token_expired');
        const reply = await call(timed.url, 'POST', '/auth/refresh', { cookies: { [REFRESH]: jar[REFRESH]! }, headers: cookieHeaders(jar[CSRF]!) });
        expect(reply.status).toBe(200);
        const next = cookieJar(reply.setCookie);
        expect(decodeJwt(next[ACCESS]!).claims.csrf).toBe(jar[CSRF]);
      });
    });

    describe('operations', () => {
      it('publishes only public access-token keys in the JWKS, with cache headers', async () => {
        const a = await account(url);
        const reply = await call(url, 'GET', '/.well-known/jwks.json');
        expect(reply.status).toBe(200);
        expect(reply.header('cache-control')).toMatch(/^public, max-age=\d+$/);
        expect(reply.header('content-type')).toMatch(/^application\/json/);
        const { keys } = reply.body as { keys: Record<string, unknown>[] };
        expect(keys.length).toBeGreaterThan(0);
        for (const key of keys) {
          expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String), x: expect.any(String) });
          for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(secret);
        }
        const kids = keys.map((k) => k.kid);
        expect(kids).toContain(decodeJwt(a.access).header.kid);
        expect(kids).not.toContain(decodeJwt(a.refresh).header.kid);
      });

      it('answers /healthz and /readyz', async () => {
        const health = await call(url, 'GET', '/healthz');
        expect(health.status).toBe(200);
        expect(health.body).toEqual({ status: 'ok' });
        const ready = await call(url, 'GET', '/readyz');
        expect(ready.status).toBe(200);
        expect(ready.body).toEqual({
          status: 'ready',
          checks: backend.name === 'postgres' ? { database: true, redis: true } : { database: true },
        });
      });

      it('lists every API route in /openapi.json', async () => {
        const reply = await call(url, 'GET', '/openapi.json');
        expect(reply.status).toBe(200);
        const doc = reply.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
        expect(doc.openapi).toMatch(/^3\./);
        const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
        expect(routes).toEqual(
          expect.arrayContaining([
            'POST /auth/register',
            'POST /auth/login',
            'POST /auth/refresh',
            'POST /auth/logout',
            'POST /auth/logout-all',
            'GET /auth/me',
            'POST /auth/password',
            'GET /auth/sessions',
            'DELETE /auth/sessions/{id}',
            'GET /.well-known/jwks.json',
            'GET /healthz',
            'GET /readyz',
          ]),
        );
      });

      it('serves the pages with a CSP that forbids framing, nosniff and a Referrer-Policy', async () => {
        for (const path of ['/', '/docs']) {
          const reply = await call(url, 'GET', path);
          expect(reply.status).toBe(200);
          expect(reply.header('content-type')).toMatch(/^text\/html/);
          const csp = reply.header('content-security-policy') ?? '';
          expect(csp).toContain("frame-ancestors 'none'");
          expect(csp).toMatch(/default-src 'none'/);
          expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
          expect(reply.header('x-content-type-options')).toBe('nosniff');
          expect(reply.header('referrer-policy')).toBeTruthy();
          expect(reply.text).not.toMatch(/<script>[^<]/);
        }
        const docs = await call(url, 'GET', '/docs');
        for (const path of ['/auth/login', '/auth/refresh', '/auth/sessions/{id}']) expect(docs.text).toContain(path);
      });

      it('keeps /metrics off by default; with a token: 401 without or with a wrong one, 200 with it', async () => {
        expectError(await call(url, 'GET', '/metrics'), 404, 'not_found');
        const none = await call(strict.url, 'GET', '/metrics');
        expect(none.status).toBe(401);
        expect((none.body as { error: string }).error).toBe('token_invalid');
        expect((await call(strict.url, 'GET', '/metrics', { bearer: 'metrics-token-0123456788' })).status).toBe(401);
        expect((await call(strict.url, 'GET', '/metrics', { bearer: METRICS_TOKEN.slice(0, -1) })).status).toBe(401);
        const ok = await call(strict.url, 'GET', '/metrics', { bearer: METRICS_TOKEN });
        expect(ok.status).toBe(200);
        expect(ok.header('content-type')).toMatch(/^text\/plain/);
        expect(ok.text).toContain('tessera_logins_total');
        expect(ok.text).toContain('tessera_http_request_duration_seconds');
      });
    });

    describe('refusals', () => {
      it('answers an unknown path with a JSON 404', async () => {
        for (const [method, path] of [
          ['GET', '/nope'],
          ['POST', '/auth/nope'],
          ['PUT', '/auth/login'],
          ['GET', '/auth/login'],
        ] as const) {
          expectError(await call(url, method, path), 404, 'not_found');
        }
      });

      it('answers 413 for a 1 MB body, before reading it', async () => {
        const body = JSON.stringify({ username: 'x', password: 'y'.repeat(1024 * 1024) });
        const reply = await rawCall(url, 'POST /auth/login HTTP/1.1', [['Content-Type', 'application/json']], body);
        expectError(reply, 413, 'payload_too_large');
        const form = await rawCall(
          url,
          'POST /auth/login HTTP/1.1',
          [['Content-Type', 'application/x-www-form-urlencoded']],
          `password=${'y'.repeat(1024 * 1024)}`,
        );
        expectError(form, 413, 'payload_too_large');
      });

      it('answers 415 for text/plain and other media types', async () => {
        for (const contentType of ['text/plain', 'text/plain;charset=utf-8', 'multipart/form-data; boundary=x', 'application/xml']) {
          const reply = await call(url, 'POST', '/auth/login', { body: '{"username":"a","password":"b"}', contentType });
          expectError(reply, 415, 'unsupported_media_type');
        }
      });

      it('answers 400 for malformed JSON', async () => {
        for (const raw of ['{"username":', '{username: "x"}', "{'a':1}", '\u0000']) {
          expectError(await call(url, 'POST', '/auth/login', { body: raw, contentType: 'application/json' }), 400, 'invalid_request');
        }
      });

      it('answers 429 with Retry-After past the login limit, per account and address (a victim elsewhere still logs in)', async () => {
        const victim = await register(strict.url);
        const attacker = { 'x-forwarded-for': '203.0.113.7' };
        for (let i = 0; i < 3; i++) {
          const wrong = await call(strict.url, 'POST', '/auth/login', {
            json: { username: victim.username, password: 'guess guess' },
            headers: attacker,
          });
          expectError(wrong, 401, 'invalid_credentials');
        }
        const throttled = await call(strict.url, 'POST', '/auth/login', {
          json: { username: victim.username, password: PASSWORD },
          headers: attacker,
        });
        expectError(throttled, 429, 'rate_limited');
        const retry = Number(throttled.header('retry-after'));
        expect(Number.isInteger(retry)).toBe(true);
        expect(retry).toBeGreaterThan(0);
        expect(retry).toBeLessThanOrEqual(900);
        // The victim, from their own address, is not locked out.
        const own = await call(strict.url, 'POST', '/auth/login', {
          json: { username: victim.username, password: PASSWORD },
          headers: { 'x-forwarded-for': '198.51.100.9' },
        });
        expect(own.status).toBe(200);
      });

      it('throttles registration too', async () => {
        const headers = { 'x-forwarded-for': '203.0.113.77' };
        const name = uniqueName('th');
        const codes: number[] = [];
        for (let i = 0; i < 4; i++)
          codes.push((await call(strict.url, 'POST', '/auth/register', { json: { username: name, password: PASSWORD }, headers })).status);
        expect(codes).toEqual([201, 409, 409, 429]);
      });

      it('throttles password changes per account and address: a stolen fresh token cannot guess the password', async () => {
        const user = await register(strict.url);
        const thief = { 'x-forwarded-for': '203.0.113.88' };
        const fresh = tokens(
          await call(strict.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD }, headers: thief }),
        );
        const change = (current: string, headers: Record<string, string>, bearer = fresh.access_token!) =>
          call(strict.url, 'POST', '/auth/password', {
            bearer,
            headers,
            json: { current_password: current, new_password: 'another good passphrase' },
          });
        for (let i = 0; i < 3; i++) expectError(await change(`guess number ${i}`, thief), 401, 'invalid_credentials');
        const throttled = await change(PASSWORD, thief);
        expectError(throttled, 429, 'rate_limited');
        expect(Number(throttled.header('retry-after'))).toBeGreaterThan(0);
        // The owner, from their own address and session, still changes it.
        const own = tokens(
          await call(strict.url, 'POST', '/auth/login', {
            json: { username: user.username, password: PASSWORD },
            headers: { 'x-forwarded-for': '198.51.100.88' },
          }),
        );
        expect((await change(PASSWORD, { 'x-forwarded-for': '198.51.100.88' }, own.access_token!)).status).toBe(200);
      });

      it('answers 503 server_busy with Retry-After when the password queue is full', async () => {
        const busy = await startServer(backend.env, {
          patch: (runtime) => ({ ...runtime, hasher: new PasswordHasher({ concurrency: 1, queueLimit: 0 }) }),
        });
        try {
          const user = await register(busy.url);
          const replies = await Promise.all(
            Array.from({ length: 8 }, () => call(busy.url, 'POST', '/auth/login', { json: { username: user.username, password: PASSWORD } })),
          );
          const statuses = replies.map((r) => r.status);
          expect(statuses).toContain(200);
          const refused = replies.find((r) => r.status === 503);
          expect(refused, `statuses ${statuses.join(',')}`).toBeDefined();
          expectError(refused!, 503, 'server_busy');
          expect(refused!.header('retry-after')).toBe('1');
        } finally {
          await busy.close();
        }
      });

      it('never answers 500 or a stack trace to hostile input on any route', async () => {
        const a = await account(url);
        const bodies: (string | undefined)[] = [
          undefined,
          'null',
          '[]',
          '0',
          '"string"',
          'true',
          '{}',
          '{"username":null,"password":null}',
          '{"username":{"$gt":""},"password":["x"]}',
          '{"refresh_token":["a","b"]}',
          '{"refresh_token":{}}',
          '{"refresh_token":""}',
          '{"transport":"cookie","username":"abc","password":"abcdefgh"}',
          '{"transport":7,"username":"abc","password":"abcdefgh"}',
          '{"current_password":1,"new_password":{}}',
          '{"__proto__":{"admin":true},"username":"abc","password":"abcdefgh"}',
          `{"username":"${'a'.repeat(300)}","password":"${'b'.repeat(5000)}"}`,
          '{"username":"\\ud800","password":"\\udfff\\udfffabcdefg"}',
        ];
        const routes = ['/auth/register', '/auth/login', '/auth/refresh', '/auth/logout', '/auth/logout-all', '/auth/password'];
        for (const route of routes) {
          for (const raw of bodies) {
            for (const bearer of [undefined, a.access, 'Bearer', 'a.b.c']) {
              const reply = await call(url, 'POST', route, {
                ...(raw === undefined ? {} : { raw, contentType: 'application/json' }),
                ...(bearer === undefined ? {} : { bearer }),
              });
              // `call` itself fails on a 5xx other than 503 and on a stack trace; every refusal has the one shape.
              expect(reply.status).toBeLessThan(500);
              if (reply.status >= 400) expect(reply.body).toMatchObject({ error: expect.any(String), message: expect.any(String) });
              if (route === '/auth/password' && reply.status === 200) throw new Error('a hostile body changed a password');
            }
          }
        }
        for (const path of ['/auth/sessions/%00', `/auth/sessions/${'x'.repeat(100)}`, '/auth/sessions/..%2F..%2Fetc']) {
          expect((await call(url, 'DELETE', path, { bearer: a.access })).status).toBeLessThan(500);
        }
        for (const header of ['Bearer', 'Bearer ', 'Basic YTpi', `Bearer ${'a'.repeat(9000)}`, 'Bearer a.b.c.d.e', `bearer ${a.access}`]) {
          const reply = await rawCall(url, 'GET /auth/me HTTP/1.1', [['Authorization', header]]);
          expect(reply.status).toBeLessThan(500);
        }
      });
    });
  });
}
