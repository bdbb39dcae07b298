import { describe, expect, it } from 'vitest';
import { fixedClock } from '../clock.js';
import { CsrfError, FreshTokenRequiredError, InsufficientScopeError, OriginRefusedError, TesseraError } from '../errors.js';
import { generateKey, generateRefreshKey } from '../keys/key.js';
import type { AuthRequest } from './request.js';
import { createTessera } from '../tessera.js';
import { TokenVerifier } from '../tokens/verify.js';
import { authenticateRequest } from './guard.js';

const START = Date.UTC(2030, 0, 1);
const keys = await generateKey('EdDSA');
const refreshKey = await generateRefreshKey();
const auth = createTessera({
  keys,
  refreshKey,
  clock: fixedClock(START),
  additionalClaims: ({ kind }) => (kind === 'access' ? { role: 'editor', roles: ['reader', 'writer'], level: 3, beta: true } : {}),
});
const names = auth.config.cookies.names;

const pair = auth.createTokenPair({ sub: 'alice', csrf: true, fresh: true });
const csrf = pair.csrf as string;
const access = pair.access.token;
const refresh = pair.refresh.token;

function bearer(token: string): string[] {
  return ['Authorization', `Bearer ${token}`];
}

async function rejection(promise: Promise<unknown>): Promise<TesseraError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TesseraError) return err;
    throw err;
  }
  throw new Error('expected a TesseraError, but the promise resolved');
}

/** A tessera with its own clock, for tests that move time (the verified-token cache is per instance). */
function timed() {
  const clock = fixedClock(START);
  return { clock, tessera: createTessera({ keys, refreshKey, clock }) };
}

describe('authenticate: kinds', () => {
  it('requires an access token by default and returns who is calling', async () => {
    const result = await auth.authenticate({ method: 'GET', headers: bearer(access) });
    expect(result).toEqual({ kind: 'access', token: access, claims: pair.access.claims, sub: 'alice', sid: pair.sid, location: 'header' });
  });

  it('refuses a refresh token where an access token is required', async () => {
    expect((await rejection(auth.authenticate({ method: 'GET', headers: bearer(refresh) }))).code).toBe('token_type_invalid');
  });

  it('accepts a refresh token when asked for one', async () => {
    const result = await auth.authenticate({ method: 'POST', headers: bearer(refresh) }, { token: 'refresh' });
    expect(result.kind).toBe('refresh');
    expect(result.claims.type).toBe('refresh');
    expect(result.sub).toBe('alice');
    expect(result.sid).toBe(pair.sid);
    expect(result.location).toBe('header');
  });

  it('refuses an access token when a refresh token is required', async () => {
    const err = await rejection(auth.authenticate({ method: 'POST', headers: [], body: { refresh_token: access } }, { token: 'refresh' }));
    expect(err.code).toBe('token_type_invalid');
  });

  it('refuses a request with no token: token_missing', async () => {
    const err = await rejection(auth.authenticate({ method: 'GET', headers: [] }));
    expect(err.code).toBe('token_missing');
    expect(err.status).toBe(401);
  });

  it('never puts the token in an error message', async () => {
    const tampered = `${access.slice(0, -4)}AAAA`;
    const err = await rejection(auth.authenticate({ method: 'GET', headers: bearer(tampered) }));
    expect(err.code).toBe('token_invalid');
    expect(err.message).not.toContain(tampered.split('.')[2] as string);
  });
});

