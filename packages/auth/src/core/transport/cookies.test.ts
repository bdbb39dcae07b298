import { describe, expect, it } from 'vitest';
import { fixedClock } from '../clock.js';
import { clearedCookies, serializeCookie, tokenCookies } from './cookies.js';
import { generateKey, generateRefreshKey } from '../keys/key.js';
import { createTessera } from '../tessera.js';

const clock = fixedClock(Date.UTC(2030, 0, 1));
const keys = await generateKey('EdDSA');
const refreshKey = await generateRefreshKey();
const auth = createTessera({ keys, refreshKey, clock });
const local = createTessera({ keys, refreshKey, clock, cookies: { secure: false } });

const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT';

describe('cookiesFor (cookie transport)', () => {
  it('writes the access, refresh and csrf cookies exactly', () => {
    const pair = auth.createTokenPair({ sub: 'alice', csrf: true });
    const csrf = pair.csrf as string;
    expect(auth.cookiesFor(pair)).toEqual([
      `__Host-tessera-access=${pair.access.token}; Path=/; Max-Age=900; HttpOnly; Secure; SameSite=Lax`,
      `__Secure-tessera-refresh=${pair.refresh.token}; Path=/auth; Max-Age=604800; HttpOnly; Secure; SameSite=Lax`,
      // Readable by the page (no HttpOnly): it must copy the value into the CSRF header.
      `__Host-tessera-csrf=${csrf}; Path=/; Max-Age=604800; Secure; SameSite=Lax`,
    ]);
  });

  it('gives each cookie the lifetime of its token', () => {
    const pair = auth.createTokenPair({ sub: 'alice', csrf: true, accessTtl: '5m', refreshTtl: '1d' });
    const [accessCookie, refreshCookie, csrfCookie] = auth.cookiesFor(pair);
    expect(accessCookie).toContain('; Max-Age=300;');
    expect(refreshCookie).toContain('; Max-Age=86400;');
    // The CSRF value lives as long as the session's refresh token, so it survives access-token refreshes.
    expect(csrfCookie).toContain('; Max-Age=86400;');
  });

  it('writes only the refresh and csrf cookies for hybrid (access token in the body)', () => {
    const pair = auth.createTokenPair({ sub: 'alice', csrf: true });
    expect(auth.cookiesFor({ refresh: pair.refresh, csrf: pair.csrf })).toEqual([
      `__Secure-tessera-refresh=${pair.refresh.token}; Path=/auth; Max-Age=604800; HttpOnly; Secure; SameSite=Lax`,
      `__Host-tessera-csrf=${pair.csrf as string}; Path=/; Max-Age=604800; Secure; SameSite=Lax`,
    ]);
  });

  it('writes no csrf cookie for a pair without a CSRF value', () => {
    const pair = auth.createTokenPair({ sub: 'alice' });
    const cookies = auth.cookiesFor(pair);
    expect(cookies).toHaveLength(2);
    expect(cookies.some((c) => c.includes('tessera-csrf'))).toBe(false);
  });

  it('drops the __Host-/__Secure- prefixes and Secure when cookies.secure is false (local http)', () => {
    const pair = local.createTokenPair({ sub: 'alice', csrf: true });
    expect(local.cookiesFor(pair)).toEqual([
      `tessera-access=${pair.access.token}; Path=/; Max-Age=900; HttpOnly; SameSite=Lax`,
      `tessera-refresh=${pair.refresh.token}; Path=/auth; Max-Age=604800; HttpOnly; SameSite=Lax`,
      `tessera-csrf=${pair.csrf as string}; Path=/; Max-Age=604800; SameSite=Lax`,
    ]);
  });

  it('follows the configured SameSite and refresh path', () => {
    const strict = createTessera({ keys, refreshKey, clock, cookies: { sameSite: 'Strict', refreshPath: '/auth/refresh' } });
    const pair = strict.createTokenPair({ sub: 'alice', csrf: true });
    expect(strict.cookiesFor(pair)).toEqual([
      `__Host-tessera-access=${pair.access.token}; Path=/; Max-Age=900; HttpOnly; Secure; SameSite=Strict`,
      `__Secure-tessera-refresh=${pair.refresh.token}; Path=/auth/refresh; Max-Age=604800; HttpOnly; Secure; SameSite=Strict`,
      `__Host-tessera-csrf=${pair.csrf as string}; Path=/; Max-Age=604800; Secure; SameSite=Strict`,
    ]);
  });

  it('never sets Domain, so __Host- cookies stay valid', () => {
    const pair = auth.createTokenPair({ sub: 'alice', csrf: true });
    for (const cookie of [...auth.cookiesFor(pair), ...auth.clearCookies()]) expect(cookie).not.toMatch(/domain=/i);
  });

  it('uses the names the extractor reads', () => {
    expect(auth.config.cookies.names).toEqual({ access: '__Host-tessera-access', refresh: '__Secure-tessera-refresh', csrf: '__Host-tessera-csrf' });
    expect(local.config.cookies.names).toEqual({ access: 'tessera-access', refresh: 'tessera-refresh', csrf: 'tessera-csrf' });
  });
});

