// One behaviour suite for every adapter (docs/architecture.md "Conventions"): real listening servers, real fetch (and a
// raw socket where fetch would merge headers), both through the test kit, the memory session store, and the Express
// adapter started beside each app on the same Tessera as the reference for bytes.
// Long on purpose: the whole behaviour suite, run as one against every adapter.
import { createServer } from 'node:http';
import { cookieHeader, jarOf, listen, rawRequest, send as sendRequest, type Answer as Reply, type RunningApp } from '@tessera/test-kit';
import express from 'express';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { tessera as expressTessera } from '../../src/adapters/express.js';
import { AdapterKit, type AdapterOptions } from '../../src/adapters/adapter-kit.js';
import { fixedClock } from '../../src/core/clock.js';
import type { TesseraOptions } from '../../src/core/config/config.js';
import { ConfigError } from '../../src/core/errors.js';
import type { CredentialCheck } from '../../src/core/flows.js';
import { generateKey, generateRefreshKey, type Key } from '../../src/core/keys/key.js';
import type { TokenResponseBody } from '../../src/core/transport/respond.js';
import { createTessera, type Tessera } from '../../src/core/tessera.js';
import type { Transport } from '../../src/protocol/protocol.js';
import { memoryStore } from '../../src/stores/memory.js';

/** The user `lookupUser` finds. */
export interface TestUser {
  id: string;
  name: string;
}

/** Known users; `ghost` can log in but `lookupUser` does not find them (a deleted account). */
export const USERS: ReadonlyMap<string, TestUser> = new Map([
  ['alice', { id: 'alice', name: 'Alice' }],
  ['root', { id: 'root', name: 'Root' }],
]);

/** Password `pw` for alice, root and ghost; root's tokens carry `role: admin`. */
export const check: CredentialCheck = (body) => {
  const { username, password } = (body ?? {}) as { username?: unknown; password?: unknown };
  if (password !== 'pw' || typeof username !== 'string' || !['alice', 'root', 'ghost'].includes(username)) return null;
  return { sub: username, claims: { role: username === 'root' ? 'admin' : 'user' } };
};

/** The transports `/auth/login` allows, in this order. */
export const TRANSPORTS: readonly Transport[] = ['bearer', 'hybrid', 'cookie'];

/** What the guarded routes answer: the identity the guard set (`null` on an optional route without a token). */
export function whoami(identity: { readonly sub: string; readonly user: unknown } | null): { sub: string | null; user: unknown } {
  return { sub: identity?.sub ?? null, user: identity?.user ?? null };
}

/**
 * Starts an app with the adapter under test on a free port, serving:
 * POST /auth/login (login(check, { transports: TRANSPORTS })), POST /auth/refresh, POST /auth/logout,
 * GET and POST /me (required), GET /maybe (optional), GET /fresh (fresh), GET /admin
 * (required({ claims: { role: 'admin' } })), POST /auth/session (refreshRequired); each guarded
 * route answers JSON `whoami(identity)`.
 */
export type Serve = (auth: Tessera, options: AdapterOptions<TestUser>) => Promise<RunningApp>;

/** The Express app of the same routes, the reference every adapter must match byte for byte. */
export const serveExpress: Serve = async (auth, options) => {
  const t = expressTessera(auth, options);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(express.json());
  app.post('/auth/login', t.login(check, { transports: TRANSPORTS }));
  app.post('/auth/refresh', t.refresh());
  app.post('/auth/logout', t.logout());
  app.get('/me', t.required(), (req, res) => void res.json(whoami(t.identity(req))));
  app.post('/me', t.required(), (req, res) => void res.json(whoami(t.identity(req))));
  app.get('/maybe', t.optional(), (req, res) => void res.json(whoami(req.auth ?? null)));
  app.get('/fresh', t.fresh(), (req, res) => void res.json(whoami(t.identity(req))));
  app.get('/admin', t.required({ claims: { role: 'admin' } }), (req, res) => void res.json(whoami(t.identity(req))));
  app.post('/auth/session', t.refreshRequired(), (req, res) => void res.json(whoami(t.identity(req))));
  return listen(createServer(app));
};

