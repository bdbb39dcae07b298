import { describe, expect, it } from 'vitest';
import { fixedClock } from '../clock.js';
import { generateKey, generateRefreshKey } from '../keys/key.js';
import { AdapterRequest, isSafeMethod, readCookie, readHeaders, requestPath } from './request.js';
import { createTessera } from '../tessera.js';

describe('readHeaders', () => {
  it('reads names in any case', () => {
    const headers = readHeaders(
      [
        'AUTHORIZATION',
        'Bearer abc',
        'cOOkie',
        'a=1',
        'X-Csrf-Token',
        'c1',
        'ORIGIN',
        'https://app.example',
        'Sec-Fetch-Site',
        'Cross-Site',
        'HOST',
        'app.example',
      ],
      'x-csrf-token',
    );
    expect(headers).toEqual({
      authorization: ['Bearer abc'],
      cookie: ['a=1'],
      csrf: ['c1'],
      origin: ['https://app.example'],
      secFetchSite: 'cross-site',
      host: 'app.example',
    });
  });

  it('keeps every duplicate, in order, so that the caller can refuse them', () => {
    const headers = readHeaders(
      [
        'Authorization',
        'Bearer one',
        'authorization',
        'Bearer two',
        'Cookie',
        'a=1',
        'cookie',
        'b=2',
        'Origin',
        'https://a.example',
        'origin',
        'https://b.example',
        'x-csrf-token',
        'c1',
        'X-CSRF-TOKEN',
        'c2',
      ],
      'x-csrf-token',
    );
    expect(headers.authorization).toEqual(['Bearer one', 'Bearer two']);
    expect(headers.cookie).toEqual(['a=1', 'b=2']);
    expect(headers.origin).toEqual(['https://a.example', 'https://b.example']);
    expect(headers.csrf).toEqual(['c1', 'c2']);
  });

  it('collects the configured CSRF header name and no other', async () => {
    const auth = createTessera({
      keys: await generateKey('HS256'),
      refreshKey: await generateRefreshKey(),
      csrfHeader: 'X-XSRF-Token',
      clock: fixedClock(Date.UTC(2030, 0, 1)),
    });
    const headers = readHeaders(['X-CSRF-Token', 'default-name', 'x-xsrf-token', 'configured'], auth.config.csrfHeader);
    expect(headers.csrf).toEqual(['configured']);
  });

  it('reads the host from :authority (HTTP/2) as from Host', () => {
    expect(readHeaders([':authority', 'app.example:8443'], 'x-csrf-token').host).toBe('app.example:8443');
  });

  it('returns empty lists when nothing relevant is sent, and ignores a name without a value', () => {
    const headers = readHeaders(['Accept', 'application/json', 'User-Agent', 'test', 'Authorization'], 'x-csrf-token');
    expect(headers).toEqual({ authorization: [], cookie: [], csrf: [], origin: [], secFetchSite: undefined, host: undefined });
  });
});

describe('isSafeMethod', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'get', 'Head'])('%s is safe', (method) => {
    expect(isSafeMethod(method)).toBe(true);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'post', 'CONNECT', 'PROPFIND', ''])('%j changes state', (method) => {
    expect(isSafeMethod(method)).toBe(false);
  });
});

