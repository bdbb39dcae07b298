// One behaviour suite for every framework adapter (docs/architecture.md "Layers": the same behaviour suite runs
// against every adapter; docs/architecture.md "Conventions": all adapters give byte-identical bodies and headers). It drives a
// REAL listening server: `fetch` for ordinary requests, raw `node:net` sockets where fetch would merge
// or refuse headers (two Authorization lines, two Cookie lines, an oversize header).
//
// The app that `make(auth, options)` builds mounts `tessera(auth, options)` of the adapter under test
// and exactly these routes (the answers are written as the HttpResult shown, so that every framework
// writes the same bytes):
//
//   POST /auth/login    login(checkCredentials, { transports: TRANSPORTS })
//   POST /auth/refresh  refresh()
//   POST /auth/logout   logout()
//   GET  /me            required()                          → jsonResult(200, meBody(identity))
//   POST /me            required()                          → jsonResult(200, meBody(identity))
//   GET  /optional      optional()                          → jsonResult(200, subBody(identity or null))
//   POST /fresh         fresh()                             → jsonResult(200, subBody(identity))
//   GET  /admin         required({ claims: ADMIN_CLAIMS })  → jsonResult(200, subBody(identity))
//   GET  /scoped        required({ scope: SCOPED })         → jsonResult(200, subBody(identity))
//   POST /refresh-only  refreshRequired()                   → jsonResult(200, subBody(identity))
//
// With the adapter option `errors: 'throw'`, refusals go to the framework's error handling; the app's
// own handler writes the library's answer (status, headers, body of the error) and adds the header
// HANDLED_BY: `app:<code>:<status>`, read from the error it was given.
// JSON bodies go through the framework's own JSON parser (or the adapter's, where the framework has
// none), limited to BODY_LIMIT bytes; the app answers the parser's refusals with
// bodyErrorResult('invalid_json' | 'too_large' | 'unsupported_type', options): 400 invalid_request,
// 413 payload_too_large, 415 where the framework refuses a media type. Framework extras that would
// make the answers differ (X-Powered-By, ETag) are turned off. `make` listens on 127.0.0.1 (the test kit's
// `listen`) and answers { url, close }.
// Long on purpose: it is the whole adapter contract in one place, so that no adapter can pass a
// smaller copy of it; its routes live in apps.ts and its helpers in the test kit.
import {
  claimsOf,
  cookieHeader,
  hmacWith,
  jarOf,
  parseSetCookie,
  rawRequest,
  segment,
  send,
  sessionFrom,
  sign,
  STACK_TRACE,
  withSignature,
  type Answer,
  type Req,
  type RunningApp,
} from '@tessera/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AdapterOptions, Identity } from '../../src/adapters/adapter-kit.js';
import { fixedClock } from '../../src/core/clock.js';
import type { CredentialCheck } from '../../src/core/flows.js';
import {
  createTessera,
  errorResult,
  exportPublicJwk,
  generateKey,
  generateRefreshKey,
  InvalidRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  type HttpResult,
  type Key,
  type Tessera,
  type Transport,
} from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

// ---------------------------------------------------------------------------------------------
// What the app under test is built from
// ---------------------------------------------------------------------------------------------

/** The user that `lookupUser` finds for a token. */
export interface User {
  name: string;
  roles: readonly string[];
}

/** Builds and starts the app described at the top of this file. */
export type MakeApp = (auth: Tessera, options: AdapterOptions<User>) => Promise<RunningApp>;

export const PASSWORD = 'correct horse';
export const TRANSPORTS: readonly Transport[] = ['bearer', 'cookie', 'hybrid'];
export const ADMIN_CLAIMS = { roles: 'admin' } as const;
/** The scopes /scoped requires: ada's tokens hold both, bob's only the first. */
export const SCOPED: readonly string[] = ['docs:read', 'docs:write'];
/** The header an app's own error handler adds to a refusal it was handed (`errors: 'throw'`). */
export const HANDLED_BY = 'x-handled-by';
/** Largest JSON body the apps parse: auth routes need little, and an unbounded body is a memory DoS (security.md §9). */
export const BODY_LIMIT = 16 * 1024;

const USERS: ReadonlyMap<string, User> = new Map([
  ['ada', { name: 'Ada', roles: ['admin'] }],
  ['bob', { name: 'Bob', roles: [] }],
]);

/** The login check every app uses: 'ada' (admin) or 'bob' with PASSWORD. */
export const checkCredentials: CredentialCheck = (body) => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const { username, password } = body as Record<string, unknown>;
  if (typeof username !== 'string' || !USERS.has(username) || password !== PASSWORD) return null;
  const admin = username === 'ada';
  return { sub: username, claims: { roles: admin ? ['admin'] : [], scope: admin ? 'docs:read docs:write' : 'docs:read' } };
};

/** The body of GET/POST /me. */
export function meBody(identity: Identity<unknown>): Record<string, unknown> {
  return { sub: identity.sub, sid: identity.sid, location: identity.location, user: identity.user ?? null };
}

/** The body of /optional, /fresh, /admin and /refresh-only. */
export function subBody(identity: Identity<unknown> | null): Record<string, unknown> {
  return { sub: identity?.sub ?? null };
}

/** The answer to a body the framework's parser refused: malformed JSON (400), over BODY_LIMIT (413), a media type it does not parse (415). */
export function bodyErrorResult(kind: 'invalid_json' | 'too_large' | 'unsupported_type', options: AdapterOptions<User>): HttpResult {
  const error =
    kind === 'invalid_json'
      ? new InvalidRequestError({ message: 'The body is not valid JSON' })
      : kind === 'too_large'
        ? new PayloadTooLargeError({ message: `The body is larger than ${BODY_LIMIT / 1024} KiB` })
        : new UnsupportedMediaTypeError();
  return errorResult(error, options.errorFormat);
}

// ---------------------------------------------------------------------------------------------
// Talking to the app
// ---------------------------------------------------------------------------------------------

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const ISSUER = 'https://issuer.example';
const AUDIENCE = 'https://api.example';
const ACCESS_TTL = 900;
const REFRESH_TTL = 7 * 24 * 3600;
const GRACE = 10;
const JSON_TYPE = 'application/json; charset=utf-8';
const EVIL = 'https://evil.example';

function text(value: unknown): string {
  expect(typeof value).toBe('string');
  return value as string;
}