/** An answer as the tests compare it. */
export interface Answer {
  readonly status: number;
  /** Every header but `set-cookie` and the connection-level ones, sorted by name. */
  readonly headers: Readonly<Record<string, string>>;
  readonly setCookie: readonly string[];
  readonly text: string;
}

const CONNECTION_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** The headers of a reply, sorted, without the connection-level ones. */
const comparable = (reply: Reply): (readonly [string, string])[] =>
  reply.headers.filter(([name]) => !CONNECTION_HEADERS.has(name)).sort(([a], [b]) => (a < b ? -1 : 1));

/** One request with fetch (the kit's `send`). `json` sends a JSON body. */
export async function send(
  base: string,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; json?: unknown; body?: string } = {},
): Promise<Answer> {
  const reply = await sendRequest(base, path, { method, ...init });
  const headers = Object.fromEntries(comparable(reply).filter(([name]) => name !== 'set-cookie'));
  return { status: reply.status, headers, setCookie: reply.setCookie, text: reply.text };
}

/** The parsed JSON body of an answer. */
export function json<T = Record<string, unknown>>(answer: Answer): T {
  return JSON.parse(answer.text) as T;
}

/** `name=value` pairs of the Set-Cookie values, as a browser would send them back (deleted cookies left out). */
function sentBack(setCookie: readonly string[]): string {
  return cookieHeader(jarOf(setCookie));
}

/** The value of the cookie `name` among Set-Cookie values; fails the test when it is not there. */
function cookieValue(setCookie: readonly string[], name: string): string {
  const line = setCookie.find((c) => c.startsWith(`${name}=`));
  expect(line, `no ${name} cookie set`).toBeDefined();
  return line!.slice(name.length + 1, line!.indexOf(';'));
}

/** Replaces what differs between two logins (tokens, CSRF values) so their answers compare byte for byte. */
function masked(answer: Answer): Answer {
  const secrets = /eyJ[\w-]*\.[\w-]+\.[\w-]+/g;
  let csrf: string | undefined;
  try {
    csrf = json<TokenResponseBody>(answer).csrf_token;
  } catch {
    csrf = undefined;
  }
  const mask = (s: string): string => (csrf === undefined ? s : s.split(csrf).join('CSRF')).replace(secrets, 'JWT');
  return { ...answer, text: mask(answer.text), setCookie: answer.setCookie.map(mask) };
}

const T0 = Date.UTC(2030, 0, 1);