describe('clearCookies (logout)', () => {
  it('deletes every cookie with Max-Age=0 and an Expires in 1970, on the paths they were set on', () => {
    expect(auth.clearCookies()).toEqual([
      `__Host-tessera-access=; Path=/; Max-Age=0; Expires=${EPOCH}; HttpOnly; Secure; SameSite=Lax`,
      `__Secure-tessera-refresh=; Path=/auth; Max-Age=0; Expires=${EPOCH}; HttpOnly; Secure; SameSite=Lax`,
      `__Host-tessera-csrf=; Path=/; Max-Age=0; Expires=${EPOCH}; Secure; SameSite=Lax`,
    ]);
  });

  it('deletes the unprefixed cookies when cookies.secure is false', () => {
    expect(local.clearCookies()).toEqual([
      `tessera-access=; Path=/; Max-Age=0; Expires=${EPOCH}; HttpOnly; SameSite=Lax`,
      `tessera-refresh=; Path=/auth; Max-Age=0; Expires=${EPOCH}; HttpOnly; SameSite=Lax`,
      `tessera-csrf=; Path=/; Max-Age=0; Expires=${EPOCH}; SameSite=Lax`,
    ]);
  });

  it('matches clearedCookies serialized', () => {
    expect(clearedCookies(auth.config).map(serializeCookie)).toEqual(auth.clearCookies());
  });
});

describe('serializeCookie and tokenCookies', () => {
  it('writes attributes in one fixed order, adding Expires only when deleting', () => {
    expect(serializeCookie({ name: 'n', value: 'v', path: '/p', maxAge: 10, httpOnly: false, secure: false, sameSite: 'Lax' })).toBe(
      'n=v; Path=/p; Max-Age=10; SameSite=Lax',
    );
    expect(serializeCookie({ name: 'n', value: '', path: '/', maxAge: 0, httpOnly: true, secure: true, sameSite: 'Strict' })).toBe(
      `n=; Path=/; Max-Age=0; Expires=${EPOCH}; HttpOnly; Secure; SameSite=Strict`,
    );
  });

  it('describes the cookies cookiesFor writes', () => {
    const pair = auth.createTokenPair({ sub: 'alice', csrf: true });
    const descriptors = tokenCookies(auth.config, pair);
    expect(descriptors.map(serializeCookie)).toEqual(auth.cookiesFor(pair));
    expect(descriptors.map((c) => [c.name, c.httpOnly, c.secure])).toEqual([
      ['__Host-tessera-access', true, true],
      ['__Secure-tessera-refresh', true, true],
      ['__Host-tessera-csrf', false, true],
    ]);
  });
});
