// Fuzzing (fast-check) of a listening server: the JSON body of every endpoint that takes one, and
// the Authorization and Cookie headers. Properties: no 5xx and no stack trace on any input (the test
// kit's `call` fails on those), the process survives, and nothing is ever accepted that is not a genuine
// credential (an oracle says when a 2xx is legitimate). Sized to stay within ~30 s on 2 cores.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  loginSession as login,
  PASSWORD,
  rawCall,
  refresh,
  register,
  sqliteBackend,
  uniqueName,
  type Backend,
  type CookieNames,
  type Session,
} from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { startServer } from './support.js';

let backend: Backend;
let server: TestServer;
let url: string;
let names: CookieNames;
/** The protected sessions: fuzzed requests never carry their refresh tokens, so they must survive everything. */
let bearer: Session;
let cookie: Session;
let hybrid: Session;
/** Sessions whose tokens the fuzzer may send (and so rotate or end). */
let exposed: Session;
let exposedCookie: Session;
let user: { id: string; username: string };
/** Every genuine token the fuzzer may send: the only ones a 2xx may ever follow. */
const genuine = new Set<string>();

const B64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];
/** Visible ASCII and Latin-1: what fetch lets through in a header value. */
const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...B64URL, '.', ' ', '=', '+', '/', ';', ',', '"') },
  { weight: 2, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)) },
);
const headerText = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: headerChar, maxLength });

beforeAll(async () => {
  backend = sqliteBackend();
  server = await startServer({ ...backend.env, TESSERA_MAX_SESSIONS: '0' });
  url = server.url;
  names = server.runtime.auth.config.cookies.names;
  user = await register(url, uniqueName('fz'));
  [bearer, cookie, hybrid, exposed, exposedCookie] = await Promise.all([
    login(url, user.username, 'bearer', names),
    login(url, user.username, 'cookie', names),
    login(url, user.username, 'hybrid', names),
    login(url, user.username, 'bearer', names),
    login(url, user.username, 'cookie', names),
  ]);
  for (const s of [bearer, cookie, hybrid]) genuine.add(s.access);
  genuine.add(exposed.access).add(exposed.refresh).add(exposedCookie.access);
});

afterAll(async () => {
  await server?.close();
  await backend?.cleanup();
});

/** Member names the routes read, and the ones that pollute prototypes. */
const KEYS = [
  'username',
  'password',
  'transport',
  'refresh_token',
  'access_token',
  'current_password',
  'new_password',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
];

/** Values worth putting in those members: the real ones now and then, and hostile shapes. */
const value = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom('bearer', 'cookie', 'hybrid', 'BEARER', PASSWORD, PASSWORD.toUpperCase(), '', ' ', '\u0000', '\u202e') },
    { weight: 1, arbitrary: fc.constant(null).map(() => user.username) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...B64URL, '.'), maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constantFrom(1e308, -0, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 'x'.repeat(5000)) },
  );

/** A request body as text: JSON objects over the known keys, any JSON, or arbitrary text. */
const body = (extraKeys: readonly string[] = []): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .dictionary(fc.oneof(fc.constantFrom(...KEYS, ...extraKeys), fc.string({ maxLength: 8 })), value(), { maxKeys: 5 })
        .map((o) => JSON.stringify(o)),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"username":', '[', '"', '{"a":1,}', 'null', '', '{}'.repeat(3)) },
  );