describe('authenticate: optional', () => {
  it('resolves to null when no token was sent', async () => {
    await expect(auth.authenticate({ method: 'GET', headers: [] }, { optional: true })).resolves.toBeNull();
    await expect(auth.authenticate({ method: 'GET', headers: ['Authorization', 'Basic dXNlcjpwYXNz'] }, { optional: true })).resolves.toBeNull();
  });

  it('still returns the caller when a good token was sent', async () => {
    const result = await auth.authenticate({ method: 'GET', headers: bearer(access) }, { optional: true });
    expect(result?.sub).toBe('alice');
  });

  it('still refuses a bad token', async () => {
    const err = await rejection(auth.authenticate({ method: 'GET', headers: bearer(`${access.slice(0, -4)}AAAA`) }, { optional: true }));
    expect(err.code).toBe('token_invalid');
  });

  it('still refuses an expired token', async () => {
    const { clock, tessera } = timed();
    const token = tessera.createAccessToken({ sub: 'alice' }).token;
    // Verified once first, so that the verified-token cache must also refuse it later.
    await tessera.authenticate({ method: 'GET', headers: bearer(token) });
    clock.advance(tessera.config.accessTtl * 1000);
    expect((await rejection(tessera.authenticate({ method: 'GET', headers: bearer(token) }, { optional: true }))).code).toBe('token_expired');
  });

  it('still refuses a malformed header, a malformed token or a conflict', async () => {
    const malformedHeader = await rejection(auth.authenticate({ method: 'GET', headers: ['Authorization', 'Bearer'] }, { optional: true }));
    expect(malformedHeader.code).toBe('invalid_request');
    const malformedToken = await rejection(auth.authenticate({ method: 'GET', headers: bearer('abc') }, { optional: true }));
    expect(malformedToken.code).toBe('token_invalid');
    const other = auth.createAccessToken({ sub: 'bob' }).token;
    const conflict = await rejection(
      auth.authenticate({ method: 'GET', headers: ['Cookie', `${names.access}=${access}; ${names.access}=${other}`] }, { optional: true }),
    );
    expect(conflict.code).toBe('token_conflict');
  });
});

describe('authenticate: fresh', () => {
  it('accepts a token from a login (fresh: true)', async () => {
    const result = await auth.authenticate({ method: 'POST', headers: bearer(access) }, { fresh: true });
    expect(result.claims.fresh).toBe(true);
  });

  it('refuses a token from a refresh (fresh: false) or without the claim', async () => {
    for (const input of [{ sub: 'alice', fresh: false }, { sub: 'alice' }]) {
      const token = auth.createAccessToken(input).token;
      const err = await rejection(auth.authenticate({ method: 'POST', headers: bearer(token) }, { fresh: true }));
      expect(err).toBeInstanceOf(FreshTokenRequiredError);
      expect(err.code).toBe('fresh_token_required');
      expect(err.status).toBe(401);
    }
  });

  it('does not ask for freshness unless told to', async () => {
    const token = auth.createAccessToken({ sub: 'alice', fresh: false }).token;
    await expect(auth.authenticate({ method: 'POST', headers: bearer(token) })).resolves.toMatchObject({ sub: 'alice' });
  });
});

describe('authenticate: claims', () => {
  const get: AuthRequest = { method: 'GET', headers: bearer(access) };

  it('accepts claims equal to the required values', async () => {
    await expect(auth.authenticate(get, { claims: { role: 'editor', level: 3, beta: true, sub: 'alice' } })).resolves.toMatchObject({ sub: 'alice' });
  });

  it('accepts an array claim that contains the required value', async () => {
    await expect(auth.authenticate(get, { claims: { roles: 'writer' } })).resolves.toMatchObject({ sub: 'alice' });
  });

  it.each([
    ['a different value', { role: 'admin' }],
    ['an array without the value', { roles: 'admin' }],
    ['a claim the token lacks', { tenant: 'acme' }],
    ['the same value of another type', { level: '3' }],
    ['a prototype property', { toString: 'x' }],
    ['one of several requirements unmet', { role: 'editor', beta: false }],
  ])('refuses %s: insufficient_scope', async (_label, claims) => {
    const err = await rejection(auth.authenticate(get, { claims }));
    expect(err).toBeInstanceOf(InsufficientScopeError);
    expect(err.code).toBe('insufficient_scope');
    expect(err.status).toBe(403);
  });

  it('accepts a predicate that returns true and refuses one that returns false', async () => {
    await expect(auth.authenticate(get, { claims: (c) => c.level === 3 })).resolves.toMatchObject({ sub: 'alice' });
    expect((await rejection(auth.authenticate(get, { claims: (c) => c.level === 4 }))).code).toBe('insufficient_scope');
  });

  it('passes the verified claims to the predicate', async () => {
    const seen: unknown[] = [];
    await auth.authenticate(get, {
      claims: (c) => {
        seen.push(c);
        return true;
      },
    });
    expect(seen).toEqual([pair.access.claims]);
  });

  it('names what was missing: the claim and the value wanted', async () => {
    const messages = await Promise.all(
      [{ roles: 'admin' }, { role: 'admin' }, { tenant: 'acme' }].map(
        async (claims) => (await rejection(auth.authenticate(get, { claims }))).message,
      ),
    );
    expect(messages).toEqual([
      'The token\'s roles claim does not include "admin"',
      'The token\'s role claim is not "admin"',
      'The token\'s tenant claim is missing; it must be "acme"',
    ]);
    const own = new InsufficientScopeError({ message: 'Only the owner of this tenant may do this' });
    expect(
      (
        await rejection(
          auth.authenticate(get, {
            claims: () => {
              throw own;
            },
          }),
        )
      ).message,
    ).toBe('Only the owner of this tenant may do this');
  });

  it('checks claims only after the token is verified', async () => {
    const err = await rejection(auth.authenticate({ method: 'GET', headers: bearer(refresh) }, { claims: () => true }));
    expect(err.code).toBe('token_type_invalid');
  });
});

