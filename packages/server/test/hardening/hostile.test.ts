// Hostile requests against a LISTENING server (real sockets), with HS256 (TESSERA_SECRET), EdDSA and
// ES256 access keys, in the bearer, cookie and hybrid transports: forged tokens of every class,
// tokens of the wrong kind, missing or mismatched CSRF, cross-site requests, replayed refresh
// tokens, refresh after logout / password change / user disabled, malformed bodies, wrong media
// types, 1 MB bodies and duplicate headers. Every answer must be the 4xx docs/architecture.md names, with its
// stable code: never a 200, never a 5xx, never a stack trace (the test kit's `call` fails on those).
// Long on purpose: a table of hostile requests per key and transport, one row each.
import { randomBytes } from 'node:crypto';
import type { Jwks } from '@tessera/auth';
import { afterAll, describe, expect, it } from 'vitest';
import {
  call,
  claimsOf,
  loginSession as login,
  PASSWORD,
  postgresBackend,
  rawCall,
  refresh,
  register,
  sessionFrom,
  sqliteBackend,
  uniqueName,
  withAccess,
  withRefresh,
  type Answer,
  type Backend,
  type CookieNames,
  type Req,
  type Session,
  type Transport,
} from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { expectedFor, forgeries, refreshForgeries, startSpy, type Forgery, type Spy } from './forgeries.js';
import { expectRefusal, runCli, startServer } from './support.js';

type Alg = 'HS256' | 'EdDSA' | 'ES256';
const TRANSPORTS: readonly Transport[] = ['bearer', 'cookie', 'hybrid'];
const EVIL = 'https://evil.example';
const POST_ROUTES = ['/auth/register', '/auth/login', '/auth/refresh', '/auth/logout', '/auth/logout-all', '/auth/password'] as const;

interface Setup {
  readonly alg: Alg;
  readonly server: TestServer;
  readonly backend: Backend;
  readonly env: Readonly<Record<string, string>>;
  readonly names: CookieNames;
  /** Reuse grace in seconds (HS256 runs with 0: every replay is reuse). */
  readonly grace: number;
  /** The session whose live claims every access forgery carries. */
  readonly victim: Session;
  /** The session whose refresh token the refresh forgeries start from. */
  readonly refreshVictim: Session;
  readonly forged: readonly Forgery[];
  readonly refreshForged: readonly Forgery[];
  readonly spy: Spy;
}

async function setUp(alg: Alg): Promise<Setup> {
  // EdDSA (the default) on Postgres + Redis, the others on SQLite: both stores see every attack.
  const backend = alg === 'EdDSA' ? await postgresBackend('hostile', 13) : sqliteBackend();
  const env: Record<string, string> = { ...backend.env, TESSERA_ALG: alg, TESSERA_MAX_SESSIONS: '0' };
  if (alg === 'HS256') Object.assign(env, { TESSERA_SECRET: randomBytes(32).toString('base64url'), TESSERA_REUSE_GRACE: '0s' });
  const server = await startServer(env);
  const names = server.runtime.auth.config.cookies.names;
  const user = await register(server.url);
  const [victim, refreshVictim] = await Promise.all([
    login(server.url, user.username, 'bearer', names),
    login(server.url, user.username, 'bearer', names),
  ]);
  const jwks = (await call(server.url, 'GET', '/.well-known/jwks.json')).json as unknown as Jwks;
  const spy = await startSpy(jwks);
  const ctx = {
    access: victim.access,
    refresh: refreshVictim.refresh,
    accessKey: server.runtime.auth.config.keys.signingKey,
    refreshKey: server.runtime.auth.config.refreshKeys.signingKey,
    jwks,
    accessTtl: server.runtime.config.accessTtl,
    spy,
  };
  return {
    alg,
    server,
    backend,
    env,
    names,
    grace: server.runtime.config.reuseGrace,
    victim,
    refreshVictim,
    forged: await forgeries(ctx),
    refreshForged: await refreshForgeries(ctx),
    spy,
  };
}

