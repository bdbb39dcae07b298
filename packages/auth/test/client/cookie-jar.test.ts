// The Node cookie jar: what a browser would keep and send, for the cookies Tessera sets and the
// cases around them (RFC 6265 and the cookie name prefixes).
import { describe, expect, it } from 'vitest';
import { CookieJar } from '../../src/client/index.js';

const BASE = 'http://127.0.0.1:8000';

function jarAt(start = 1_000_000) {
  let now = start;
  const jar = new CookieJar({ now: () => now });
  return { jar, advance: (ms: number) => (now += ms) };
}

describe('CookieJar', () => {
  it('keeps Tessera cookies by path: the refresh cookie goes to /auth only', () => {
    const { jar } = jarAt();
    jar.store(`${BASE}/auth/login`, [
      '__Secure-tessera-refresh=r1; Path=/auth; Max-Age=604800; HttpOnly; Secure; SameSite=Lax',
      '__Host-tessera-csrf=c1; Path=/; Max-Age=604800; Secure; SameSite=Lax',
    ]);
    expect(jar.header(`${BASE}/auth/refresh`)).toBe('__Secure-tessera-refresh=r1; __Host-tessera-csrf=c1');
    expect(jar.header(`${BASE}/auth`)).toBe('__Secure-tessera-refresh=r1; __Host-tessera-csrf=c1');
    expect(jar.header(`${BASE}/authors`)).toBe('__Host-tessera-csrf=c1');
    expect(jar.header(`${BASE}/`)).toBe('__Host-tessera-csrf=c1');
    expect(jar.get(BASE, '__Host-tessera-csrf')).toBe('c1');
  });

  it('replaces a cookie of the same name and path, and deletes it with Max-Age=0 or a past Expires', () => {
    const { jar } = jarAt();
    jar.store(`${BASE}/auth/login`, ['a=1; Path=/; Max-Age=60', 'b=1; Path=/; Max-Age=60']);
    jar.store(`${BASE}/auth/refresh`, ['a=2; Path=/; Max-Age=60']);
    expect(jar.header(BASE)).toBe('a=2; b=1');
    jar.store(`${BASE}/auth/logout`, [
      'a=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      'b=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    ]);
    expect(jar.header(BASE)).toBeUndefined();
  });

  it('drops a cookie when its Max-Age has passed; Max-Age wins over Expires', () => {
    const { jar, advance } = jarAt(Date.parse('2030-01-01T00:00:00Z'));
    jar.store(BASE, ['short=1; Path=/; Max-Age=10; Expires=Wed, 01 Jan 2031 00:00:00 GMT', 'session=1; Path=/']);
    advance(9_999);
    expect(jar.header(BASE)).toBe('short=1; session=1');
    advance(1);
    expect(jar.header(BASE)).toBe('session=1');
  });

  it('uses the directory of the request as the default path', () => {
    const { jar } = jarAt();
    jar.store(`${BASE}/auth/login`, ['d=1']);
    expect(jar.header(`${BASE}/auth/me`)).toBe('d=1');
    expect(jar.header(`${BASE}/other`)).toBeUndefined();
  });

  it('takes Secure cookies from https and loopback hosts only, and sends them there only', () => {
    const { jar } = jarAt();
    jar.store('http://example.test/', ['s=1; Path=/; Secure', 'p=1; Path=/']);
    expect(jar.header('http://example.test/')).toBe('p=1');
    jar.store('https://example.test/', ['s=2; Path=/; Secure']);
    expect(jar.header('https://example.test/')).toBe('p=1; s=2');
    expect(jar.header('http://example.test/')).toBe('p=1');
    jar.store('http://localhost:3000/', ['l=1; Path=/; Secure']);
    expect(jar.header('http://localhost:3000/')).toBe('l=1');
  });

  it('enforces the __Secure- and __Host- prefixes', () => {
    const { jar } = jarAt();
    jar.store(`${BASE}/`, [
      '__Secure-a=1; Path=/',
      '__Host-b=1; Path=/auth; Secure',
      '__Host-c=1; Path=/; Secure; Domain=127.0.0.1',
      '__Host-d=1; Path=/; Secure',
    ]);
    expect(jar.header(`${BASE}/auth/x`)).toBe('__Host-d=1');
  });

  it('keeps cookies to their host; a Domain cookie covers sub-domains, a foreign Domain is refused', () => {
    const { jar } = jarAt();
    jar.store('https://auth.example.test/', ['host=1; Path=/', 'dom=1; Path=/; Domain=example.test', 'evil=1; Path=/; Domain=attacker.test']);
    expect(jar.header('https://auth.example.test/')).toBe('host=1; dom=1');
    expect(jar.header('https://api.example.test/')).toBe('dom=1');
    expect(jar.header('https://attacker.test/')).toBeUndefined();
    expect(jar.header('http://127.0.0.1/')).toBeUndefined();
  });

  it('ignores lines that are not cookies', () => {
    const { jar } = jarAt();
    jar.store(BASE, ['', '=novalue', 'noequals', ' ; Path=/']);
    expect(jar.header(BASE)).toBeUndefined();
  });
});