function parsed(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Whether a login body carries the real credentials, as the server canonicalises them. */
function realCredentials(fields: Record<string, unknown>): boolean {
  const { username, password } = fields;
  return (
    typeof username === 'string' &&
    typeof password === 'string' &&
    username.normalize('NFKC').toLowerCase().normalize('NFKC') === user.username &&
    password.normalize('NFKC') === PASSWORD
  );
}

/** The values a Cookie header gives `name`, names and values trimmed as RFC 6265 §5.2 parsers do. */
function cookieValues(header: string, name: string): string[] {
  return header
    .split(';')
    .filter((part) => part.includes('=') && part.slice(0, part.indexOf('=')).trim() === name)
    .map((part) => part.slice(part.indexOf('=') + 1).trim());
}

const RUNS = { cheap: 400, hashed: 120 };

describe('fuzzed JSON bodies: no 5xx, nothing accepted that should not be', () => {
  it('POST /auth/login: 200 only for the real credentials', async () => {
    await fc.assert(
      fc.asyncProperty(body(), async (text) => {
        const reply = await call(url, 'POST', '/auth/login', { body: text });
        if (reply.status === 200) expect(realCredentials(parsed(text)), text).toBe(true);
        else expect(reply.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: RUNS.hashed },
    );
  });

  it('POST /auth/register: 201 or a 4xx, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(body(), async (text) => {
        const reply = await call(url, 'POST', '/auth/register', { body: text });
        expect(reply.status === 201 || (reply.status >= 400 && reply.status < 500), reply.text).toBe(true);
        if (reply.status === 201) expect(Object.keys(reply.json).sort()).toEqual(['id', 'username']);
      }),
      { numRuns: RUNS.hashed },
    );
  });

  it('POST /auth/refresh: 200 only for a genuine refresh token', async () => {
    await fc.assert(
      fc.asyncProperty(body(), fc.boolean(), async (text, plant) => {
        // Now and then the genuine exposed token is planted, so the success path is fuzzed too.
        const fields = parsed(text);
        const sent = plant ? JSON.stringify({ ...fields, refresh_token: exposed.refresh }) : text;
        const reply = await call(url, 'POST', '/auth/refresh', { body: sent });
        if (reply.status === 200) {
          expect(genuine.has(String(parsed(sent).refresh_token)), sent).toBe(true);
          const next = reply.json as { access_token: string; refresh_token: string };
          genuine.add(next.access_token).add(next.refresh_token);
          exposed = { ...exposed, access: next.access_token, refresh: next.refresh_token };
        } else expect(reply.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('POST /auth/logout and /auth/logout-all without a protected credential end no protected session', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/auth/logout', '/auth/logout-all'), body(), async (path, text) => {
        const reply = await call(url, 'POST', path, { body: text });
        expect([204, 400, 401, 403, 413, 415, 422]).toContain(reply.status);
      }),
      { numRuns: RUNS.cheap },
    );
    for (const s of [bearer, hybrid]) expect((await call(url, 'GET', '/auth/me', { bearer: s.access })).status).toBe(200);
  });

  it('POST /auth/password with a fresh token: never 200 without the current password, never a 5xx', async () => {
    const username = uniqueName('pw');
    await register(url, username);
    const s = await login(url, username, 'bearer', names);
    await fc.assert(
      fc.asyncProperty(body(), async (text) => {
        const reply = await call(url, 'POST', '/auth/password', { body: text, bearer: s.access });
        // The fuzzer's values never hold this user's password except by the PASSWORD constant.
        if (reply.status === 200) expect(parsed(text).current_password, text).toBe(PASSWORD);
        else expect(reply.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: RUNS.hashed },
    );
  });

  it('DELETE /auth/sessions/:id with fuzzed ids: 404 for anything not the caller’s', async () => {
    const stranger = await login(url, (await register(url, uniqueName('st'))).username, 'bearer', names);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: fc.constantFrom(...B64URL), minLength: 22, maxLength: 22 })),
        async (id) => {
          const reply = await call(url, 'DELETE', `/auth/sessions/${encodeURIComponent(id)}`, { bearer: stranger.access });
          expect([400, 404, 422]).toContain(reply.status);
        },
      ),
      { numRuns: RUNS.cheap },
    );
    expect((await call(url, 'GET', '/auth/me', { bearer: stranger.access })).status).toBe(200);
  });
});