// Top-level await: the catalogue depends on each server's keys, and tests are named after its rows.
const setups = await Promise.all((['HS256', 'EdDSA', 'ES256'] as const).map(setUp));

afterAll(async () => {
  for (const s of setups) {
    await s.server.close();
    await s.spy.close();
    await s.backend.cleanup();
  }
});

/** The tokens a session holds, for the never-echoed check. */
const tokensOf = (...sessions: Session[]): string[] => sessions.flatMap((s) => [s.access, s.refresh]);

for (const setup of setups) {
  const { alg, names } = setup;
  const url = setup.server.url;
  // Most tests log in a shared user (no per-user session limit on these servers): one hash saved per
  // test. Tests that end every session of a user or change its password take a user of their own.
  let shared: string | undefined;
  const fresh = async (transport: Transport, own = false): Promise<Session> => {
    let username = shared;
    if (own || username === undefined) {
      username = uniqueName();
      await register(url, username);
      if (!own) shared = username;
    }
    return login(url, username, transport, names);
  };
  const me = (req: Req): Promise<Answer> => call(url, 'GET', '/auth/me', req);

  describe(`${alg} access keys`, () => {
    describe('forged access tokens on GET /auth/me', () => {
      for (const location of ['header', 'cookie'] as const) {
        for (const f of setup.forged) {
          const expected = expectedFor(f, location);
          if (expected === undefined) continue;
          it(`[${location}] ${f.class}: ${f.name} → ${expected.status} ${expected.code}`, async () => {
            const req: Req = location === 'header' ? { authorization: `Bearer ${f.token}` } : { cookies: { [names.access]: f.token } };
            expectRefusal(await me(req), expected.status, expected.code, [f.token]);
          });
        }
      }

      it('the victim session is untouched by all of it, and no jku or x5u was ever fetched', async () => {
        const reply = await me({ bearer: setup.victim.access });
        expect(reply.status).toBe(200);
        expect(setup.spy.hits).toEqual([]);
      });
    });

    describe('forged refresh tokens on POST /auth/refresh', () => {
      for (const location of ['body', 'cookie'] as const) {
        for (const f of setup.refreshForged) {
          if (location === 'cookie' && expectedFor(f, 'cookie') === undefined) continue;
          // A genuinely signed bearer-session token in a cookie is refused by CSRF before the store is asked.
          const [status, code] = location === 'cookie' && f.code === 'token_revoked' ? [403, 'csrf_failed'] : [401, f.code];
          it(`[${location}] ${f.class}: ${f.name} → ${status} ${code}`, async () => {
            const req: Req =
              location === 'body' ? { json: { refresh_token: f.token } } : { cookies: { [names.refresh]: f.token }, csrf: 'x'.repeat(22), json: {} };
            expectRefusal(await call(url, 'POST', '/auth/refresh', req), status, code, [f.token]);
          });
        }
      }

      it('the session the forgeries started from still rotates', async () => {
        const next = await refresh(url, setup.refreshVictim, names);
        expect(claimsOf(next.refresh).sid).toBe(claimsOf(setup.refreshVictim.refresh).sid);
      });
    });

    for (const transport of TRANSPORTS) {
      describe(`${transport} transport`, () => {
        it('token answers are never cached (no-store) and token cookies are HttpOnly, Secure, SameSite', async () => {
          const username = uniqueName();
          await register(url, username);
          const signedIn = await call(url, 'POST', '/auth/login', { json: { username, password: PASSWORD, transport } });
          const s = sessionFrom(signedIn, transport, username, names);
          const rotated = await call(url, 'POST', '/auth/refresh', withRefresh(s, { json: {} }));
          for (const reply of [signedIn, rotated]) {
            expect(reply.status).toBe(200);
            expect(reply.header('cache-control')).toBe('no-store');
            for (const line of reply.setCookie.filter((l) => l.startsWith(names.access) || l.startsWith(names.refresh))) {
              expect(line).toMatch(/; HttpOnly; Secure; SameSite=(Lax|Strict)$/);
            }
            // A token that travels in a cookie never also travels in the body.
            if (transport === 'cookie') expect(Object.keys(reply.json)).not.toContain('access_token');
            if (transport !== 'bearer') expect(Object.keys(reply.json)).not.toContain('refresh_token');
          }
        });

        it('a refresh token where the access token belongs, and the reverse: 401 token_type_invalid', async () => {
          const s = await fresh(transport);
          const asAccess: Req = transport === 'cookie' ? { cookies: { [names.access]: s.refresh } } : { bearer: s.refresh };
          expectRefusal(await me(asAccess), 401, 'token_type_invalid', tokensOf(s));
          const asRefresh: Req =
            transport === 'bearer'
              ? { json: { refresh_token: s.access } }
              : { cookies: { ...s.jar, [names.refresh]: s.access }, json: {}, ...(s.csrf === undefined ? {} : { csrf: s.csrf }) };
          expectRefusal(await call(url, 'POST', '/auth/refresh', asRefresh), 401, 'token_type_invalid', tokensOf(s));
          expectRefusal(await call(url, 'POST', '/auth/logout-all', { bearer: s.refresh }), 401, 'token_type_invalid', tokensOf(s));
          const change = { current_password: PASSWORD, new_password: `x ${PASSWORD}` };
          expectRefusal(await call(url, 'POST', '/auth/password', { bearer: s.refresh, json: change }), 401, 'token_type_invalid');
          // Nothing of that ended the session.
          expect((await me(withAccess(s))).status).toBe(200);
          await refresh(url, s, names);
        });

        if (transport !== 'bearer') {
          it('CSRF missing, mismatched, of another session or sent twice: 403 csrf_failed, and the session lives on', async () => {
            const s = await fresh(transport);
            const other = await fresh(transport);
            const cookies = s.jar;
            const cases: [string, Req][] = [
              ['no X-CSRF-Token', { cookies }],
              ['a wrong value', { cookies, csrf: 'A'.repeat(22) }],
              ['an empty value', { cookies, headers: { 'x-csrf-token': '' } }],
              ["another session's value", { cookies, ...(other.csrf === undefined ? {} : { csrf: other.csrf }) }],
            ];
            for (const [what, req] of cases) {
              expectRefusal(await call(url, 'POST', '/auth/refresh', { ...req, json: {} }), 403, 'csrf_failed', tokensOf(s), what);
              expectRefusal(await call(url, 'POST', '/auth/logout', { ...req, json: {} }), 403, 'csrf_failed', tokensOf(s), what);
              if (transport === 'cookie') {
                expectRefusal(await call(url, 'POST', '/auth/logout-all', req), 403, 'csrf_failed', tokensOf(s), what);
                const change = { current_password: PASSWORD, new_password: 'another long password' };
                expectRefusal(await call(url, 'POST', '/auth/password', { ...req, json: change }), 403, 'csrf_failed', tokensOf(s), what);
                expectRefusal(await call(url, 'DELETE', `/auth/sessions/${String(claimsOf(s.access).sid)}`, req), 403, 'csrf_failed', [], what);
              }
            }
            const twice = await rawCall(url, 'POST /auth/refresh HTTP/1.1', [
              [
                'Cookie',
                Object.entries(cookies)
                  .map(([k, v]) => `${k}=${v}`)
                  .join('; '),
              ],
              ['X-CSRF-Token', s.csrf ?? ''],
              ['X-CSRF-Token', s.csrf ?? ''],
            ]);
            expectRefusal(twice, 403, 'csrf_failed', tokensOf(s));
            expect((await me(withAccess(s))).status).toBe(200);
            await refresh(url, s, names);
          });

          it('a cross-site request with cookie credentials: 403 origin_refused (Origin, Sec-Fetch-Site, login)', async () => {
            const s = await fresh(transport);
            const own = new URL(url).origin;
            const crossSite: [string, Record<string, string>][] = [
              ['a foreign Origin', { origin: EVIL }],
              ['Origin null', { origin: 'null' }],
              ['our host over https', { origin: own.replace('http:', 'https:') }],
              ['our host on another port', { origin: `http://127.0.0.1:1` }],
              ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }],
              ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }],
              ['Sec-Fetch-Site cross-site beside our own Origin', { origin: own, 'sec-fetch-site': 'cross-site' }],
            ];
            for (const [what, headers] of crossSite) {
              const req = withRefresh(s, { headers, json: {} });
              expectRefusal(await call(url, 'POST', '/auth/refresh', req), 403, 'origin_refused', tokensOf(s), what);
              expectRefusal(await call(url, 'POST', '/auth/logout', req), 403, 'origin_refused', tokensOf(s), what);
              if (transport === 'cookie')
                expectRefusal(await call(url, 'POST', '/auth/logout-all', withAccess(s, { headers })), 403, 'origin_refused', tokensOf(s), what);
              const loginReply = await call(url, 'POST', '/auth/login', { headers, json: { username: s.username, password: PASSWORD, transport } });
              expectRefusal(loginReply, 403, 'origin_refused', [], `login: ${what}`);
              expect(loginReply.setCookie, what).toEqual([]);
            }
            const twoOrigins = await rawCall(url, 'POST /auth/refresh HTTP/1.1', [
              [
                'Cookie',
                Object.entries(s.jar)
                  .map(([k, v]) => `${k}=${v}`)
                  .join('; '),
              ],
              ['X-CSRF-Token', s.csrf ?? ''],
              ['Origin', own],
              ['Origin', EVIL],
            ]);
            expectRefusal(twoOrigins, 403, 'origin_refused', tokensOf(s));
            // Our own origin passes: the refusals above were about the origin alone.
            const ok = await call(
              url,
              'POST',
              '/auth/refresh',
              withRefresh(s, { headers: { origin: own, 'sec-fetch-site': 'same-origin' }, json: {} }),
            );
            expect(ok.status).toBe(200);
          });
        }

        it('a replayed grandparent refresh token: 401 refresh_token_reused, and the whole session is revoked', async () => {
          const s0 = await fresh(transport);
          const s1 = await refresh(url, s0, names);
          const s2 = await refresh(url, s1, names);
          expectRefusal(await call(url, 'POST', '/auth/refresh', withRefresh(s0, { json: {} })), 401, 'refresh_token_reused', tokensOf(s0));
          expectRefusal(await call(url, 'POST', '/auth/refresh', withRefresh(s2, { json: {} })), 401, 'token_revoked', tokensOf(s2));
          expectRefusal(await me(withAccess(s2)), 401, 'token_revoked', tokensOf(s2));
          expectRefusal(await me(withAccess(s0)), 401, 'token_revoked', tokensOf(s0));
        });

        it(`the parent refresh token replayed at once: ${setup.grace === 0 ? '401 refresh_token_reused (grace 0)' : 'the current token again, never a new branch'}`, async () => {
          const s0 = await fresh(transport);
          const s1 = await refresh(url, s0, names);
          const replay = await call(url, 'POST', '/auth/refresh', withRefresh(s0, { json: {} }));
          if (setup.grace === 0) {
            expectRefusal(replay, 401, 'refresh_token_reused', tokensOf(s0));
            expectRefusal(await call(url, 'POST', '/auth/refresh', withRefresh(s1, { json: {} })), 401, 'token_revoked');
            return;
          }
          const again = sessionFrom(replay, transport, s0.username, names, s0);
          expect(claimsOf(again.refresh).jti).toBe(claimsOf(s1.refresh).jti);
          expect(claimsOf(again.refresh).sid).toBe(claimsOf(s1.refresh).sid);
          // The one live chain goes on from the current token.
          await refresh(url, s1, names);
        });

        it('refresh after logout: 401 token_revoked; a second logout is 204, never a 5xx', async () => {
          const s = await fresh(transport);
          const out = await call(url, 'POST', '/auth/logout', withRefresh(s, { json: transport === 'bearer' ? { refresh_token: s.refresh } : {} }));
          expect(out.status).toBe(204);
          expectRefusal(await call(url, 'POST', '/auth/refresh', withRefresh(s, { json: {} })), 401, 'token_revoked', tokensOf(s));
          expectRefusal(await me(withAccess(s)), 401, 'token_revoked', tokensOf(s));
          const again = await call(url, 'POST', '/auth/logout', { bearer: s.access });
          expect(again.status).toBe(204);
        });

        it('refresh after a password change: old tokens 401 token_revoked, old password refused, the new pair works', async () => {
          const s = await fresh(transport, true);
          const other = await login(url, s.username, 'bearer', names);
          const newPassword = `new ${PASSWORD}`;
          const wrong = await call(
            url,
            'POST',
            '/auth/password',
            withAccess(s, { json: { current_password: 'not the password', new_password: newPassword } }),
          );
          expectRefusal(wrong, 401, 'invalid_credentials');
          const changed = await call(
            url,
            'POST',
            '/auth/password',
            withAccess(s, { json: { current_password: PASSWORD, new_password: newPassword } }),
          );
          const next = sessionFrom(changed, transport, s.username, names, s);
          for (const old of [s, other]) {
            expectRefusal(await call(url, 'POST', '/auth/refresh', withRefresh(old, { json: {} })), 401, 'token_revoked', tokensOf(old));
            expectRefusal(await me(withAccess(old)), 401, 'token_revoked', tokensOf(old));
          }
          expectRefusal(await call(url, 'POST', '/auth/login', { json: { username: s.username, password: PASSWORD } }), 401, 'invalid_credentials');
          expect((await me(withAccess(next))).status).toBe(200);
          await refresh(url, next, names);
        });

        it('a password change with a refreshed (not fresh) access token: 401 fresh_token_required', async () => {
          const s = await refresh(url, await fresh(transport), names);
          const reply = await call(
            url,
            'POST',
            '/auth/password',
            withAccess(s, { json: { current_password: PASSWORD, new_password: `x ${PASSWORD}` } }),
          );
          expectRefusal(reply, 401, 'fresh_token_required', tokensOf(s));
          expect((await me(withAccess(s))).status).toBe(200);
        });

        it("logout-all ends every device; another user's session id answers 404 and lives on", async () => {
          const s = await fresh(transport, true);
          const device = await login(url, s.username, 'bearer', names);
          const stranger = await fresh('bearer');
          const strangerSid = String(claimsOf(stranger.access).sid);
          expectRefusal(await call(url, 'DELETE', `/auth/sessions/${strangerSid}`, withAccess(s)), 404, 'not_found');
          expect((await me(withAccess(stranger))).status).toBe(200);
          expect((await call(url, 'POST', '/auth/logout-all', withAccess(s))).status).toBe(204);
          for (const ended of [s, device]) {
            expectRefusal(await me(withAccess(ended)), 401, 'token_revoked');
            expectRefusal(await call(url, 'POST', '/auth/refresh', withRefresh(ended, { json: {} })), 401, 'token_revoked');
          }
          expect((await me(withAccess(stranger))).status).toBe(200);
        });
      });
    }

    it('a user disabled with `tessera users disable`: every session refused, login refused', async () => {
      const username = uniqueName();
      await register(url, username);
      const sessions = await Promise.all(TRANSPORTS.map((t) => login(url, username, t, names)));
      const cli = await runCli(['users', 'disable', username], setup.env);
      expect(cli.code, cli.stderr).toBe(0);
      for (const s of sessions) {
        // The user check runs before the session's: either refusal is right, never a new pair.
        const refreshed = await call(url, 'POST', '/auth/refresh', withRefresh(s, { json: {} }));
        expect(['token_revoked', 'user_invalid']).toContain(refreshed.code);
        expectRefusal(refreshed, 401, refreshed.code ?? '', tokensOf(s));
        const reply = await me(withAccess(s));
        expect(['token_revoked', 'user_invalid']).toContain(reply.code);
        expectRefusal(reply, 401, reply.code ?? '', tokensOf(s));
      }
      expectRefusal(await call(url, 'POST', '/auth/login', { json: { username, password: PASSWORD } }), 401, 'invalid_credentials');
    });

    it('a user disabled in the database alone: refresh is refused too, so no new access token reaches JWKS-only verifiers', async () => {
      // An admin tool or SQL that sets disabled_at without revoking sessions (security.md §3.3 step 2:
      // a refresh for a disabled user is refused). Guarded routes already refuse the user.
      const username = uniqueName();
      const { id } = await register(url, username);
      const s = await login(url, username, 'bearer', names);
      expect(await setup.server.runtime.users.disable(id, Date.now())).toBe(true);
      expectRefusal(await me(withAccess(s)), 401, 'user_invalid', tokensOf(s));
      const reply = await call(url, 'POST', '/auth/refresh', withRefresh(s, { json: {} }));
      expect(['user_invalid', 'token_revoked'], `refresh answered ${reply.status}: a disabled user got new tokens`).toContain(reply.code);
      expectRefusal(reply, 401, reply.code ?? '', tokensOf(s));
    });

    describe('malformed bodies and wrong media types', () => {
      const malformed: [string, string][] = [
        ['truncated JSON', '{"username":'],
        ['an empty body', ''],
        ['a trailing comma', '{"username":"a",}'],
        ['single quotes', "{'username':'a'}"],
        ['NaN', 'NaN'],
        ['a __proto__ member (prototype pollution)', '{"__proto__":{"admin":true},"username":"abc","password":"abcdefghijkl"}'],
        ['a constructor.prototype member', '{"constructor":{"prototype":{"admin":true}},"username":"abc","password":"abcdefghijkl"}'],
      ];
      for (const path of POST_ROUTES) {
        it(`${path}: malformed JSON is 400 invalid_request, and no session is harmed`, async () => {
          const s = await fresh('bearer');
          for (const [what, body] of malformed) {
            const reply = await call(url, 'POST', path, { body, bearer: s.access });
            expect(reply.code, `${what}: ${reply.text}`).toBe('invalid_request');
            expectRefusal(reply, 400, 'invalid_request', tokensOf(s));
          }
          expect((await me(withAccess(s))).status).toBe(200);
        });

        it(`${path}: a body in another media type is 415 unsupported_media_type`, async () => {
          const s = await fresh('bearer');
          const types: [string, string][] = [
            ['text/plain', '{"username":"abc"}'],
            ['application/xml', '<login/>'],
            ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\nabc\r\n--x--'],
            ['application/javascript', '({})'],
            ['application/jsonx', '{}'],
          ];
          for (const [type, body] of types)
            expectRefusal(await call(url, 'POST', path, { body, contentType: type, bearer: s.access }), 415, 'unsupported_media_type');
          const untyped = await rawCall(url, `POST ${path} HTTP/1.1`, [['Authorization', `Bearer ${s.access}`]], '{"username":"abc"}');
          expectRefusal(untyped, 415, 'unsupported_media_type', tokensOf(s));
          expect((await me(withAccess(s))).status).toBe(200);
        });

        it(`${path}: a 1 MB body is 413 payload_too_large (Content-Length, chunked, form)`, async () => {
          const big = JSON.stringify({ username: 'x'.repeat(1 << 20), password: 'y' });
          const byLength = await rawCall(url, `POST ${path} HTTP/1.1`, [['Content-Type', 'application/json']], big);
          expectRefusal(byLength, 413, 'payload_too_large');
          const chunked = `${Buffer.byteLength(big).toString(16)}\r\n${big}\r\n0\r\n\r\n`;
          const byChunks = await rawCall(
            url,
            `POST ${path} HTTP/1.1`,
            [
              ['Content-Type', 'application/json'],
              ['Transfer-Encoding', 'chunked'],
            ],
            chunked,
            {
              contentLength: false,
            },
          );
          expectRefusal(byChunks, 413, 'payload_too_large');
          const form = await rawCall(
            url,
            `POST ${path} HTTP/1.1`,
            [['Content-Type', 'application/x-www-form-urlencoded']],
            `username=${'x'.repeat(1 << 20)}`,
          );
          expectRefusal(form, 413, 'payload_too_large');
        });
      }

      it('well-formed JSON of the wrong shape: 422 validation_failed on login, register and password; 400 on a non-string refresh_token', async () => {
        const s = await fresh('bearer');
        const shapes = [
          '[]',
          'null',
          '"username"',
          '42',
          `${'['.repeat(5000)}${']'.repeat(5000)}`,
          '{"username":1,"password":"abcdefghijkl"}',
          '{"username":"abc","password":["abcdefghijkl"]}',
          '{"username":"abc","password":{"$ne":""}}',
        ];
        for (const body of shapes) {
          for (const path of ['/auth/login', '/auth/register']) expectRefusal(await call(url, 'POST', path, { body }), 422, 'validation_failed');
          expectRefusal(await call(url, 'POST', '/auth/password', { body, bearer: s.access }), 422, 'validation_failed');
        }
        for (const value of [1, true, ['x'], { $ne: null }]) {
          expectRefusal(await call(url, 'POST', '/auth/refresh', { json: { refresh_token: value } }), 400, 'invalid_request');
        }
        expectRefusal(
          await call(url, 'POST', '/auth/login', { json: { username: s.username, password: PASSWORD, transport: 'carrier-pigeon' } }),
          422,
          'validation_failed',
        );
        expectRefusal(
          await call(url, 'POST', '/auth/login', { json: { username: s.username, password: `${PASSWORD}${'x'.repeat(1100)}` } }),
          401,
          'invalid_credentials',
        );
        expectRefusal(
          await call(url, 'POST', '/auth/register', { json: { username: uniqueName(), password: 'p'.repeat(1025) } }),
          422,
          'validation_failed',
        );
        expectRefusal(
          await call(url, 'POST', '/auth/register', { json: { username: `ad\u200bmin${uniqueName()}`, password: PASSWORD } }),
          422,
          'validation_failed',
        );
        expectRefusal(await call(url, 'DELETE', `/auth/sessions/${'a'.repeat(100)}`, { bearer: s.access }), 422, 'validation_failed');
      });

      it('a form login that would set cookies: 400 invalid_request (login CSRF); JSON only', async () => {
        const s = await fresh('bearer');
        for (const transport of ['cookie', 'hybrid']) {
          const reply = await call(url, 'POST', '/auth/login', {
            body: new URLSearchParams({ username: s.username, password: PASSWORD, transport }).toString(),
            contentType: 'application/x-www-form-urlencoded',
          });
          expectRefusal(reply, 400, 'invalid_request');
          expect(reply.setCookie).toEqual([]);
        }
      });
    });

    describe('duplicate and oversize headers over a real socket', () => {
      const line = (jar: Record<string, string>): string =>
        Object.entries(jar)
          .map(([k, v]) => `${k}=${v}`)
          .join('; ');

      it('two Authorization lines (same token, or one forged): 400 invalid_request', async () => {
        const s = await fresh('bearer');
        for (const second of [s.access, `${s.access.slice(0, -4)}AAAA`, 'Basic YTpi']) {
          const reply = await rawCall(url, 'GET /auth/me HTTP/1.1', [
            ['Authorization', `Bearer ${s.access}`],
            ['Authorization', second.startsWith('Basic') ? second : `Bearer ${second}`],
          ]);
          expectRefusal(reply, 400, 'invalid_request', tokensOf(s));
        }
        const refreshTwice = await rawCall(url, 'POST /auth/refresh HTTP/1.1', [
          ['Authorization', `Bearer ${s.refresh}`],
          ['Authorization', `Bearer ${s.refresh}`],
        ]);
        expectRefusal(refreshTwice, 400, 'invalid_request', tokensOf(s));
        expect((await me({ bearer: s.access })).status).toBe(200);
      });

      it('two different access tokens (two Cookie lines, one cookie named twice, Bearer beside a cookie): 400 token_conflict', async () => {
        const a = await fresh('cookie');
        const b = await fresh('cookie');
        const cases: [string, string][][] = [
          [
            ['Cookie', line(a.jar)],
            ['Cookie', `${names.access}=${b.access}`],
          ],
          [['Cookie', `${names.access}=${a.access}; ${names.access}=${b.access}`]],
          [
            ['Authorization', `Bearer ${a.access}`],
            ['Cookie', `${names.access}=${b.access}`],
          ],
        ];
        for (const headers of cases) expectRefusal(await rawCall(url, 'GET /auth/me HTTP/1.1', headers), 400, 'token_conflict', tokensOf(a, b));
        const refreshConflict = await rawCall(url, 'POST /auth/refresh HTTP/1.1', [
          ['Cookie', `${names.refresh}=${a.refresh}; ${names.refresh}=${b.refresh}`],
          ['X-CSRF-Token', a.csrf ?? ''],
        ]);
        expectRefusal(refreshConflict, 400, 'token_conflict', tokensOf(a, b));
        for (const s of [a, b]) expect((await me(withAccess(s))).status).toBe(200);
      });

      it('two Content-Length values, or Content-Length beside chunked (request smuggling): 400 invalid_request', async () => {
        const body = '{"username":"abc","password":"abcdefghijkl"}';
        const twoLengths = await rawCall(
          url,
          'POST /auth/login HTTP/1.1',
          [
            ['Content-Type', 'application/json'],
            ['Content-Length', String(body.length)],
            ['Content-Length', String(body.length - 5)],
          ],
          body,
          { contentLength: false },
        );
        const smuggled = await rawCall(
          url,
          'POST /auth/login HTTP/1.1',
          [
            ['Content-Type', 'application/json'],
            ['Content-Length', String(body.length)],
            ['Transfer-Encoding', 'chunked'],
          ],
          `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
          { contentLength: false },
        );
        for (const reply of [twoLengths, smuggled]) expectRefusal(reply, 400, 'invalid_request');
      });

      it('two Host lines on a cookie request from a foreign Origin: refused, never a state change', async () => {
        const s = await fresh('cookie');
        const reply = await rawCall(url, 'POST /auth/logout-all HTTP/1.1', [
          ['Host', 'evil.example'],
          ['Origin', 'http://evil.example'],
          ['Cookie', line(s.jar)],
          ['X-CSRF-Token', s.csrf ?? ''],
        ]);
        expect([400, 403]).toContain(reply.status);
        expectRefusal(reply, reply.status, reply.status === 400 ? 'invalid_request' : 'origin_refused', tokensOf(s));
        expect((await me(withAccess(s))).status).toBe(200);
      });

      it('a token in the query string is never read: 401 token_missing', async () => {
        const s = await fresh('bearer');
        expectRefusal(await me({ headers: {} }), 401, 'token_missing');
        const reply = await call(url, 'GET', `/auth/me?access_token=${s.access}`);
        expectRefusal(reply, 401, 'token_missing', tokensOf(s));
        expectRefusal(await call(url, 'POST', `/auth/refresh?refresh_token=${s.refresh}`, { json: {} }), 401, 'token_missing', tokensOf(s));
      });

      it('a 20 KiB Authorization or Cookie header: 431 before any parsing', async () => {
        for (const [name, value] of [
          ['Authorization', `Bearer ${'a'.repeat(20_000)}`],
          ['Cookie', `${names.access}=${'a'.repeat(20_000)}`],
        ] as const) {
          const reply = await rawCall(url, 'GET /auth/me HTTP/1.1', [[name, value]]);
          expect(reply.status).toBe(431);
        }
      });
    });
  });
}