/** Every credential-like string in a request: JWT-shaped text anywhere, and any long Bearer credential or cookie value. */
function tokensIn(req: Req): string[] {
  const found: string[] = [...(JSON.stringify(req).match(/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g) ?? [])];
  const headers = Object.entries(req.headers ?? {});
  const authorizations = [req.bearer, req.authorization, ...headers.filter(([n]) => /^authorization$/i.test(n)).map(([, h]) => h)];
  for (const value of authorizations) for (const piece of value?.split(/[\s,]+/) ?? []) if (piece.length >= 16) found.push(piece);
  const cookies = [req.cookie, ...headers.filter(([n]) => /^cookie$/i.test(n)).map(([, h]) => h)];
  for (const value of cookies) {
    for (const pair of value?.split(';') ?? []) {
      const cookieValue = pair.slice(pair.indexOf('=') + 1).trim();
      if (pair.includes('=') && cookieValue.length >= 16) found.push(cookieValue);
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Keys and instances
// ---------------------------------------------------------------------------------------------

interface SuiteKeys {
  access: Key;
  refresh: Key;
  /** An Ed25519 key in no ring: the attacker's. */
  attacker: Key;
}

async function suiteKeys(): Promise<SuiteKeys> {
  const [access, refresh, attacker] = await Promise.all([generateKey('EdDSA'), generateRefreshKey(), generateKey('EdDSA')]);
  return { access, refresh, attacker };
}

function suiteTessera(keys: SuiteKeys, clock: ReturnType<typeof fixedClock>): Tessera {
  return createTessera({
    keys: keys.access,
    refreshKey: keys.refresh,
    issuer: ISSUER,
    audience: AUDIENCE,
    accessTtl: ACCESS_TTL,
    refreshTtl: REFRESH_TTL,
    reuseGrace: GRACE,
    clock,
    sessions: { store: memoryStore() },
  });
}

const lookupUser = (claims: { sub: string }): User | undefined => USERS.get(claims.sub);

// ---------------------------------------------------------------------------------------------
// The behaviour suite
// ---------------------------------------------------------------------------------------------

/** A login's outcome: the tokens wherever they travelled, and the cookie jar. */
interface Login {
  answer: Answer;
  access: string;
  refresh: string;
  csrf: string;
  sid: string;
  /** The cookies a browser would now hold. */
  jar: Record<string, string>;
}

/** A hostile Authorization case: the token to send, and the refusal it must get. */
interface HostileRow {
  name: string;
  token: (k: HostileContext) => string;
  status: number;
  code: string;
}

interface HostileContext {
  keys: SuiteKeys;
  /** Valid access claims of a live session, at the suite's clock. */
  claims(changes?: Record<string, unknown>): Record<string, unknown>;
  header(changes?: Record<string, unknown>): Record<string, unknown>;
  login: Login;
}

const HOSTILE: readonly HostileRow[] = [
  {
    name: 'alg none, empty signature',
    token: (k) => withSignature(k.header({ alg: 'none' }), k.claims(), ''),
    status: 401,
    code: 'token_invalid',
  },
  {
    name: 'alg none without kid, junk signature',
    token: (k) => withSignature({ alg: 'none', typ: 'at+jwt' }, k.claims(), 'c2ln'),
    status: 401,
    code: 'token_invalid',
  },
  {
    name: 'HS256 MAC keyed with the public key PEM',
    token: (k) => {
      const input = `${segment(k.header({ alg: 'HS256' }))}.${segment(k.claims())}`;
      const pem = k.keys.access.verifyingKey.export({ type: 'spki', format: 'pem' });
      return `${input}.${hmacWith(pem, input).toString('base64url')}`;
    },
    status: 401,
    code: 'token_invalid',
  },
  {
    name: 'HS256 MAC keyed with the public JWK x',
    token: (k) => {
      const input = `${segment(k.header({ alg: 'HS256' }))}.${segment(k.claims())}`;
      return `${input}.${hmacWith(String(exportPublicJwk(k.keys.access).x), input).toString('base64url')}`;
    },
    status: 401,
    code: 'token_invalid',
  },
  {
    name: "signed by the attacker's key under our kid",
    token: (k) => sign(k.keys.attacker, k.header(), k.claims()),
    status: 401,
    code: 'token_invalid',
  },
  { name: 'typ JWT instead of at+jwt', token: (k) => sign(k.keys.access, k.header({ typ: 'JWT' }), k.claims()), status: 401, code: 'token_invalid' },
  { name: 'a refresh token where an access token belongs', token: (k) => k.login.refresh, status: 401, code: 'token_type_invalid' },
  {
    name: 'access claims signed with the refresh key',
    token: (k) => sign(k.keys.refresh, { alg: 'HS256', typ: 'rt+jwt', kid: k.keys.refresh.kid }, k.claims()),
    status: 401,
    code: 'token_type_invalid',
  },
  {
    name: 'expired one second ago',
    token: (k) => sign(k.keys.access, k.header(), k.claims({ iat: -400, nbf: -400, exp: -1 })),
    status: 401,
    code: 'token_expired',
  },
  {
    name: 'not valid for another minute',
    token: (k) => sign(k.keys.access, k.header(), k.claims({ nbf: 60 })),
    status: 401,
    code: 'token_not_yet_valid',
  },
  {
    name: 'another audience',
    token: (k) => sign(k.keys.access, k.header(), k.claims({ aud: 'https://other.example' })),
    status: 401,
    code: 'token_invalid',
  },
  { name: 'two segments', token: () => 'abc.def', status: 401, code: 'token_invalid' },
  { name: 'four segments', token: (k) => `${k.login.access}.e30`, status: 401, code: 'token_invalid' },
  { name: 'padded base64url', token: (k) => `${k.login.access}==`, status: 401, code: 'token_invalid' },
  { name: 'a 9 KB token', token: () => `eyJ${'a'.repeat(4600)}.${'b'.repeat(4600)}.c2ln`, status: 401, code: 'token_invalid' },
  {
    name: 'not a b64token (a space inside)',
    token: (k) => `${k.login.access.slice(0, 20)} ${k.login.access.slice(20)}`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'genuine signature, unknown session',
    token: (k) => sign(k.keys.access, k.header(), k.claims({ sid: 'no-such-session-aaaaaa' })),
    status: 401,
    code: 'token_revoked',
  },
];

/**
 * Runs the behaviour suite against one adapter: `make` builds the app described at the top of this
 * file. One Tessera instance per app, time frozen by a fixed clock that the tests move.
 */
export function describeAdapter(name: string, make: MakeApp): void {
  describe(`adapter conformance: ${name}`, () => {
    const clock = fixedClock(T0);
    let keys: SuiteKeys;
    let auth: Tessera;
    let app: RunningApp;
    /** The same adapter with the flask error shape and implicit refresh (options reach the adapter). */
    let flaskAuth: Tessera;
    let flask: RunningApp;
    /** The same adapter with errors: 'throw': refusals reach the app's own error handler. */
    let throwerAuth: Tessera;
    let thrower: RunningApp;
    /** Every token the suite has seen (sent or received): none may ever appear in an error answer. */
    const secrets = new Set<string>();

    beforeAll(async () => {
      keys = await suiteKeys();
      auth = suiteTessera(keys, clock);
      flaskAuth = suiteTessera(keys, clock);
      app = await make(auth, { lookupUser });
      flask = await make(flaskAuth, { errorFormat: 'flask', implicitRefresh: { within: '5m' } });
      throwerAuth = suiteTessera(keys, clock);
      thrower = await make(throwerAuth, { lookupUser, errors: 'throw' });
    });
    afterAll(async () => {
      await Promise.all([app?.close(), flask?.close(), thrower?.close()]);
      await Promise.all([auth?.close(), flaskAuth?.close(), throwerAuth?.close()]);
    });
    // Each test starts an hour after the last: tokens of earlier tests are dead, time only moves forward.
    beforeEach(() => clock.advance(3600_000));

    /** Notes the tokens of a request or answer, then holds the answer to what every answer owes. */
    function check(answer: Answer, sent: readonly string[], flaskFormat = false): Answer {
      for (const token of sent) secrets.add(token);
      for (const field of ['access_token', 'refresh_token']) {
        const value = answer.json[field];
        if (typeof value === 'string') secrets.add(value);
      }
      for (const line of answer.setCookie) {
        const { value } = parseSetCookie(line);
        if (value.length >= 16) secrets.add(value);
      }
      // Never a 5xx and never a stack trace, whatever was sent (security.md §1 item 14).
      expect(answer.status, answer.text).toBeLessThan(500);
      expect(answer.text).not.toMatch(STACK_TRACE);
      if (answer.status >= 400 && answer.status !== 431) {
        expect(answer.header('content-type')).toBe(JSON_TYPE);
        expect(answer.header('cache-control')).toBe('no-store');
        expect(Object.keys(answer.json).sort()).toEqual(flaskFormat ? ['msg'] : ['error', 'message']);
        // A refusal never echoes a token (docs/architecture.md "Conventions"), neither in the body nor in the challenge.
        const challenge = answer.header('www-authenticate') ?? '';
        expect(answer.text + challenge).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}/);
        for (const secret of secrets) {
          expect(answer.text.includes(secret), `a token in an error body: ${secret.slice(0, 40)} in ${answer.text}`).toBe(false);
          expect(challenge.includes(secret), 'a token in WWW-Authenticate').toBe(false);
        }
      }
      return answer;
    }

    const call = async (path: string, req: Req = {}): Promise<Answer> => check(await send(app.url, path, req), tokensIn(req));
    const callFlask = async (path: string, req: Req = {}): Promise<Answer> => check(await send(flask.url, path, req), tokensIn(req), true);
    const callThrower = async (path: string, req: Req = {}): Promise<Answer> => check(await send(thrower.url, path, req), tokensIn(req));
    const raw = async (requestLine: string, headers: ReadonlyArray<readonly [string, string]>, body = ''): Promise<Answer> =>
      check(await rawRequest(app.url, requestLine, headers, body), tokensIn({ headers: Object.fromEntries(headers), body }));

    function names() {
      return auth.config.cookies.names;
    }

    async function login(transport: Transport = 'bearer', username = 'ada', target: 'app' | 'flask' = 'app'): Promise<Login> {
      const json = { username, password: PASSWORD, transport };
      const answer = target === 'app' ? await call('/auth/login', { json }) : await callFlask('/auth/login', { json });
      expect(answer.status, answer.text).toBe(200);
      const s = sessionFrom(answer, transport, username, names());
      return { answer, access: s.access, refresh: s.refresh, csrf: s.csrf ?? '', sid: text(claimsOf(s.refresh).sid), jar: s.jar };
    }

    function expectRefusal(answer: Answer, status: number, code: string): void {
      expect({ status: answer.status, code: answer.json.error }).toEqual({ status, code });
    }

    function expectCleared(answer: Answer): void {
      const cleared = answer.setCookie.map(parseSetCookie);
      expect(cleared.map((c) => c.name).sort()).toEqual(Object.values(names()).sort());
      for (const c of cleared) {
        expect(c.value).toBe('');
        expect(c.attributes.get('max-age')).toBe('0');
      }
    }

    // -----------------------------------------------------------------------------------------
    describe('login, refresh and logout in every transport', () => {
      it('bearer: tokens in the body, no cookies; refresh by body or Bearer; logout revokes the session', async () => {
        const first = await login('bearer');
        expect(first.answer.header('cache-control')).toBe('no-store');
        expect(first.answer.header('content-type')).toBe(JSON_TYPE);
        expect(first.answer.setCookie).toEqual([]);
        expect(first.answer.json).toEqual({
          access_token: first.access,
          refresh_token: first.refresh,
          token_type: 'Bearer',
          expires_in: ACCESS_TTL,
          refresh_expires_in: REFRESH_TTL,
        });

        const me = await call('/me', { bearer: first.access });
        expect(me.status).toBe(200);
        expect(me.json).toEqual({ sub: 'ada', sid: first.sid, location: 'header', user: { name: 'Ada', roles: ['admin'] } });

        const byBody = await call('/auth/refresh', { json: { refresh_token: first.refresh } });
        expect(byBody.status).toBe(200);
        expect(byBody.header('cache-control')).toBe('no-store');
        expect(byBody.setCookie).toEqual([]);
        const second = text(byBody.json.refresh_token);
        expect(second).not.toBe(first.refresh);
        expect(claimsOf(second).sid).toBe(first.sid);

        const byBearer = await call('/auth/refresh', { method: 'POST', bearer: second });
        expect(byBearer.status).toBe(200);
        const third = text(byBearer.json.refresh_token);
        const access = text(byBearer.json.access_token);
        expect((await call('/me', { bearer: access })).json.sid).toBe(first.sid);

        const out = await call('/auth/logout', { json: { refresh_token: third } });
        expect(out.status).toBe(204);
        expect(out.text).toBe('');
        expect(out.header('cache-control')).toBe('no-store');
        expectCleared(out);
        expectRefusal(await call('/me', { bearer: access }), 401, 'token_revoked');
        expectRefusal(await call('/auth/refresh', { json: { refresh_token: third } }), 401, 'token_revoked');
      });

      it('bearer: logout with the access token alone ends the session', async () => {
        const s = await login('bearer');
        expect((await call('/auth/logout', { method: 'POST', bearer: s.access })).status).toBe(204);
        expectRefusal(await call('/me', { bearer: s.access }), 401, 'token_revoked');
        expectRefusal(await call('/auth/refresh', { json: { refresh_token: s.refresh } }), 401, 'token_revoked');
      });

      it('cookie: both tokens in HttpOnly cookies and none in any body; CSRF value readable', async () => {
        const s = await login('cookie');
        const { answer } = s;
        expect(answer.header('cache-control')).toBe('no-store');
        expect(answer.json).toEqual({ token_type: 'Bearer', expires_in: ACCESS_TTL, refresh_expires_in: REFRESH_TTL, csrf_token: s.csrf });
        expect(answer.text).not.toContain(s.access);
        expect(answer.text).not.toContain(s.refresh);
        const cookies = new Map(answer.setCookie.map((line) => [parseSetCookie(line).name, parseSetCookie(line)]));
        expect([...cookies.keys()].sort()).toEqual(Object.values(names()).sort());
        const access = cookies.get(names().access)!;
        const refresh = cookies.get(names().refresh)!;
        const csrf = cookies.get(names().csrf)!;
        expect(Object.fromEntries(access.attributes)).toEqual({
          path: '/',
          'max-age': String(ACCESS_TTL),
          httponly: '',
          secure: '',
          samesite: 'Lax',
        });
        expect(Object.fromEntries(refresh.attributes)).toEqual({
          path: '/auth',
          'max-age': String(REFRESH_TTL),
          httponly: '',
          secure: '',
          samesite: 'Lax',
        });
        expect(Object.fromEntries(csrf.attributes)).toEqual({ path: '/', 'max-age': String(REFRESH_TTL), secure: '', samesite: 'Lax' });
        expect(csrf.value).toBe(s.csrf);
        expect(claimsOf(s.access).csrf).toBe(s.csrf);

        const me = await call('/me', { cookie: cookieHeader(s.jar) });
        expect(me.json).toEqual({ sub: 'ada', sid: s.sid, location: 'cookie', user: { name: 'Ada', roles: ['admin'] } });
        expect((await call('/me', { method: 'POST', cookie: cookieHeader(s.jar), csrf: s.csrf })).status).toBe(200);
      });

      it('cookie: refresh answers with new cookies and no tokens in the body; logout clears them', async () => {
        const s = await login('cookie');
        const refreshed = await call('/auth/refresh', { method: 'POST', cookie: cookieHeader(s.jar), csrf: s.csrf });
        expect(refreshed.status).toBe(200);
        expect(refreshed.header('cache-control')).toBe('no-store');
        expect(refreshed.json).toEqual({ token_type: 'Bearer', expires_in: ACCESS_TTL, refresh_expires_in: REFRESH_TTL, csrf_token: s.csrf });
        const jar = jarOf(refreshed.setCookie, s.jar);
        expect(jar[names().refresh]).not.toBe(s.refresh);
        expect(jar[names().access]).not.toBe(s.access);
        // One CSRF value per session, surviving rotation, so tabs never trip each other (docs/architecture.md "Transports").
        expect(jar[names().csrf]).toBe(s.csrf);
        for (const token of [jar[names().access]!, jar[names().refresh]!]) expect(refreshed.text).not.toContain(token);

        expect((await call('/me', { cookie: cookieHeader(jar) })).json.sid).toBe(s.sid);
        const out = await call('/auth/logout', { method: 'POST', cookie: cookieHeader(jar), csrf: s.csrf });
        expect(out.status).toBe(204);
        expectCleared(out);
        expectRefusal(await call('/me', { cookie: cookieHeader(jar) }), 401, 'token_revoked');
      });

      it('hybrid: access token in the body, refresh token in a cookie; refresh keeps that split', async () => {
        const s = await login('hybrid');
        expect(s.answer.json).toEqual({
          access_token: s.access,
          token_type: 'Bearer',
          expires_in: ACCESS_TTL,
          refresh_expires_in: REFRESH_TTL,
          csrf_token: s.csrf,
        });
        expect(Object.keys(s.jar).sort()).toEqual([names().csrf, names().refresh].sort());
        expect(s.answer.text).not.toContain(s.refresh);
        expect((await call('/me', { bearer: s.access })).json.location).toBe('header');

        const refreshed = await call('/auth/refresh', { method: 'POST', cookie: cookieHeader(s.jar), csrf: s.csrf });
        expect(refreshed.status).toBe(200);
        expect(refreshed.header('cache-control')).toBe('no-store');
        expect(Object.keys(refreshed.json).sort()).toEqual(['access_token', 'csrf_token', 'expires_in', 'refresh_expires_in', 'token_type']);
        const jar = jarOf(refreshed.setCookie, s.jar);
        const newRefresh = jar[names().refresh]!;
        expect(newRefresh).not.toBe(s.refresh);
        expect(refreshed.text).not.toContain(newRefresh);
        expect(refreshed.setCookie.map((l) => parseSetCookie(l).name)).not.toContain(names().access);
        const access = text(refreshed.json.access_token);
        expect((await call('/me', { bearer: access })).json.sid).toBe(s.sid);

        const out = await call('/auth/logout', { method: 'POST', bearer: access, cookie: cookieHeader(jar), csrf: s.csrf });
        expect(out.status).toBe(204);
        expectCleared(out);
        expectRefusal(await call('/me', { bearer: access }), 401, 'token_revoked');
      });

      it('refuses wrong credentials alike for a known and an unknown user, and an unknown transport', async () => {
        const wrong = await call('/auth/login', { json: { username: 'ada', password: 'wrong' } });
        const unknown = await call('/auth/login', { json: { username: 'mallory', password: PASSWORD } });
        expectRefusal(wrong, 401, 'invalid_credentials');
        expect(unknown.text).toBe(wrong.text);
        expect(wrong.setCookie).toEqual([]);
        expectRefusal(await call('/auth/login', { json: { username: 'ada', password: PASSWORD, transport: 'query' } }), 400, 'invalid_request');
        expectRefusal(await call('/auth/login', { json: [] }), 401, 'invalid_credentials');
      });

      it('never sets cookies for a cross-site or non-JSON login', async () => {
        const json = { username: 'ada', password: PASSWORD, transport: 'cookie' };
        const crossSite = await call('/auth/login', { json, headers: { origin: EVIL } });
        expectRefusal(crossSite, 403, 'origin_refused');
        expect(crossSite.setCookie).toEqual([]);
        const fetchMetadata = await call('/auth/login', { json, headers: { 'sec-fetch-site': 'cross-site' } });
        expectRefusal(fetchMetadata, 403, 'origin_refused');
        // A cross-site form can post text/plain: the login must not open a cookie session from it.
        const plain = await call('/auth/login', { body: JSON.stringify(json), contentType: 'text/plain' });
        expect(plain.status).toBeGreaterThanOrEqual(400);
        expect(plain.setCookie).toEqual([]);
        const form = await call('/auth/login', {
          body: 'username=ada&password=correct+horse&transport=cookie',
          contentType: 'application/x-www-form-urlencoded',
        });
        expect(form.status).toBeGreaterThanOrEqual(400);
        expect(form.setCookie).toEqual([]);
      });
    });

    // -----------------------------------------------------------------------------------------
    describe('WWW-Authenticate (RFC 6750 §3)', () => {
      it('is a bare Bearer challenge when no token was sent', async () => {
        const answer = await call('/me');
        expectRefusal(answer, 401, 'token_missing');
        expect(answer.header('www-authenticate')).toBe('Bearer');
      });

      it('names invalid_token when a bad token was sent', async () => {
        const answer = await call('/me', { bearer: 'abc.def.ghi' });
        expectRefusal(answer, 401, 'token_invalid');
        expect(answer.header('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
      });

      it('names invalid_request for a malformed header and insufficient_scope for missing claims', async () => {
        const malformed = await call('/me', { authorization: 'Basic x, Bearer y' });
        expectRefusal(malformed, 400, 'invalid_request');
        expect(malformed.header('www-authenticate')).toMatch(/^Bearer error="invalid_request"/);
        const bob = await login('bearer', 'bob');
        const scope = await call('/admin', { bearer: bob.access });
        expectRefusal(scope, 403, 'insufficient_scope');
        expect(scope.header('www-authenticate')).toMatch(/^Bearer error="insufficient_scope"/);
      });
    });

    // -----------------------------------------------------------------------------------------
    describe('hostile tokens over HTTP', () => {
      it.each(HOSTILE)('$name → $status $code', async (row) => {
        const s = await login('bearer');
        const now = Math.floor(clock.now() / 1000);
        const context: HostileContext = {
          keys,
          login: s,
          header: (changes = {}) => ({ alg: 'EdDSA', typ: 'at+jwt', kid: keys.access.kid, ...changes }),
          claims: (changes = {}) => {
            const base: Record<string, unknown> = { iss: ISSUER, aud: AUDIENCE, sub: 'ada', iat: now, nbf: now, exp: now + 300 };
            Object.assign(base, { jti: `forged-${now}`, sid: s.sid, type: 'access', fresh: true, roles: ['admin'] });
            // Times in `changes` are offsets from now.
            for (const [name, value] of Object.entries(changes)) base[name] = ['iat', 'nbf', 'exp'].includes(name) ? now + Number(value) : value;
            return base;
          },
        };
        const answer = await call('/me', { bearer: row.token(context) });
        expectRefusal(answer, row.status, row.code);
        const expected = row.status === 401 ? 'invalid_token' : 'invalid_request';
        expect(answer.header('www-authenticate')).toMatch(new RegExp(`^Bearer error="${expected}"`));
      });

      it('refuses two Authorization headers, even two copies of a good token (raw socket)', async () => {
        const s = await login('bearer');
        for (const second of [s.access, 'abc.def.ghi']) {
          const answer = await raw('GET /me HTTP/1.1', [
            ['Authorization', `Bearer ${s.access}`],
            ['Authorization', `Bearer ${second}`],
          ]);
          expectRefusal(answer, 400, 'invalid_request');
        }
      });

      it('refuses "Basic x, Bearer y" and ignores another scheme alone', async () => {
        const s = await login('bearer');
        expectRefusal(await call('/me', { authorization: `Basic eDp5, Bearer ${s.access}` }), 400, 'invalid_request');
        expectRefusal(await call('/me', { authorization: 'Basic eDp5' }), 401, 'token_missing');
      });

      it('refuses two different access cookies in two Cookie lines (raw socket)', async () => {
        const [a, b] = [await login('cookie'), await login('cookie')];
        const answer = await raw('GET /me HTTP/1.1', [
          ['Cookie', `${names().access}=${a.access}`],
          ['Cookie', `${names().access}=${b.access}`],
        ]);
        expectRefusal(answer, 400, 'token_conflict');
      });

      it('judges a bad Bearer header alone, never excused by a good cookie', async () => {
        const s = await login('cookie');
        expectRefusal(await call('/me', { bearer: 'abc.def.ghi', cookie: cookieHeader(s.jar) }), 401, 'token_invalid');
      });

      it('never reads a token from the query string (RFC 6750 §2.3)', async () => {
        const s = await login('bearer');
        expectRefusal(await call(`/me?access_token=${s.access}`), 401, 'token_missing');
      });

      it('answers an oversize header line with 431 before any app code, never a 5xx (raw socket)', async () => {
        const answer = await raw('GET /me HTTP/1.1', [['Authorization', `Bearer ${'a'.repeat(20_000)}`]]);
        expect(answer.status).toBe(431);
      });

      it('refuses a token that expired by the clock with token_expired, "Token has expired"', async () => {
        const s = await login('bearer');
        clock.advance(ACCESS_TTL * 1000);
        const answer = await call('/me', { bearer: s.access });
        expect(answer.json).toEqual({ error: 'token_expired', message: 'Token has expired' });
        expect(answer.header('www-authenticate')).toBe('Bearer error="invalid_token", error_description="Token has expired"');
      });
    });

    // -----------------------------------------------------------------------------------------
    describe('guards', () => {
      it('optional: no token passes as null, a good one is read, an expired or bad one is refused', async () => {
        const s = await login('bearer');
        const none = await call('/optional');
        expect([none.status, none.json]).toEqual([200, { sub: null }]);
        expect((await call('/optional', { bearer: s.access })).json).toEqual({ sub: 'ada' });
        expectRefusal(await call('/optional', { bearer: 'abc.def.ghi' }), 401, 'token_invalid');
        clock.advance(ACCESS_TTL * 1000 + 1000);
        expectRefusal(await call('/optional', { bearer: s.access }), 401, 'token_expired');
      });

      it('fresh: a login token passes, a refreshed one is refused with fresh_token_required', async () => {
        const s = await login('bearer');
        expect((await call('/fresh', { method: 'POST', bearer: s.access })).json).toEqual({ sub: 'ada' });
        const refreshed = await call('/auth/refresh', { json: { refresh_token: s.refresh } });
        expectRefusal(await call('/fresh', { method: 'POST', bearer: text(refreshed.json.access_token) }), 401, 'fresh_token_required');
      });

      it('claims: the admin passes, another user gets 403 insufficient_scope naming the claim', async () => {
        const [ada, bob] = [await login('bearer', 'ada'), await login('bearer', 'bob')];
        expect((await call('/admin', { bearer: ada.access })).json).toEqual({ sub: 'ada' });
        const refused = await call('/admin', { bearer: bob.access });
        expect(refused.json).toEqual({ error: 'insufficient_scope', message: 'The token\'s roles claim does not include "admin"' });
        expect(refused.header('www-authenticate')).toBe(
          'Bearer error="insufficient_scope", error_description="The token\'s roles claim does not include admin"',
        );
      });

      it('scope: every scope required must be in the scope claim; the challenge names them (RFC 6750 §3)', async () => {
        const [ada, bob] = [await login('bearer', 'ada'), await login('bearer', 'bob')];
        expect((await call('/scoped', { bearer: ada.access })).json).toEqual({ sub: 'ada' });
        const refused = await call('/scoped', { bearer: bob.access });
        expect(refused.json).toEqual({ error: 'insufficient_scope', message: 'The token lacks the scope "docs:write"' });
        expect(refused.header('www-authenticate')).toBe(
          'Bearer error="insufficient_scope", error_description="The token lacks the scope docs:write", scope="docs:read docs:write"',
        );
        // A refresh token carries the login's claims too, but it is never an access token.
        expectRefusal(await call('/scoped', { bearer: bob.refresh }), 401, 'token_type_invalid');
      });

      it('refreshRequired: takes a refresh token and refuses an access token or none', async () => {
        const s = await login('bearer');
        expect((await call('/refresh-only', { method: 'POST', bearer: s.refresh })).json).toEqual({ sub: 'ada' });
        expectRefusal(await call('/refresh-only', { method: 'POST', bearer: s.access }), 401, 'token_type_invalid');
        expectRefusal(await call('/refresh-only', { method: 'POST' }), 401, 'token_missing');
      });

      it('lookupUser: a valid token whose user is unknown gets 401 user_invalid', async () => {
        const tokens = await auth.openSession({ sub: 'eve' });
        expectRefusal(await call('/me', { bearer: tokens.access.token }), 401, 'user_invalid');
      });
    });

    // -----------------------------------------------------------------------------------------
    describe('cookie mode: CSRF and origin', () => {
      it('refuses a state-changing cookie request without, or with a wrong, X-CSRF-Token', async () => {
        const [s, other] = [await login('cookie'), await login('cookie')];
        const cookie = cookieHeader(s.jar);
        expectRefusal(await call('/me', { method: 'POST', cookie }), 403, 'csrf_failed');
        expectRefusal(await call('/me', { method: 'POST', cookie, csrf: 'wrong' }), 403, 'csrf_failed');
        expectRefusal(await call('/me', { method: 'POST', cookie, csrf: other.csrf }), 403, 'csrf_failed');
        expectRefusal(await call('/auth/refresh', { method: 'POST', cookie }), 403, 'csrf_failed');
        expectRefusal(await call('/auth/logout', { method: 'POST', cookie }), 403, 'csrf_failed');
        // The refusals changed nothing: the session still works with the right header.
        expect((await call('/me', { method: 'POST', cookie, csrf: s.csrf })).status).toBe(200);
      });

      it('refuses a cross-site Origin or Sec-Fetch-Site even with the right CSRF value', async () => {
        const s = await login('cookie');
        const base = { method: 'POST', cookie: cookieHeader(s.jar), csrf: s.csrf };
        expectRefusal(await call('/me', { ...base, headers: { origin: EVIL } }), 403, 'origin_refused');
        expectRefusal(await call('/me', { ...base, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'origin_refused');
        expectRefusal(await call('/me', { ...base, headers: { 'sec-fetch-site': 'same-site' } }), 403, 'origin_refused');
        expectRefusal(await call('/auth/refresh', { ...base, headers: { origin: EVIL } }), 403, 'origin_refused');
        // The app's own origin and a same-origin fetch pass.
        expect((await call('/me', { ...base, headers: { origin: app.url, 'sec-fetch-site': 'same-origin' } })).status).toBe(200);
      });

      it('needs no CSRF value for a GET with the cookie', async () => {
        const s = await login('cookie');
        expect((await call('/me', { cookie: cookieHeader(s.jar), headers: { 'sec-fetch-site': 'same-origin' } })).status).toBe(200);
      });
    });

    // -----------------------------------------------------------------------------------------
    describe('rotation and reuse', () => {
      it('gives the current token back for the previous one inside the grace window', async () => {
        const s = await login('bearer');
        const next = await call('/auth/refresh', { json: { refresh_token: s.refresh } });
        clock.advance((GRACE - 1) * 1000);
        const again = await call('/auth/refresh', { json: { refresh_token: s.refresh } });
        expect(again.status).toBe(200);
        expect(claimsOf(text(again.json.refresh_token)).jti).toBe(claimsOf(text(next.json.refresh_token)).jti);
      });

      it('after the grace window, reuse revokes the session and its access token', async () => {
        const s = await login('bearer');
        const next = await call('/auth/refresh', { json: { refresh_token: s.refresh } });
        const access = text(next.json.access_token);
        expect((await call('/me', { bearer: access })).status).toBe(200);
        clock.advance((GRACE + 1) * 1000);
        expectRefusal(await call('/auth/refresh', { json: { refresh_token: s.refresh } }), 401, 'refresh_token_reused');
        expectRefusal(await call('/me', { bearer: access }), 401, 'token_revoked');
        expectRefusal(await call('/auth/refresh', { json: { refresh_token: text(next.json.refresh_token) } }), 401, 'token_revoked');
      });

      it('cookie reuse is refused and the dead cookies are cleared', async () => {
        const s = await login('cookie');
        const next = await call('/auth/refresh', { method: 'POST', cookie: cookieHeader(s.jar), csrf: s.csrf });
        expect(next.status).toBe(200);
        clock.advance((GRACE + 1) * 1000);
        const reused = await call('/auth/refresh', { method: 'POST', cookie: cookieHeader(s.jar), csrf: s.csrf });
        expectRefusal(reused, 401, 'refresh_token_reused');
        expectCleared(reused);
        expectRefusal(await call('/me', { cookie: cookieHeader(jarOf(next.setCookie, s.jar)) }), 401, 'token_revoked');
      });
    });

    // -----------------------------------------------------------------------------------------
    describe('logout ends the session its token names, expired or not; a token that is not ours is 401', () => {
      /** A token signed with the suite's own key for session `sid`: times are offsets in seconds from now. */
      function ourAccessToken(sid: string, times: { iat: number; exp: number }): string {
        const now = Math.floor(clock.now() / 1000);
        const claims = {
          iss: ISSUER,
          aud: AUDIENCE,
          sub: 'ada',
          iat: now + times.iat,
          exp: now + times.exp,
          jti: `ours-${now}`,
          sid,
          type: 'access',
        };
        return sign(keys.access, { alg: 'EdDSA', typ: 'at+jwt', kid: keys.access.kid }, claims);
      }

      it('an expired access token ends its session: 204, cookies cleared, its refresh token then token_revoked', async () => {
        const s = await login('bearer');
        clock.advance((ACCESS_TTL + 60) * 1000);
        expectRefusal(await call('/me', { bearer: s.access }), 401, 'token_expired');
        const out = await call('/auth/logout', { method: 'POST', bearer: s.access });
        expect(out.status).toBe(204);
        expectCleared(out);
        expectRefusal(await call('/auth/refresh', { json: { refresh_token: s.refresh } }), 401, 'token_revoked');
      });

      it('an expired refresh token ends its session: 204, cookies cleared, the current refresh token then token_revoked', async () => {
        const s = await login('cookie');
        clock.advance(24 * 3600 * 1000);
        const next = await call('/auth/refresh', { method: 'POST', cookie: cookieHeader(s.jar), csrf: s.csrf });
        expect(next.status).toBe(200);
        const current = jarOf(next.setCookie, s.jar);
        // The first refresh token (and every access token) has expired; the rotated one has not.
        clock.advance((REFRESH_TTL - 24 * 3600 + 60) * 1000);
        const out = await call('/auth/logout', { method: 'POST', cookie: cookieHeader(s.jar), csrf: s.csrf });
        expect(out.status).toBe(204);
        expectCleared(out);
        const after = await call('/auth/refresh', { method: 'POST', cookie: cookieHeader(current), csrf: s.csrf });
        expectRefusal(after, 401, 'token_revoked');
        expectCleared(after);
      });

      it('an expired cookie still needs the CSRF value: 403 csrf_failed, nothing cleared, nothing ended', async () => {
        const s = await login('cookie');
        clock.advance((ACCESS_TTL + 60) * 1000);
        const forged = await call('/auth/logout', { method: 'POST', cookie: cookieHeader(s.jar), csrf: 'not-the-value' });
        expectRefusal(forged, 403, 'csrf_failed');
        expect(forged.setCookie).toEqual([]);
        expect((await call('/auth/refresh', { method: 'POST', cookie: cookieHeader(s.jar), csrf: s.csrf })).status).toBe(200);
      });

      it('answers 401 token_invalid and clears the cookies for garbage in a cookie or as Bearer', async () => {
        const garbage = await call('/auth/logout', { method: 'POST', cookie: `${names().refresh}=garbage; ${names().access}=x.y.z` });
        expectRefusal(garbage, 401, 'token_invalid');
        expectCleared(garbage);
        const bearer = await call('/auth/logout', { method: 'POST', bearer: 'abc.def.ghi' });
        expectRefusal(bearer, 401, 'token_invalid');
        expectCleared(bearer);
      });

      it('answers 401 token_invalid for a wrong signature, clears the cookies and leaves the session live', async () => {
        const s = await login('bearer');
        const now = Math.floor(clock.now() / 1000);
        const claims = { ...claimsOf(s.access), iat: now - 1000, exp: now - 100 };
        const attackers = sign(keys.attacker, { alg: 'EdDSA', typ: 'at+jwt', kid: keys.access.kid }, claims);
        const forged = await call('/auth/logout', { method: 'POST', bearer: attackers });
        expectRefusal(forged, 401, 'token_invalid');
        expectCleared(forged);
        const [head, body, sig] = s.refresh.split('.') as [string, string, string];
        const flipped = `${head}.${body}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
        const badRefresh = await call('/auth/logout', { json: { refresh_token: flipped } });
        expectRefusal(badRefresh, 401, 'token_invalid');
        expectCleared(badRefresh);
        expect((await call('/auth/refresh', { json: { refresh_token: s.refresh } })).status).toBe(200);
      });

      it('answers 204 and changes nothing for a token issued longer than sessionMaxAge ago: its session ended on its own', async () => {
        const s = await login('bearer');
        const maxAge = auth.config.sessionMaxAge;
        const ancient = ourAccessToken(s.sid, { iat: -maxAge - 60, exp: -maxAge - 60 + ACCESS_TTL });
        const out = await call('/auth/logout', { method: 'POST', bearer: ancient });
        expect(out.status).toBe(204);
        expectCleared(out);
        // Just inside the lifetime, the same kind of token does end the session.
        expect((await call('/auth/refresh', { json: { refresh_token: s.refresh } })).status).toBe(200);
        expect(
          (await call('/auth/logout', { method: 'POST', bearer: ourAccessToken(s.sid, { iat: -maxAge + 60, exp: -maxAge + 60 + ACCESS_TTL }) }))
            .status,
        ).toBe(204);
        expectRefusal(await call('/auth/refresh', { json: { refresh_token: s.refresh } }), 401, 'token_revoked');
      });

      it('answers 204 for a session that had already ended', async () => {
        const s = await login('bearer');
        expect((await call('/auth/logout', { method: 'POST', bearer: s.access })).status).toBe(204);
        const again = await call('/auth/logout', { json: { refresh_token: s.refresh } });
        expect(again.status).toBe(204);
        expectCleared(again);
      });

      it('answers 401 token_missing with no token at all, still clearing the cookies', async () => {
        const answer = await call('/auth/logout', { method: 'POST' });
        expectRefusal(answer, 401, 'token_missing');
        expectCleared(answer);
      });
    });

    // -----------------------------------------------------------------------------------------
    describe('bodies', () => {
      it('answers a malformed JSON body with 400 invalid_request on every route', async () => {
        for (const path of ['/auth/login', '/auth/refresh', '/auth/logout', '/fresh']) {
          expectRefusal(await call(path, { body: '{"username": "ada",' }), 400, 'invalid_request');
        }
      });

      it('answers a form or text body on the JSON-only handlers with 415, never "invalid credentials"', async () => {
        const form = { body: 'username=ada&password=correct+horse', contentType: 'application/x-www-form-urlencoded' };
        const plain = { body: JSON.stringify({ username: 'ada', password: PASSWORD }), contentType: 'text/plain' };
        for (const req of [form, plain]) {
          const answer = await call('/auth/login', req);
          expect(answer.json).toEqual({ error: 'unsupported_media_type', message: 'Send the body as application/json' });
          expect(answer.status).toBe(415);
          expectRefusal(await call('/auth/refresh', { ...req, body: 'refresh_token=x' }), 415, 'unsupported_media_type');
        }
      });

      it('answers a body over 16 KiB with 413 payload_too_large', async () => {
        const answer = await call('/auth/login', { json: { username: 'ada', password: PASSWORD, pad: 'x'.repeat(BODY_LIMIT) } });
        expectRefusal(answer, 413, 'payload_too_large');
      });

      it('answers a non-string refresh_token with 400 and deep nesting without a 5xx', async () => {
        expectRefusal(await call('/auth/refresh', { json: { refresh_token: 42 } }), 400, 'invalid_request');
        const deep = await call('/auth/login', { body: `${'['.repeat(5000)}${']'.repeat(5000)}` });
        expectRefusal(deep, 401, 'invalid_credentials');
      });
    });

    // -----------------------------------------------------------------------------------------
    describe("errors: 'throw' hands refusals to the framework's error handling", () => {
      it('by default the adapter answers itself: the app error handler never sees a refusal', async () => {
        const answer = await call('/me');
        expectRefusal(answer, 401, 'token_missing');
        expect(answer.header(HANDLED_BY)).toBeNull();
      });

      it('a guard refusal reaches the app handler with its status, code and headers, and the same answer', async () => {
        const [direct, handled] = [await call('/me'), await callThrower('/me')];
        expect(handled.header(HANDLED_BY)).toBe('app:token_missing:401');
        expect([handled.status, handled.text, handled.header('www-authenticate')]).toEqual([direct.status, direct.text, 'Bearer']);
        const bob = await login('bearer', 'bob');
        const scope = await callThrower('/scoped', { bearer: bob.access });
        expect(scope.header(HANDLED_BY)).toBe('app:insufficient_scope:403');
        expect(scope.header('www-authenticate')).toMatch(/scope="docs:read docs:write"$/);
        expectRefusal(await callThrower('/me', { bearer: 'abc.def.ghi' }), 401, 'token_invalid');
      });

      it('handler refusals go there too, cookies to clear included; successes are written as usual', async () => {
        const wrong = await callThrower('/auth/login', { json: { username: 'ada', password: 'nope' } });
        expect([wrong.header(HANDLED_BY), wrong.json.error]).toEqual(['app:invalid_credentials:401', 'invalid_credentials']);
        const out = await callThrower('/auth/logout', { method: 'POST', cookie: `${names().refresh}=abc.def.ghi` });
        expect(out.header(HANDLED_BY)).toBe('app:token_invalid:401');
        expectCleared(out);
        const ok = await callThrower('/auth/login', { json: { username: 'ada', password: PASSWORD } });
        expect([ok.status, ok.header(HANDLED_BY)]).toEqual([200, null]);
        expect((await callThrower('/me', { bearer: text(ok.json.access_token) })).json.sub).toBe('ada');
      });
    });

    // -----------------------------------------------------------------------------------------
    describe('adapter options', () => {
      it("errorFormat 'flask' answers {msg}: an expired token gives Token has expired", async () => {
        const s = await login('bearer', 'ada', 'flask');
        clock.advance(ACCESS_TTL * 1000 + 1000);
        const answer = await callFlask('/me', { bearer: s.access });
        expect(answer.status).toBe(401);
        expect(answer.text).toBe('{"msg":"Token has expired"}');
        expect(answer.header('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
        const malformed = await callFlask('/auth/login', { body: '{' });
        expect([malformed.status, malformed.json]).toEqual([400, { msg: 'The body is not valid JSON' }]);
      });

      it('implicitRefresh re-issues a near-expiry access cookie on a guarded request', async () => {
        const s = await login('cookie', 'ada', 'flask');
        expect((await callFlask('/me', { cookie: cookieHeader(s.jar) })).setCookie).toEqual([]);
        clock.advance((ACCESS_TTL - 240) * 1000);
        const near = await callFlask('/me', { cookie: cookieHeader(s.jar) });
        expect(near.status).toBe(200);
        const renewed = near.setCookie.map(parseSetCookie);
        expect(renewed.map((c) => c.name)).toEqual([names().access]);
        clock.advance(300_000);
        const old = await callFlask('/me', { cookie: cookieHeader(s.jar) });
        expect([old.status, old.json]).toEqual([401, { msg: 'Token has expired' }]);
        const jar = jarOf(near.setCookie, s.jar);
        expect((await callFlask('/me', { cookie: cookieHeader(jar) })).json.sub).toBe('ada');
      });
    });

    it('answers odd inputs with a 4xx, never a 5xx or a stack trace', async () => {
      // `check` (inside every call) holds each answer to the rules; this feeds it inputs that parsers trip on.
      const s = await login('cookie');
      const cookie = cookieHeader(s.jar);
      const odd: Array<[string, Req]> = [
        ['/me', { authorization: 'Bearer' }],
        ['/me', { authorization: 'Bearer ' }],
        ['/me', { authorization: 'Bearer ===' }],
        ['/me', { authorization: 'bearer\tabc.def.ghi' }],
        ['/me', { cookie: `${names().access}=""` }],
        ['/me', { cookie: `${names().access}=%00%ff` }],
        ['/me', { method: 'POST', cookie, csrf: s.csrf, headers: { origin: 'null' } }],
        ['/me', { method: 'POST', cookie, csrf: s.csrf, headers: { origin: 'http://[::1' } }],
        ['/auth/login', { json: null }],
        ['/auth/login', { json: 42 }],
        ['/auth/login', { body: '{"username":"ada","password":"nope","transport":null,"__proto__":{"admin":true}}' }],
        ['/auth/login', { json: { username: ['ada'], password: { $ne: null } } }],
        ['/auth/login', { json: { username: 'ada\u0000', password: PASSWORD } }],
        ['/auth/login', { body: '\uFEFF{"username":"ada"}' }],
        ['/auth/refresh', { json: { refresh_token: null } }],
        ['/auth/refresh', { json: { refresh_token: ['a'] } }],
        ['/auth/logout', { json: { refresh_token: 'x'.repeat(9000) } }],
      ];
      for (const [path, req] of odd) {
        const answer = await call(path, req);
        const what = `${path} ${JSON.stringify(req).slice(0, 120)}`;
        expect(answer.status, what).toBeGreaterThanOrEqual(400);
        // A logout refused for its token still clears the cookies.
        if (path === '/auth/logout') expectRefusal(answer, 401, 'token_invalid');
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Equivalence: the same requests, byte-identical answers across frameworks
// ---------------------------------------------------------------------------------------------

/** An adapter to compare. */
export interface AdapterUnderTest {
  name: string;
  make: MakeApp;
  /**
   * The framework hands the adapter a Web `Headers` object (Next.js route handlers), where two Authorization
   * lines arrive joined as one "a, b" value: still refused with 400 invalid_request, in the words the core
   * has for one malformed line. Only the SCRIPT steps marked `mergedHeaders` compare the message loosely.
   */
  webHeaders?: boolean;
}

/** What is compared of an answer, with tokens and random ids replaced by numbered placeholders. */
export interface Normalized {
  status: number;
  body: string;
  contentType: string | null;
  wwwAuthenticate: string | null;
  cacheControl: string | null;
  pragma: string | null;
  /** The app's own error handler's mark (`errors: 'throw'`); null where the adapter answered itself. */
  handledBy: string | null;
  setCookie: string[];
}

const TOKEN = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** Numbers tokens and the random ids inside them (jti, sid, csrf) by first appearance, so two runs compare equal. */
class Placeholders {
  readonly #tokens = new Map<string, string>();
  readonly #ids = new Map<string, string>();

  normalize(answer: Answer): Normalized {
    const parts = [answer.text, ...answer.setCookie];
    for (const part of parts) for (const token of part.match(TOKEN) ?? []) this.#learn(token);
    const replace = (value: string): string => {
      let out = value.replace(TOKEN, (t) => this.#tokens.get(t) ?? '<unknown token>');
      // Longest first, so no id is replaced inside a longer one.
      for (const [id, name] of [...this.#ids].sort((a, b) => b[0].length - a[0].length)) out = out.split(id).join(name);
      return out;
    };
    const header = (name: string): string | null => {
      const value = answer.header(name);
      return value === null ? null : replace(value);
    };
    return {
      status: answer.status,
      body: replace(answer.text),
      contentType: header('content-type'),
      wwwAuthenticate: header('www-authenticate'),
      cacheControl: header('cache-control'),
      pragma: header('pragma'),
      handledBy: header(HANDLED_BY),
      setCookie: answer.setCookie.map(replace),
    };
  }

  #learn(token: string): void {
    if (this.#tokens.has(token)) return;
    this.#tokens.set(token, `<token ${this.#tokens.size + 1}>`);
    const claims = claimsOf(token);
    for (const name of ['jti', 'sid', 'csrf']) {
      const id = claims[name];
      if (typeof id === 'string' && !this.#ids.has(id)) this.#ids.set(id, `<id ${this.#ids.size + 1}>`);
    }
  }
}

interface ScriptContext {
  url: string;
  clock: ReturnType<typeof fixedClock>;
  keys: SuiteKeys;
  /** Values carried from step to step (tokens, cookie headers). */
  vars: Map<string, string>;
}

interface Step {
  name: string;
  run(c: ScriptContext): Promise<Answer>;
  /** Sends a header twice, which a Web `Headers` object joins (see AdapterUnderTest.webHeaders). */
  mergedHeaders?: true;
}

const v = (c: ScriptContext, name: string): string => c.vars.get(name) ?? '';

function keep(c: ScriptContext, answer: Answer, prefix: string): Answer {
  for (const [field, value] of Object.entries(answer.json)) if (typeof value === 'string') c.vars.set(`${prefix}.${field}`, value);
  c.vars.set(`${prefix}.cookie`, cookieHeader(jarOf(answer.setCookie)));
  return answer;
}

const loginJson = (username: string, transport: Transport): Req => ({ json: { username, password: PASSWORD, transport } });

/** The requests compared across frameworks, in order; later steps use what earlier ones kept. */
const SCRIPT: readonly Step[] = [
  { name: 'login, bearer', run: async (c) => keep(c, await send(c.url, '/auth/login', loginJson('ada', 'bearer')), 'b') },
  { name: 'GET /me with Bearer', run: (c) => send(c.url, '/me', { bearer: v(c, 'b.access_token') }) },
  { name: 'GET /me without a token', run: (c) => send(c.url, '/me') },
  { name: 'GET /me with a garbage token', run: (c) => send(c.url, '/me', { bearer: 'abc.def.ghi' }) },
  {
    name: 'GET /me with alg none',
    run: (c) =>
      send(c.url, '/me', { bearer: withSignature({ alg: 'none', typ: 'at+jwt', kid: c.keys.access.kid }, claimsOf(v(c, 'b.access_token')), '') }),
  },
  { name: 'GET /me with "Basic x, Bearer y"', run: (c) => send(c.url, '/me', { authorization: `Basic eDp5, Bearer ${v(c, 'b.access_token')}` }) },
  {
    name: 'GET /me with two Authorization headers (raw)',
    mergedHeaders: true,
    run: (c) =>
      rawRequest(c.url, 'GET /me HTTP/1.1', [
        ['Authorization', `Bearer ${v(c, 'b.access_token')}`],
        ['Authorization', 'Bearer abc.def.ghi'],
      ]),
  },
  { name: 'GET /optional without a token', run: (c) => send(c.url, '/optional') },
  { name: 'GET /optional with Bearer', run: (c) => send(c.url, '/optional', { bearer: v(c, 'b.access_token') }) },
  { name: 'POST /fresh with a login token', run: (c) => send(c.url, '/fresh', { method: 'POST', bearer: v(c, 'b.access_token') }) },
  { name: 'login bob', run: async (c) => keep(c, await send(c.url, '/auth/login', loginJson('bob', 'bearer')), 'bob') },
  { name: 'GET /admin as bob', run: (c) => send(c.url, '/admin', { bearer: v(c, 'bob.access_token') }) },
  { name: 'GET /admin as ada', run: (c) => send(c.url, '/admin', { bearer: v(c, 'b.access_token') }) },
  { name: 'GET /scoped as bob', run: (c) => send(c.url, '/scoped', { bearer: v(c, 'bob.access_token') }) },
  { name: 'GET /scoped as ada', run: (c) => send(c.url, '/scoped', { bearer: v(c, 'b.access_token') }) },
  {
    name: 'refresh, bearer body',
    run: async (c) => keep(c, await send(c.url, '/auth/refresh', { json: { refresh_token: v(c, 'b.refresh_token') } }), 'b2'),
  },
  { name: 'POST /fresh with a refreshed token', run: (c) => send(c.url, '/fresh', { method: 'POST', bearer: v(c, 'b2.access_token') }) },
  { name: 'POST /refresh-only with a refresh token', run: (c) => send(c.url, '/refresh-only', { method: 'POST', bearer: v(c, 'b2.refresh_token') }) },
  { name: 'POST /refresh-only with an access token', run: (c) => send(c.url, '/refresh-only', { method: 'POST', bearer: v(c, 'b2.access_token') }) },
  { name: 'login, cookie', run: async (c) => keep(c, await send(c.url, '/auth/login', loginJson('ada', 'cookie')), 'c') },
  { name: 'GET /me with the cookie', run: (c) => send(c.url, '/me', { cookie: v(c, 'c.cookie') }) },
  { name: 'POST /me with the cookie, no CSRF', run: (c) => send(c.url, '/me', { method: 'POST', cookie: v(c, 'c.cookie') }) },
  {
    name: 'POST /me with the cookie, cross-site Origin',
    run: (c) => send(c.url, '/me', { method: 'POST', cookie: v(c, 'c.cookie'), csrf: v(c, 'c.csrf_token'), headers: { origin: EVIL } }),
  },
  {
    name: 'POST /me with the cookie and CSRF',
    run: (c) => send(c.url, '/me', { method: 'POST', cookie: v(c, 'c.cookie'), csrf: v(c, 'c.csrf_token') }),
  },
  {
    name: 'refresh, cookie',
    run: async (c) => keep(c, await send(c.url, '/auth/refresh', { method: 'POST', cookie: v(c, 'c.cookie'), csrf: v(c, 'c.csrf_token') }), 'c2'),
  },
  { name: 'login, hybrid', run: async (c) => keep(c, await send(c.url, '/auth/login', loginJson('ada', 'hybrid')), 'h') },
  {
    name: 'refresh, hybrid',
    run: async (c) => keep(c, await send(c.url, '/auth/refresh', { method: 'POST', cookie: v(c, 'h.cookie'), csrf: v(c, 'h.csrf_token') }), 'h2'),
  },
  {
    name: 'refresh, reused after the grace window',
    run: (c) => {
      c.clock.advance((GRACE + 1) * 1000);
      return send(c.url, '/auth/refresh', { json: { refresh_token: v(c, 'b.refresh_token') } });
    },
  },
  { name: 'GET /me with the access token of a reused session', run: (c) => send(c.url, '/me', { bearer: v(c, 'b2.access_token') }) },
  { name: 'logout, cookie', run: (c) => send(c.url, '/auth/logout', { method: 'POST', cookie: v(c, 'c2.cookie'), csrf: v(c, 'c.csrf_token') }) },
  { name: 'logout, garbage Bearer', run: (c) => send(c.url, '/auth/logout', { method: 'POST', bearer: 'abc.def.ghi' }) },
  { name: 'logout, no token', run: (c) => send(c.url, '/auth/logout', { method: 'POST' }) },
  { name: 'login, wrong password', run: (c) => send(c.url, '/auth/login', { json: { username: 'ada', password: 'nope' } }) },
  { name: 'login, malformed JSON', run: (c) => send(c.url, '/auth/login', { body: '{"username":' }) },
  {
    name: 'login, form body',
    run: (c) => send(c.url, '/auth/login', { body: 'username=ada&password=correct+horse', contentType: 'application/x-www-form-urlencoded' }),
  },
  { name: 'login, text/plain body', run: (c) => send(c.url, '/auth/login', { body: '{"username":"ada"}', contentType: 'text/plain' }) },
  { name: 'login, 20 KiB body', run: (c) => send(c.url, '/auth/login', { json: { pad: 'x'.repeat(20 * 1024) } }) },
  {
    name: 'GET /me with an expired token',
    run: (c) => {
      c.clock.advance(ACCESS_TTL * 1000);
      return send(c.url, '/me', { bearer: v(c, 'h2.access_token') });
    },
  },
];

/** Refusals of every kind with `errors: 'throw'`: each goes through the app's own error handler, alike everywhere. */
const THROWN_SCRIPT: readonly Step[] = [
  { name: 'login bob', run: async (c) => keep(c, await send(c.url, '/auth/login', loginJson('bob', 'bearer')), 'bob') },
  { name: 'GET /me without a token', run: (c) => send(c.url, '/me') },
  { name: 'GET /me with a garbage token', run: (c) => send(c.url, '/me', { bearer: 'abc.def.ghi' }) },
  { name: 'GET /scoped as bob', run: (c) => send(c.url, '/scoped', { bearer: v(c, 'bob.access_token') }) },
  { name: 'GET /admin as bob', run: (c) => send(c.url, '/admin', { bearer: v(c, 'bob.access_token') }) },
  { name: 'POST /fresh with a refresh token', run: (c) => send(c.url, '/fresh', { method: 'POST', bearer: v(c, 'bob.refresh_token') }) },
  { name: 'login, wrong password', run: (c) => send(c.url, '/auth/login', { json: { username: 'ada', password: 'nope' } }) },
  { name: 'refresh, no token', run: (c) => send(c.url, '/auth/refresh', { method: 'POST' }) },
  {
    name: 'logout, garbage refresh cookie',
    run: (c) => send(c.url, '/auth/logout', { method: 'POST', cookie: '__Secure-tessera-refresh=abc.def.ghi' }),
  },
  { name: 'GET /me as bob (no refusal)', run: (c) => send(c.url, '/me', { bearer: v(c, 'bob.access_token') }) },
];

/**
 * Runs SCRIPT against every adapter (each its own Tessera with the same keys, store kind and clock
 * start) and compares, step by step, status, body, content-type, WWW-Authenticate, Cache-Control,
 * Pragma and Set-Cookie byte for byte, with tokens and random ids replaced by numbered placeholders.
 */
export function describeAdapterEquivalence(apps: readonly AdapterUnderTest[]): void {
  describe(`adapter equivalence: ${apps.map((a) => a.name).join(', ')}`, () => {
    const transcripts = new Map<string, Normalized[]>();
    const thrown = new Map<string, Normalized[]>();

    beforeAll(async () => {
      const keys = await suiteKeys();
      const record = async (adapter: AdapterUnderTest, options: AdapterOptions<User>, script: readonly Step[]): Promise<Normalized[]> => {
        const clock = fixedClock(T0);
        const auth = suiteTessera(keys, clock);
        const app = await adapter.make(auth, options);
        try {
          const context: ScriptContext = { url: app.url, clock, keys, vars: new Map() };
          const placeholders = new Placeholders();
          const transcript: Normalized[] = [];
          for (const step of script) transcript.push(placeholders.normalize(await step.run(context)));
          return transcript;
        } finally {
          await app.close();
          await auth.close();
        }
      };
      for (const adapter of apps) {
        transcripts.set(adapter.name, await record(adapter, { lookupUser }, SCRIPT));
        thrown.set(adapter.name, await record(adapter, { lookupUser, errors: 'throw' }, THROWN_SCRIPT));
      }
    });

    it.each(THROWN_SCRIPT.map((step, index) => ({ name: step.name, index })))("errors: 'throw': $name", ({ index }) => {
      const [first, ...rest] = apps.map((a) => ({ name: a.name, answer: thrown.get(a.name)?.[index] }));
      expect(first?.answer).toBeDefined();
      expect(first?.answer?.status).toBeLessThan(500);
      // Every refusal went through the app's own handler; the one success did not.
      expect(first?.answer?.handledBy === null).toBe(first?.answer?.status === 200);
      for (const other of rest) expect({ [other.name]: other.answer }).toEqual({ [other.name]: first?.answer });
    });

    it.each(SCRIPT.map((step, index) => ({ name: step.name, index })))('$name', ({ index }) => {
      const [first, ...rest] = apps.map((a) => ({ name: a.name, answer: transcripts.get(a.name)?.[index] }));
      expect(first?.answer).toBeDefined();
      expect(first?.answer?.status).toBeLessThan(500);
      // Joined by Web Headers, the pair is the same refusal (status, code, challenge) in other words.
      const loose = (name: string) => SCRIPT[index]?.mergedHeaders === true && apps.find((a) => a.name === name)?.webHeaders === true;
      const gist = (a: Normalized | undefined) =>
        a && { ...a, body: (JSON.parse(a.body) as { error?: unknown }).error, wwwAuthenticate: a.wwwAuthenticate?.split(',')[0] ?? null };
      for (const other of rest) {
        const pick = loose(other.name) ? gist : (a: Normalized | undefined) => a;
        expect({ [other.name]: pick(other.answer) }).toEqual({ [other.name]: pick(first?.answer) });
      }
    });
  });
}