describe('fuzzed Authorization and Cookie headers', () => {
  /** One random edit of a token: replace, insert or delete a character, or shuffle its segments. */
  const mutation = (token: string): fc.Arbitrary<string> =>
    fc.oneof(
      fc
        .tuple(fc.nat({ max: token.length - 1 }), fc.constantFrom(...B64URL, '.', '=', '+', '/'))
        .map(([i, c]) => token.slice(0, i) + c + token.slice(i + 1)),
      fc.tuple(fc.nat({ max: token.length }), fc.constantFrom(...B64URL, '.', '=')).map(([i, c]) => token.slice(0, i) + c + token.slice(i)),
      fc.nat({ max: token.length - 1 }).map((i) => token.slice(0, i) + token.slice(i + 1)),
      fc.shuffledSubarray(token.split('.'), { minLength: 1 }).map((segments) => segments.join('.')),
      fc.constantFrom(`${token}=`, `${token}.`, `.${token}`, token.toUpperCase(), token.toLowerCase()),
    );

  it('a mutated genuine access token is never accepted (Authorization and cookie)', async () => {
    await fc.assert(
      fc.asyncProperty(mutation(bearer.access), fc.boolean(), async (token, asCookie) => {
        const reply = await call(url, 'GET', '/auth/me', asCookie ? { cookies: { [names.access]: token } } : { authorization: `Bearer ${token}` });
        if (token === bearer.access) expect(reply.status).toBe(200);
        else expect([400, 401]).toContain(reply.status);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('any Authorization value: 200 only for "Bearer" + a genuine access token', async () => {
    const scheme = fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', 'Bearer\t', 'Basic ', 'Bearer', '', 'Token ', 'Bearer , Bearer ');
    await fc.assert(
      fc.asyncProperty(
        scheme,
        fc.oneof(headerText(120), fc.constantFrom(...genuine), mutation(bearer.access)),
        headerText(8),
        async (s, token, tail) => {
          const header = `${s}${token}${tail}`.trim();
          const reply = await call(url, 'GET', '/auth/me', { authorization: header });
          const match = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
          if (reply.status === 200) expect(match !== null && genuine.has(match[1] ?? ''), header).toBe(true);
          else expect([400, 401]).toContain(reply.status);
        },
      ),
      { numRuns: RUNS.cheap },
    );
  });

  it('any Cookie header: 200 only when it carries a genuine access cookie; refresh only with the genuine cookie and CSRF', async () => {
    const cookiePart = fc.oneof(
      fc
        .tuple(
          fc.constantFrom(names.access, names.refresh, names.csrf, '__Host-tessera-access ', 'tessera-access'),
          fc.oneof(headerText(60), fc.constantFrom(exposedCookie.access, exposedCookie.refresh, exposedCookie.csrf ?? '')),
        )
        .map(([n, v]) => `${n}=${v}`),
      headerText(40),
    );
    const cookieHeader = fc.array(cookiePart, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('; '));
    await fc.assert(
      fc.asyncProperty(cookieHeader, fc.oneof(fc.constant(exposedCookie.csrf ?? ''), headerText(30)), async (header, csrf) => {
        const reply = await call(url, 'GET', '/auth/me', { headers: { cookie: header } });
        if (reply.status === 200) expect(cookieValues(header, names.access), header).toContain(exposedCookie.access);
        else expect([400, 401]).toContain(reply.status);
        // Refresh answers only with the genuine refresh cookie AND the session's CSRF value.
        const rotated = await call(url, 'POST', '/auth/refresh', { headers: { cookie: header, 'x-csrf-token': csrf }, json: {} });
        if (rotated.status === 200) {
          expect(cookieValues(header, names.refresh), header).toContain(exposedCookie.refresh);
          expect(csrf).toBe(exposedCookie.csrf);
        } else expect([400, 401, 403]).toContain(rotated.status);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it('arbitrary bytes in Authorization and Cookie over a raw socket: a 4xx, and the server lives', async () => {
    const bytes = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 200 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('Authorization', 'Cookie', 'X-CSRF-Token', 'Origin'), bytes, async (name, text) => {
        const reply = await rawCall(url, 'POST /auth/refresh HTTP/1.1', [[name, text]]);
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(reply.status).toBeLessThan(500);
      }),
      { numRuns: 120 },
    );
  });

  it('after all of it the process answers and the protected sessions are intact', async () => {
    expect((await call(url, 'GET', '/healthz')).status).toBe(200);
    for (const s of [bearer, hybrid]) expect((await call(url, 'GET', '/auth/me', { bearer: s.access })).status).toBe(200);
    expect((await call(url, 'GET', '/auth/me', { cookies: cookie.jar })).status).toBe(200);
    await refresh(url, bearer, names);
  });
});