/** Runs the adapter behaviour suite against `serve`. */
export function adapterSuite(name: string, serve: Serve): void {
  let keys: Key;
  let refreshKey: Key;
  beforeAll(async () => {
    keys = await generateKey('EdDSA');
    refreshKey = await generateRefreshKey();
  });

  const lookupUser = (claims: { sub: string }): TestUser | undefined => USERS.get(claims.sub);

  /** A fresh Tessera (own clock, own memory store) with the adapter's app and the Express reference on it. */
  async function setup(options: AdapterOptions<TestUser> = { lookupUser }, tesseraOptions: Partial<TesseraOptions> = {}) {
    const clock = fixedClock(T0);
    const auth = createTessera({ keys, refreshKey, clock, sessions: { store: memoryStore() }, ...tesseraOptions });
    const [app, reference] = await Promise.all([serve(auth, options), serveExpress(auth, options)]);
    onTestFinished(async () => {
      await Promise.all([app.close(), reference.close()]);
      await auth.close();
    });
    const login = async (transport: Transport, username = 'alice', base = app.url) => {
      const answer = await send(base, 'POST', '/auth/login', { json: { username, password: 'pw', transport } });
      expect(answer.status).toBe(200);
      return { answer, body: json<TokenResponseBody>(answer), cookie: sentBack(answer.setCookie) };
    };
    /** Sends the same request to the app and to Express and expects the same status, headers and body. */
    const sameAsExpress = async (request: (base: string) => Promise<Answer>, mask = false): Promise<Answer> => {
      const ours = await request(app.url);
      const theirs = await request(reference.url);
      expect(mask ? masked(ours) : ours).toEqual(mask ? masked(theirs) : theirs);
      return ours;
    };
    return { auth, clock, url: app.url, expressUrl: reference.url, login, sameAsExpress, names: auth.config.cookies.names };
  }

  const bearer = (token: string | undefined) => ({ headers: { authorization: `Bearer ${token ?? 'none'}` } });

  describe(`${name} adapter: login`, () => {
    it('answers a bearer login with both tokens in the body, no-store, and no cookie', async () => {
      const s = await setup();
      const answer = await s.sameAsExpress(async (base) => (await s.login('bearer', 'alice', base)).answer, true);
      const body = json<TokenResponseBody>(answer);
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_expires_in', 'refresh_token', 'token_type']);
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.setCookie).toEqual([]);
      expect(s.auth.verifyAccessToken(body.access_token!).sub).toBe('alice');
    });

    it('answers a hybrid login with the access token in the body and the refresh token in a cookie', async () => {
      const s = await setup();
      const { answer, body } = await s.login('hybrid');
      await s.sameAsExpress(async (base) => (await s.login('hybrid', 'alice', base)).answer, true);
      expect(body.access_token).toBeTypeOf('string');
      expect(body.refresh_token).toBeUndefined();
      expect(body.csrf_token).toBeTypeOf('string');
      expect(answer.setCookie.map((c) => c.slice(0, c.indexOf('=')))).toEqual([s.names.refresh, s.names.csrf]);
      expect(answer.setCookie[0]).toMatch(/; Path=\/auth; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax$/);
    });

    it('answers a cookie login with no token in the body and all three cookies', async () => {
      const s = await setup();
      const { answer, body } = await s.login('cookie');
      await s.sameAsExpress(async (base) => (await s.login('cookie', 'alice', base)).answer, true);
      expect(Object.keys(body).sort()).toEqual(['csrf_token', 'expires_in', 'refresh_expires_in', 'token_type']);
      expect(answer.setCookie.map((c) => c.slice(0, c.indexOf('=')))).toEqual([s.names.access, s.names.refresh, s.names.csrf]);
    });

    it('records the client address and user agent on the session, as Express does', async () => {
      const s = await setup();
      const headers = { 'user-agent': 'suite/1.0' };
      await send(s.url, 'POST', '/auth/login', { json: { username: 'alice', password: 'pw' }, headers });
      await send(s.expressUrl, 'POST', '/auth/login', { json: { username: 'root', password: 'pw' }, headers });
      const [ours] = await s.auth.listSessions('alice');
      const [theirs] = await s.auth.listSessions('root');
      expect(ours).toMatchObject({ userAgent: 'suite/1.0', ip: expect.stringMatching(/127\.0\.0\.1$/) });
      expect([ours?.ip, ours?.userAgent]).toEqual([theirs?.ip, theirs?.userAgent]);
    });

    it('refuses wrong credentials with 401 invalid_credentials, as Express does', async () => {
      const s = await setup();
      const answer = await s.sameAsExpress((base) => send(base, 'POST', '/auth/login', { json: { username: 'alice', password: 'nope' } }));
      expect(answer.status).toBe(401);
      expect(json(answer).error).toBe('invalid_credentials');
    });

    it('refuses a transport the login does not allow with 400 invalid_request', async () => {
      const s = await setup();
      const answer = await s.sameAsExpress((base) =>
        send(base, 'POST', '/auth/login', { json: { username: 'alice', password: 'pw', transport: 'smoke' } }),
      );
      expect(answer.status).toBe(400);
      expect(json(answer).error).toBe('invalid_request');
    });
  });

  describe(`${name} adapter: guards`, () => {
    it('lets a valid Bearer token through and puts the identity (with the looked-up user) on the request', async () => {
      const s = await setup();
      const { body } = await s.login('bearer');
      const answer = await send(s.url, 'GET', '/me', bearer(body.access_token));
      expect(answer.status).toBe(200);
      expect(json(answer)).toEqual({ sub: 'alice', user: { id: 'alice', name: 'Alice' } });
    });

    it('refuses a request without a token: 401 token_missing with a bare WWW-Authenticate: Bearer', async () => {
      const s = await setup();
      const answer = await s.sameAsExpress((base) => send(base, 'GET', '/me'));
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer');
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(json(answer).error).toBe('token_missing');
    });

    it('refuses a forged token with 401 token_invalid and error="invalid_token"', async () => {
      const s = await setup();
      const { body } = await s.login('bearer');
      const forged = `${body.access_token!.slice(0, -4)}AAAA`;
      const answer = await s.sameAsExpress((base) => send(base, 'GET', '/me', bearer(forged)));
      expect(answer.status).toBe(401);
      expect(json(answer).error).toBe('token_invalid');
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token", error_description="/);
    });

    it('lets an optional route through without a token, and still refuses an expired one', async () => {
      const s = await setup();
      const { body } = await s.login('bearer');
      const none = await send(s.url, 'GET', '/maybe');
      expect(none.status).toBe(200);
      expect(json(none)).toEqual({ sub: null, user: null });
      expect(json(await send(s.url, 'GET', '/maybe', bearer(body.access_token)))).toEqual({ sub: 'alice', user: USERS.get('alice') });
      s.clock.advance(16 * 60_000);
      const expired = await s.sameAsExpress((base) => send(base, 'GET', '/maybe', bearer(body.access_token)));
      expect(expired.status).toBe(401);
      expect(json(expired).error).toBe('token_expired');
      expect(expired.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    });

    it('lets a fresh token through a fresh route and refuses a refreshed one with fresh_token_required', async () => {
      const s = await setup();
      const { body } = await s.login('bearer');
      expect((await send(s.url, 'GET', '/fresh', bearer(body.access_token))).status).toBe(200);
      const refreshed = json<TokenResponseBody>(await send(s.url, 'POST', '/auth/refresh', { json: { refresh_token: body.refresh_token } }));
      const answer = await s.sameAsExpress((base) => send(base, 'GET', '/fresh', bearer(refreshed.access_token)));
      expect(answer.status).toBe(401);
      expect(json(answer).error).toBe('fresh_token_required');
      expect((await send(s.url, 'GET', '/me', bearer(refreshed.access_token))).status).toBe(200);
    });

    it('refuses a token without the required claim with 403 insufficient_scope, and lets the admin in', async () => {
      const s = await setup();
      const alice = await s.login('bearer');
      const answer = await s.sameAsExpress((base) => send(base, 'GET', '/admin', bearer(alice.body.access_token)));
      expect(answer.status).toBe(403);
      expect(json(answer).error).toBe('insufficient_scope');
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer error="insufficient_scope"/);
      const root = await s.login('bearer', 'root');
      expect(json(await send(s.url, 'GET', '/admin', bearer(root.body.access_token)))).toMatchObject({ sub: 'root' });
    });

    it('refuses a cookie POST without the CSRF header (403 csrf_failed) and accepts it with the header', async () => {
      const s = await setup();
      const { body, cookie } = await s.login('cookie');
      expect((await send(s.url, 'GET', '/me', { headers: { cookie } })).status).toBe(200);
      const refused = await s.sameAsExpress((base) => send(base, 'POST', '/me', { headers: { cookie } }));
      expect(refused.status).toBe(403);
      expect(json(refused).error).toBe('csrf_failed');
      const wrong = await s.sameAsExpress((base) => send(base, 'POST', '/me', { headers: { cookie, 'x-csrf-token': 'not-it' } }));
      expect(json(wrong).error).toBe('csrf_failed');
      const accepted = await send(s.url, 'POST', '/me', { headers: { cookie, 'x-csrf-token': body.csrf_token! } });
      expect(accepted.status).toBe(200);
      expect(json(accepted)).toMatchObject({ sub: 'alice' });
    });

    it('refuses a cross-site cookie POST with 403 origin_refused', async () => {
      const s = await setup();
      const { body, cookie } = await s.login('cookie');
      const headers = { cookie, 'x-csrf-token': body.csrf_token!, origin: 'https://evil.example' };
      const answer = await s.sameAsExpress((base) => send(base, 'POST', '/me', { headers }));
      expect(answer.status).toBe(403);
      expect(json(answer).error).toBe('origin_refused');
    });

    it('refuses two Authorization header lines with 400 invalid_request, as Express does', async () => {
      const s = await setup();
      const { body } = await s.login('bearer');
      for (const second of [body.access_token!, 'someone-else']) {
        const headers = [
          ['Authorization', `Bearer ${body.access_token!}`],
          ['Authorization', `Bearer ${second}`],
        ] as const;
        const [ours, theirs] = [await rawRequest(s.url, 'GET /me HTTP/1.1', headers), await rawRequest(s.expressUrl, 'GET /me HTTP/1.1', headers)];
        expect(ours.status).toBe(400);
        expect(JSON.parse(ours.text)).toMatchObject({ error: 'invalid_request' });
        expect(ours.text).toBe(theirs.text);
        expect(comparable(ours)).toEqual(comparable(theirs));
      }
    });

    it('answers in the flask format when asked, byte for byte as Express', async () => {
      const s = await setup({ lookupUser, errorFormat: 'flask' });
      const answer = await s.sameAsExpress((base) => send(base, 'GET', '/me'));
      expect(answer.status).toBe(401);
      expect(json(answer)).toEqual({ msg: expect.any(String) });
      expect(answer.headers['www-authenticate']).toBe('Bearer');
    });

    it('refuses a valid token whose user lookupUser does not find with 401 user_invalid', async () => {
      const s = await setup();
      const { body } = await s.login('bearer', 'ghost');
      const answer = await s.sameAsExpress((base) => send(base, 'GET', '/me', bearer(body.access_token)));
      expect(answer.status).toBe(401);
      expect(json(answer).error).toBe('user_invalid');
    });

    it('refuses a refresh whose user lookupUser does not find without rotating, and says token_revoked once the session ended', async () => {
      const s = await setup();
      const { body } = await s.login('bearer', 'ghost');
      const refresh = () => s.sameAsExpress((base) => send(base, 'POST', '/auth/refresh', { json: { refresh_token: body.refresh_token } }), true);
      const refused = await refresh();
      expect([refused.status, json(refused).error]).toEqual([401, 'user_invalid']);
      const [session] = await s.auth.listSessions('ghost');
      expect(session?.currentJti).toBe(s.auth.verifyRefreshToken(body.refresh_token!).jti);
      await s.auth.revokeUserSessions('ghost');
      const ended = await refresh();
      expect([ended.status, json(ended).error]).toEqual([401, 'token_revoked']);
    });

    it('passes an error thrown by lookupUser to the framework (500), never through as a success', async () => {
      const s = await setup({
        lookupUser: () => {
          throw new Error('database down');
        },
      });
      const { body } = await s.login('bearer');
      expect((await send(s.url, 'GET', '/me', bearer(body.access_token))).status).toBe(500);
    });

    it('guards a route with a refresh token (refreshRequired) and refuses an access token there', async () => {
      const s = await setup();
      const { body } = await s.login('bearer');
      const ok = await send(s.url, 'POST', '/auth/session', { json: { refresh_token: body.refresh_token } });
      expect(ok.status).toBe(200);
      expect(json(ok)).toMatchObject({ sub: 'alice' });
      const refused = await s.sameAsExpress((base) => send(base, 'POST', '/auth/session', bearer(body.access_token)));
      expect(json(refused).error).toBe('token_type_invalid');
    });

    it('re-issues a near-expiry access cookie (implicitRefresh) with the same cookie bytes as Express', async () => {
      const s = await setup({ lookupUser, implicitRefresh: { within: '5m' } });
      const { cookie } = await s.login('cookie');
      expect((await send(s.url, 'GET', '/me', { headers: { cookie } })).setCookie).toEqual([]);
      s.clock.advance(11 * 60_000);
      const ours = await send(s.url, 'GET', '/me', { headers: { cookie } });
      const theirs = await send(s.expressUrl, 'GET', '/me', { headers: { cookie } });
      expect(ours.status).toBe(200);
      expect(ours.setCookie).toHaveLength(1);
      expect(ours.setCookie[0]!.startsWith(`${s.names.access}=`)).toBe(true);
      expect(masked(ours).setCookie).toEqual(masked(theirs).setCookie);
      const next = sentBack(ours.setCookie);
      expect(next).not.toBe(cookie.split('; ')[0]);
      expect(json(await send(s.url, 'GET', '/me', { headers: { cookie: next } }))).toMatchObject({ sub: 'alice' });
    });

    it('re-issues the access cookie with fresh: false, so a fresh() route refuses it even when the login token was fresh', async () => {
      const s = await setup({ lookupUser, implicitRefresh: { within: '5m' } });
      const { answer, cookie } = await s.login('cookie');
      const original = s.auth.verifyAccessToken(cookieValue(answer.setCookie, s.names.access));
      expect(original.fresh).toBe(true);
      s.clock.advance(11 * 60_000);
      const renewed = await send(s.url, 'GET', '/me', { headers: { cookie } });
      expect(renewed.status).toBe(200);
      expect(s.auth.verifyAccessToken(cookieValue(renewed.setCookie, s.names.access)).fresh).toBe(false);
      const refused = await send(s.url, 'GET', '/fresh', { headers: { cookie: sentBack(renewed.setCookie) } });
      expect(refused.status).toBe(401);
      expect(json(refused).error).toBe('fresh_token_required');
    });

    it("never re-issues an access cookie past the session's absolute lifetime", async () => {
      // The session ends 20 min after login; a 15 min token re-issued at 11 min would otherwise run to 26 min.
      const s = await setup({ lookupUser, implicitRefresh: { within: '5m' } }, { accessTtl: '15m', refreshTtl: '20m', sessionMaxAge: '20m' });
      const { cookie } = await s.login('cookie');
      const [session] = await s.auth.listSessions('alice');
      const end = Math.floor(session!.absoluteExpiresAt / 1000);
      s.clock.advance(11 * 60_000);
      const renewed = await send(s.url, 'GET', '/me', { headers: { cookie } });
      expect(renewed.status).toBe(200);
      const claims = s.auth.verifyAccessToken(cookieValue(renewed.setCookie, s.names.access));
      expect(claims.exp).toBeLessThanOrEqual(end);
      expect(claims.exp).toBeLessThan(claims.iat + 15 * 60);
      expect(renewed.setCookie[0]).toContain(`; Max-Age=${end - claims.iat};`);
    });

    it('refuses implicitRefresh without a session store at construction, with a ConfigError', async () => {
      const stateless = createTessera({ keys, refreshKey, clock: fixedClock(T0) });
      onTestFinished(() => stateless.close());
      const started = serve(stateless, { implicitRefresh: { within: '5m' } });
      await expect(started).rejects.toBeInstanceOf(ConfigError);
      await expect(started).rejects.toMatchObject({
        code: 'config_invalid',
        message: expect.stringMatching(/^implicitRefresh needs a session store/),
      });
      await expect(serveExpress(stateless, { implicitRefresh: { within: '5m' } })).rejects.toBeInstanceOf(ConfigError);
      expect(() => new AdapterKit(stateless, { implicitRefresh: { within: '5m' } })).toThrow(ConfigError);
      expect(() => new AdapterKit(stateless, {})).not.toThrow();
    });

    it('refuses a bare implicitRefresh.within that looks like milliseconds, and an unknown errors mode', async () => {
      const auth = createTessera({ keys, refreshKey, clock: fixedClock(T0), sessions: { store: memoryStore() } });
      onTestFinished(() => auth.close());
      expect(() => new AdapterKit(auth, { implicitRefresh: { within: 300000 } })).toThrow(
        "implicitRefresh.within 300000 is read as seconds (3.5 days), which looks like milliseconds: for 5 minutes write '5m' or 300.",
      );
      expect(() => new AdapterKit(auth, { implicitRefresh: { within: 300 } })).not.toThrow();
      expect(() => new AdapterKit(auth, { errors: 'log' as 'throw' })).toThrow(`errors must be 'respond' or 'throw' (got "log").`);
    });
  });

  describe(`${name} adapter: refresh and logout`, () => {
    it('rotates the refresh token, and a replay past the grace window revokes the session', async () => {
      const s = await setup();
      const { body } = await s.login('bearer');
      const rotated = await send(s.url, 'POST', '/auth/refresh', { json: { refresh_token: body.refresh_token } });
      expect(rotated.status).toBe(200);
      expect(rotated.headers['cache-control']).toBe('no-store');
      const next = json<TokenResponseBody>(rotated);
      expect(next.refresh_token).not.toBe(body.refresh_token);
      expect(s.auth.verifyRefreshToken(next.refresh_token!).sid).toBe(s.auth.verifyRefreshToken(body.refresh_token!).sid);
      s.clock.advance(11_000);
      const replay = await send(s.url, 'POST', '/auth/refresh', { json: { refresh_token: body.refresh_token } });
      expect(replay.status).toBe(401);
      expect(json(replay).error).toBe('refresh_token_reused');
      expect(json(await send(s.url, 'GET', '/me', bearer(next.access_token))).error).toBe('token_revoked');
    });

    it('answers a refresh like Express: token response, and a dead refresh cookie cleared with the refusal', async () => {
      const s = await setup();
      await s.sameAsExpress(async (base) => {
        const { body } = await s.login('bearer', 'alice', base);
        return send(base, 'POST', '/auth/refresh', { json: { refresh_token: body.refresh_token } });
      }, true);
      const dead = await s.sameAsExpress((base) => send(base, 'POST', '/auth/refresh', { headers: { cookie: `${s.names.refresh}=garbage` } }));
      expect(dead.status).toBe(401);
      expect(dead.setCookie).toHaveLength(3);
      expect(dead.setCookie.every((c) => c.includes('Max-Age=0'))).toBe(true);
    });

    it('refreshes a hybrid session from its cookie with the CSRF header and answers with a new refresh cookie', async () => {
      const s = await setup();
      const { body, cookie } = await s.login('hybrid');
      const refused = await send(s.url, 'POST', '/auth/refresh', { headers: { cookie } });
      expect(json(refused).error).toBe('csrf_failed');
      const answer = await send(s.url, 'POST', '/auth/refresh', { headers: { cookie, 'x-csrf-token': body.csrf_token! } });
      expect(answer.status).toBe(200);
      expect(json<TokenResponseBody>(answer).access_token).toBeTypeOf('string');
      expect(json<TokenResponseBody>(answer).refresh_token).toBeUndefined();
      expect(answer.setCookie[0]!.startsWith(`${s.names.refresh}=`)).toBe(true);
    });

    it('logs out (204, cookies cleared, as Express) and the access token is refused afterwards with token_revoked', async () => {
      const s = await setup();
      const sessions: TokenResponseBody[] = [];
      const answer = await s.sameAsExpress(async (base) => {
        const { body } = await s.login('bearer', 'alice', base);
        sessions.push(body);
        return send(base, 'POST', '/auth/logout', { json: { refresh_token: body.refresh_token } });
      });
      expect(answer.status).toBe(204);
      expect(answer.text).toBe('');
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.setCookie.map((c) => c.slice(0, c.indexOf('=')))).toEqual([s.names.access, s.names.refresh, s.names.csrf]);
      const refused = await send(s.url, 'GET', '/me', bearer(sessions[0]!.access_token));
      expect(refused.status).toBe(401);
      expect(json(refused).error).toBe('token_revoked');
    });

    it('logs out a cookie session (CSRF checked) and refuses a logout without any token', async () => {
      const s = await setup();
      const { body, cookie } = await s.login('cookie');
      expect(json(await send(s.url, 'POST', '/auth/logout', { headers: { cookie } })).error).toBe('csrf_failed');
      expect((await send(s.url, 'POST', '/auth/logout', { headers: { cookie, 'x-csrf-token': body.csrf_token! } })).status).toBe(204);
      expect(json(await send(s.url, 'GET', '/me', { headers: { cookie } })).error).toBe('token_revoked');
      const none = await s.sameAsExpress((base) => send(base, 'POST', '/auth/logout'));
      expect(none.status).toBe(401);
      expect(json(none).error).toBe('token_missing');
    });
  });
}