describe('authenticate: scope (RFC 9068 §2.2.3, RFC 6750 §3)', () => {
  const scoped = auth.createTokenPair({ sub: 'alice', claims: { scope: 'docs:read  docs:write' } }).access.token;
  const arrayScoped = auth.createTokenPair({ sub: 'alice', claims: { scope: ['docs:read'] } }).access.token;
  const get = (token: string): AuthRequest => ({ method: 'GET', headers: bearer(token) });

  it('passes when every required scope is in the space-separated scope claim (or an array of them)', async () => {
    await expect(auth.authenticate(get(scoped), { scope: 'docs:read' })).resolves.toMatchObject({ sub: 'alice' });
    await expect(auth.authenticate(get(scoped), { scope: ['docs:write', 'docs:read'] })).resolves.toMatchObject({ sub: 'alice' });
    await expect(auth.authenticate(get(scoped), { scope: 'docs:read docs:write' })).resolves.toMatchObject({ sub: 'alice' });
    await expect(auth.authenticate(get(arrayScoped), { scope: 'docs:read' })).resolves.toMatchObject({ sub: 'alice' });
  });

  it('refuses with insufficient_scope naming the missing scopes, and carries the scopes required for the challenge', async () => {
    const err = await rejection(auth.authenticate(get(scoped), { scope: ['docs:read', 'docs:admin', 'users:read'] }));
    expect(err).toBeInstanceOf(InsufficientScopeError);
    expect(err.message).toBe('The token lacks the scopes "docs:admin", "users:read"');
    expect((err as InsufficientScopeError).scope).toBe('docs:read docs:admin users:read');
    // No scope claim at all, and scope text that only contains the name: refused alike.
    const none = await rejection(auth.authenticate({ method: 'GET', headers: bearer(access) }, { scope: 'docs:read' }));
    expect(none.message).toBe('The token lacks the scope "docs:read"');
    const partial = auth.createTokenPair({ sub: 'alice', claims: { scope: 'docs:reader' } }).access.token;
    expect((await rejection(auth.authenticate(get(partial), { scope: 'docs:read' }))).code).toBe('insufficient_scope');
  });
});