describe('readCookie', () => {
  it('finds one cookie among others', () => {
    expect(readCookie(['a=1; b=2; c=3'], 'b')).toEqual({ value: '2', conflict: false });
  });

  it('is undefined when the cookie is absent', () => {
    expect(readCookie(['a=1'], 'b')).toEqual({ value: undefined, conflict: false });
    expect(readCookie([], 'b')).toEqual({ value: undefined, conflict: false });
  });

  it('unquotes a quoted value (RFC 6265 §4.1.1 cookie-value)', () => {
    expect(readCookie(['t="abc.def"'], 't').value).toBe('abc.def');
  });

  it('keeps a lone quote, which is not a quoted value', () => {
    expect(readCookie(['t="'], 't').value).toBe('"');
  });

  it('ignores empty values, quoted or not', () => {
    expect(readCookie(['t='], 't')).toEqual({ value: undefined, conflict: false });
    expect(readCookie(['t=""'], 't')).toEqual({ value: undefined, conflict: false });
    // A cleared cookie beside a live one is not a conflict.
    expect(readCookie(['t=; t=live'], 't')).toEqual({ value: 'live', conflict: false });
  });

  it('accepts the same name twice with the same value', () => {
    expect(readCookie(['t=x; t=x'], 't')).toEqual({ value: 'x', conflict: false });
    expect(readCookie(['t=x', 't="x"'], 't')).toEqual({ value: 'x', conflict: false });
  });

  it('reports the same name twice with different values as a conflict', () => {
    expect(readCookie(['t=x; t=y'], 't').conflict).toBe(true);
    // Across two Cookie headers too (HTTP/2 splits cookies into several fields).
    expect(readCookie(['t=x', 't=y'], 't').conflict).toBe(true);
  });

  it('tolerates spaces around names, values and separators', () => {
    expect(readCookie(['  a = 1 ;   t  =  v  ;b=2'], 't').value).toBe('v');
    expect(readCookie(['a=1;t=v'], 't').value).toBe('v');
  });

  it('matches the whole name, not a prefix or suffix of another', () => {
    const header = ['tessera-access-old=old; xtessera-access=x; __Host-tessera-access=host; tessera-access=mine'];
    expect(readCookie(header, 'tessera-access')).toEqual({ value: 'mine', conflict: false });
    expect(readCookie(header, '__Host-tessera-access')).toEqual({ value: 'host', conflict: false });
    expect(readCookie(['tessera-access-old=old'], 'tessera-access').value).toBeUndefined();
  });

  it('treats names as case-sensitive (RFC 6265 §5.4)', () => {
    expect(readCookie(['T=upper'], 't').value).toBeUndefined();
  });

  it('keeps an = inside the value and skips parts without one', () => {
    expect(readCookie(['flag; t=a=b'], 't').value).toBe('a=b');
  });
});

describe('AdapterRequest', () => {
  it('reads protocol and ip from the framework request only when a check asks, each time afresh', async () => {
    const reads: string[] = [];
    const source = { proto: 'https', addr: '192.0.2.7' };
    const facts = {
      protocol: (s: typeof source) => (reads.push('protocol'), s.proto),
      ip: (s: typeof source) => (reads.push('ip'), s.addr),
    };
    const auth = createTessera({ keys: await generateKey('HS256'), refreshKey: await generateRefreshKey() });
    const { token } = auth.createAccessToken({ sub: 'u' });
    const request = new AdapterRequest('GET', ['Authorization', `Bearer ${token}`], undefined, source, facts);
    expect((await auth.authenticate(request)).sub).toBe('u');
    expect(reads).toEqual([]);
    expect([request.protocol, request.ip]).toEqual(['https', '192.0.2.7']);
    source.addr = '192.0.2.8';
    expect(request.ip).toBe('192.0.2.8');
    expect(reads).toEqual(['protocol', 'ip', 'ip']);
  });
});

describe('requestPath (the path DPoP htu is checked with)', () => {
  it('keeps the path of an origin-form target and drops query and fragment', () => {
    expect(requestPath('/api/me')).toBe('/api/me');
    expect(requestPath('/api/me?x=1&y=2')).toBe('/api/me');
    expect(requestPath('/a%20b#frag')).toBe('/a%20b');
    expect(requestPath('/')).toBe('/');
  });

  it('takes the path of an absolute-form target, and nothing from other forms', () => {
    expect(requestPath('http://api.example/api/me?x=1')).toBe('/api/me');
    expect(requestPath('*')).toBeUndefined();
    expect(requestPath('api.example:443')).toBeUndefined();
    expect(requestPath('')).toBeUndefined();
    expect(requestPath(undefined)).toBeUndefined();
  });

  it('is read lazily through the adapter facts, and undefined when an adapter has none', () => {
    const reads: string[] = [];
    const facts = { protocol: () => 'https', ip: () => undefined, path: (url: string) => (reads.push('path'), requestPath(url)) };
    const request = new AdapterRequest('GET', [], undefined, '/x?y', facts);
    expect(reads).toEqual([]);
    expect(request.path).toBe('/x');
    expect(new AdapterRequest('GET', [], undefined, '/x', { protocol: () => 'https', ip: () => undefined }).path).toBeUndefined();
  });
});