describe('authenticate: cookies, Origin and CSRF', () => {
  const cookie = ['Cookie', `${names.access}=${access}`, 'Host', 'api.example'];

  it('needs no CSRF header for a cookie on a safe method', async () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'get']) {
      const result = await auth.authenticate({ method, headers: cookie, protocol: 'https' });
      expect(result.location).toBe('cookie');
    }
  });

  it('does not check Origin on a safe method', async () => {
    const result = await auth.authenticate({ method: 'GET', headers: [...cookie, 'Origin', 'https://evil.example'], protocol: 'https' });
    expect(result.location).toBe('cookie');
  });

  it('accepts a cookie on POST with the own Origin and the CSRF header', async () => {
    const headers = [...cookie, 'Origin', 'https://api.example', 'X-CSRF-Token', csrf];
    const result = await auth.authenticate({ method: 'POST', headers, protocol: 'https' });
    expect(result).toMatchObject({ sub: 'alice', sid: pair.sid, location: 'cookie', token: access });
  });

  it('accepts a cookie on POST with no Origin and the CSRF header (the Node client)', async () => {
    const result = await auth.authenticate({ method: 'DELETE', headers: [...cookie, 'X-CSRF-Token', csrf], protocol: 'https' });
    expect(result.location).toBe('cookie');
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('refuses a cookie on %s without the CSRF header', async (method) => {
    const err = await rejection(auth.authenticate({ method, headers: [...cookie, 'Origin', 'https://api.example'], protocol: 'https' }));
    expect(err).toBeInstanceOf(CsrfError);
    expect(err.code).toBe('csrf_failed');
  });

  it('refuses a cookie on POST with a wrong CSRF header', async () => {
    const err = await rejection(auth.authenticate({ method: 'POST', headers: [...cookie, 'X-CSRF-Token', `${csrf}x`], protocol: 'https' }));
    expect(err.code).toBe('csrf_failed');
  });

  it('refuses a cookie on POST from another origin, even with the right CSRF header', async () => {
    const headers = [...cookie, 'Origin', 'https://evil.example', 'X-CSRF-Token', csrf];
    const err = await rejection(auth.authenticate({ method: 'POST', headers, protocol: 'https' }));
    expect(err).toBeInstanceOf(OriginRefusedError);
    expect(err.code).toBe('origin_refused');
  });

  it('refuses a cookie on POST marked Sec-Fetch-Site: cross-site', async () => {
    const headers = [...cookie, 'Sec-Fetch-Site', 'cross-site', 'X-CSRF-Token', csrf];
    expect((await rejection(auth.authenticate({ method: 'POST', headers, protocol: 'https' }))).code).toBe('origin_refused');
  });

  it('refuses a cookie token issued without a CSRF value on POST', async () => {
    const plain = auth.createAccessToken({ sub: 'alice' }).token;
    const headers = ['Cookie', `${names.access}=${plain}`, 'X-CSRF-Token', csrf];
    expect((await rejection(auth.authenticate({ method: 'POST', headers }))).code).toBe('csrf_failed');
  });

  it('checks the refresh cookie on POST the same way', async () => {
    const refreshCookie = ['Cookie', `${names.refresh}=${refresh}`];
    await expect(
      auth.authenticate({ method: 'POST', headers: [...refreshCookie, 'X-CSRF-Token', csrf] }, { token: 'refresh' }),
    ).resolves.toMatchObject({
      location: 'cookie',
      kind: 'refresh',
    });
    expect((await rejection(auth.authenticate({ method: 'POST', headers: refreshCookie }, { token: 'refresh' }))).code).toBe('csrf_failed');
  });

  it('needs no CSRF header or Origin check for a header token on POST', async () => {
    const plain = auth.createAccessToken({ sub: 'alice' }).token;
    const headers = [...bearer(plain), 'Origin', 'https://evil.example'];
    const result = await auth.authenticate({ method: 'POST', headers, protocol: 'https' });
    expect(result.location).toBe('header');
  });

  it('needs no CSRF header for a body token on POST (a body is never sent by the browser on its own)', async () => {
    const result = await auth.authenticate({ method: 'POST', headers: [], body: { refresh_token: refresh } }, { token: 'refresh' });
    expect(result.location).toBe('body');
  });

  it('reads the configured CSRF header name', async () => {
    const custom = createTessera({ keys, refreshKey, clock: fixedClock(START), csrfHeader: 'X-XSRF-Token' });
    const p = custom.createTokenPair({ sub: 'alice', csrf: true });
    const base = ['Cookie', `${custom.config.cookies.names.access}=${p.access.token}`];
    await expect(custom.authenticate({ method: 'POST', headers: [...base, 'x-xsrf-token', p.csrf as string] })).resolves.toMatchObject({
      location: 'cookie',
    });
    expect((await rejection(custom.authenticate({ method: 'POST', headers: [...base, 'X-CSRF-Token', p.csrf as string] }))).code).toBe('csrf_failed');
  });

  it('passes the configured public origins and refuses the own origin then', async () => {
    const custom = createTessera({ keys, refreshKey, clock: fixedClock(START), publicOrigins: ['https://app.example'] });
    const p = custom.createTokenPair({ sub: 'alice', csrf: true });
    const base = ['Cookie', `${custom.config.cookies.names.access}=${p.access.token}`, 'Host', 'api.example', 'X-CSRF-Token', p.csrf as string];
    await expect(
      custom.authenticate({ method: 'POST', headers: [...base, 'Origin', 'https://app.example'], protocol: 'https' }),
    ).resolves.toMatchObject({
      location: 'cookie',
    });
    expect(
      (await rejection(custom.authenticate({ method: 'POST', headers: [...base, 'Origin', 'https://api.example'], protocol: 'https' }))).code,
    ).toBe('origin_refused');
  });
});

describe('authenticate: locations per call', () => {
  it('looks only where the call says', async () => {
    const onlyCookie = await rejection(auth.authenticate({ method: 'GET', headers: bearer(access) }, { locations: ['cookie'] }));
    expect(onlyCookie.code).toBe('token_missing');
    expect(onlyCookie.message).toContain(names.access);
    expect(onlyCookie.message).not.toContain('Authorization');
  });

  it('can read an access token from the body when told to', async () => {
    const result = await auth.authenticate({ method: 'POST', headers: [], body: { access_token: access } }, { locations: ['body'] });
    expect(result).toMatchObject({ location: 'body', sub: 'alice' });
    // The default access locations do not include the body.
    expect((await rejection(auth.authenticate({ method: 'POST', headers: [], body: { access_token: access } }))).code).toBe('token_missing');
  });

  it('ignores the header when the call lists only the cookie, and then needs CSRF', async () => {
    const other = auth.createAccessToken({ sub: 'bob' }).token;
    const headers = [...bearer(other), 'Cookie', `${names.access}=${access}`];
    const result = await auth.authenticate({ method: 'GET', headers }, { locations: ['cookie'] });
    expect(result).toMatchObject({ location: 'cookie', sub: 'alice' });
    expect((await rejection(auth.authenticate({ method: 'POST', headers }, { locations: ['cookie'] }))).code).toBe('csrf_failed');
  });
});

describe('authenticate: time', () => {
  it('accepts a token until its exp and refuses it from then on', async () => {
    const { clock, tessera } = timed();
    const token = tessera.createAccessToken({ sub: 'alice', ttl: 60 }).token;
    clock.advance(59_999);
    await expect(tessera.authenticate({ method: 'GET', headers: bearer(token) })).resolves.toMatchObject({ sub: 'alice' });
    clock.advance(1);
    expect((await rejection(tessera.authenticate({ method: 'GET', headers: bearer(token) }))).code).toBe('token_expired');
  });

  it('refuses a token issued in the future: token_not_yet_valid', async () => {
    const { clock, tessera } = timed();
    clock.advance(60_000);
    const token = tessera.createAccessToken({ sub: 'alice' }).token;
    clock.set(START);
    expect((await rejection(tessera.authenticate({ method: 'GET', headers: bearer(token) }))).code).toBe('token_not_yet_valid');
  });
});

describe("authenticateRequest with { expired: 'allow' } (the core's own, for logout)", () => {
  const allow = { expired: 'allow' } as const;

  it('passes an expired token and keeps every transport rule: a cookie on POST still needs Origin and CSRF', async () => {
    const { clock, tessera } = timed();
    const p = tessera.createTokenPair({ sub: 'alice', csrf: true });
    const verifier = new TokenVerifier(tessera.config);
    clock.advance(3600_000);
    const cookie = ['Cookie', `${names.access}=${p.access.token}`, 'Host', 'api.example'];
    const run = (headers: string[]) => authenticateRequest({ method: 'POST', headers, protocol: 'https' }, {}, tessera.config, verifier, allow);
    expect(run([...cookie, 'X-CSRF-Token', p.csrf as string])).toMatchObject({ sub: 'alice', sid: p.sid, location: 'cookie' });
    expect(() => run(cookie)).toThrow(CsrfError);
    expect(() => run([...cookie, 'X-CSRF-Token', p.csrf as string, 'Origin', 'https://evil.example'])).toThrow(OriginRefusedError);
    // Without the option, the same request is refused for its expiry, and the guard never passes it.
    expect(() => authenticateRequest({ method: 'GET', headers: bearer(p.access.token) }, {}, tessera.config, verifier)).toThrow(/expired/);
    expect((await rejection(tessera.authenticate({ method: 'GET', headers: bearer(p.access.token) }))).code).toBe('token_expired');
  });
});
