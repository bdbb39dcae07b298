import { describe, expect, it } from 'vitest';
import { fixedClock } from '../clock.js';
import { checkCsrf, checkOrigin } from './csrf.js';
import { CsrfError, OriginRefusedError, TesseraError } from '../errors.js';
import { generateKey, generateRefreshKey } from '../keys/key.js';
import { readHeaders } from './request.js';
import { createTessera } from '../tessera.js';

const clock = fixedClock(Date.UTC(2030, 0, 1));
const keys = await generateKey('EdDSA');
const refreshKey = await generateRefreshKey();
const auth = createTessera({ keys, refreshKey, clock });
const withPublic = createTessera({ keys, refreshKey, clock, publicOrigins: ['https://app.example', 'http://localhost:5173'] });

function refusal(fn: () => unknown): TesseraError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TesseraError) return err;
    throw err;
  }
  throw new Error('expected a TesseraError, but nothing was thrown');
}

function origin(raw: readonly string[], protocol?: string, tessera = auth): void {
  checkOrigin(readHeaders(raw, tessera.config.csrfHeader), protocol, tessera.config);
}

function refusedOrigin(raw: readonly string[], protocol?: string, tessera = auth): void {
  const err = refusal(() => origin(raw, protocol, tessera));
  expect(err).toBeInstanceOf(OriginRefusedError);
  expect(err.code).toBe('origin_refused');
  expect(err.status).toBe(403);
}

describe('checkOrigin', () => {
  it('passes a request without Origin (curl, servers, the Node client)', () => {
    expect(() => origin(['Host', 'api.example'], 'https')).not.toThrow();
    expect(() => origin([])).not.toThrow();
  });

  it("passes the request's own origin: scheme from the protocol, host from Host", () => {
    expect(() => origin(['Host', 'api.example', 'Origin', 'https://api.example'], 'https')).not.toThrow();
    expect(() => origin(['Host', '127.0.0.1:8000', 'Origin', 'http://127.0.0.1:8000'], 'http')).not.toThrow();
    // The default port is the same origin written either way.
    expect(() => origin(['Host', 'api.example:443', 'Origin', 'https://api.example'], 'https')).not.toThrow();
    // Origins compare case-insensitively in scheme and host.
    expect(() => origin(['Host', 'API.example', 'Origin', 'https://api.EXAMPLE'], 'https')).not.toThrow();
  });

  it('takes the host from :authority under HTTP/2', () => {
    expect(() => origin([':authority', 'api.example', 'Origin', 'https://api.example'], 'https')).not.toThrow();
  });

  it('treats a missing protocol as http', () => {
    expect(() => origin(['Host', 'api.example', 'Origin', 'http://api.example'])).not.toThrow();
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://api.example']);
  });

  it('refuses the same host under the other scheme or another port', () => {
    refusedOrigin(['Host', 'api.example', 'Origin', 'http://api.example'], 'https');
    refusedOrigin(['Host', '127.0.0.1:8000', 'Origin', 'http://127.0.0.1:8001'], 'http');
  });

  it('refuses another origin', () => {
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://evil.example'], 'https');
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://api.example.evil.example'], 'https');
  });

  it('refuses an opaque "null" Origin (sandboxed frames, redirects)', () => {
    refusedOrigin(['Host', 'api.example', 'Origin', 'null'], 'https');
  });

  it('refuses an Origin that is not a bare origin', () => {
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://api.example/path'], 'https');
    refusedOrigin(['Host', 'api.example', 'Origin', ''], 'https');
  });

  it('refuses two Origin headers, even when both are allowed', () => {
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://api.example', 'Origin', 'https://api.example'], 'https');
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://evil.example', 'origin', 'https://api.example'], 'https');
  });

  it('refuses an Origin when the request gives no host to compare with', () => {
    refusedOrigin(['Origin', 'https://api.example'], 'https');
  });

  it.each(['cross-site', 'same-site', 'Cross-Site', 'Same-Site'])(
    'refuses Sec-Fetch-Site: %s, with or without Origin, when no public origins are set',
    (site) => {
      refusedOrigin(['Host', 'api.example', 'Sec-Fetch-Site', site], 'https');
      refusedOrigin(['Host', 'api.example', 'Origin', 'https://api.example', 'Sec-Fetch-Site', site], 'https');
    },
  );

  it('refuses Sec-Fetch-Site: cross-site even from a listed public origin', () => {
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://app.example', 'Sec-Fetch-Site', 'cross-site'], 'https', withPublic);
    refusedOrigin(['Host', 'api.example', 'Origin', 'http://localhost:5173', 'Sec-Fetch-Site', 'CROSS-SITE'], 'https', withPublic);
  });

  it('passes Sec-Fetch-Site: same-site from a listed public origin (a sibling subdomain)', () => {
    expect(() => origin(['Host', 'api.example', 'Origin', 'https://app.example', 'Sec-Fetch-Site', 'same-site'], 'https', withPublic)).not.toThrow();
    expect(() =>
      origin(['Host', 'api.example', 'Origin', 'https://APP.example:443', 'Sec-Fetch-Site', 'Same-Site'], 'https', withPublic),
    ).not.toThrow();
  });

  it('refuses Sec-Fetch-Site: same-site from an origin not listed, without Origin, or with two', () => {
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://files.example', 'Sec-Fetch-Site', 'same-site'], 'https', withPublic);
    // Same-site but another scheme or port is another origin: the list names origins, not sites.
    refusedOrigin(['Host', 'api.example', 'Origin', 'http://app.example', 'Sec-Fetch-Site', 'same-site'], 'https', withPublic);
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://app.example:8443', 'Sec-Fetch-Site', 'same-site'], 'https', withPublic);
    // A browser always sends Origin with a same-site fetch; without it there is nothing to check against the list.
    refusedOrigin(['Host', 'api.example', 'Sec-Fetch-Site', 'same-site'], 'https', withPublic);
    refusedOrigin(['Host', 'api.example', 'Origin', 'null', 'Sec-Fetch-Site', 'same-site'], 'https', withPublic);
    refusedOrigin(
      ['Host', 'api.example', 'Origin', 'https://app.example', 'Origin', 'https://app.example', 'Sec-Fetch-Site', 'same-site'],
      'https',
      withPublic,
    );
  });

  it("refuses Sec-Fetch-Site: same-site claiming the request's own origin when no public origins are set", () => {
    // The default list is the own origin, which a same-site request cannot come from: a sibling lying in Origin is refused.
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://api.example', 'Sec-Fetch-Site', 'same-site'], 'https');
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://app.example', 'Sec-Fetch-Site', 'same-site'], 'https');
  });

  it.each(['same-origin', 'none', undefined])('checks Origin against the public origins under Sec-Fetch-Site: %s', (site) => {
    const fetchSite = site === undefined ? [] : ['Sec-Fetch-Site', site];
    expect(() => origin(['Host', 'api.example', 'Origin', 'https://app.example', ...fetchSite], 'https', withPublic)).not.toThrow();
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://files.example', ...fetchSite], 'https', withPublic);
    expect(() => origin(['Host', 'api.example', ...fetchSite], 'https', withPublic)).not.toThrow();
  });

  it.each(['same-origin', 'none'])('passes Sec-Fetch-Site: %s from the own origin', (site) => {
    expect(() => origin(['Host', 'api.example', 'Origin', 'https://api.example', 'Sec-Fetch-Site', site], 'https')).not.toThrow();
  });

  it('uses the configured public origins instead of the own origin', () => {
    expect(() => origin(['Host', 'api.example', 'Origin', 'https://app.example'], 'https', withPublic)).not.toThrow();
    expect(() => origin(['Host', 'api.example', 'Origin', 'http://localhost:5173'], 'https', withPublic)).not.toThrow();
    // The own origin is no longer allowed once public origins are configured.
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://api.example'], 'https', withPublic);
    refusedOrigin(['Host', 'api.example', 'Origin', 'https://evil.example'], 'https', withPublic);
    // A request without Origin still passes on.
    expect(() => origin(['Host', 'api.example'], 'https', withPublic)).not.toThrow();
  });
});

describe('checkCsrf', () => {
  const pair = auth.createTokenPair({ sub: 'alice', csrf: true });
  const csrf = pair.csrf as string;
  const claims = auth.verifyAccessToken(pair.access.token);

  function csrfRefusal(raw: readonly string[], tokenClaims = claims): TesseraError {
    const err = refusal(() => checkCsrf(readHeaders(raw, auth.config.csrfHeader), tokenClaims));
    expect(err).toBeInstanceOf(CsrfError);
    expect(err.code).toBe('csrf_failed');
    expect(err.status).toBe(403);
    return err;
  }

  it('passes when the header equals the csrf claim', () => {
    expect(typeof csrf).toBe('string');
    expect(claims.csrf).toBe(csrf);
    expect(() => checkCsrf(readHeaders(['X-CSRF-Token', csrf], auth.config.csrfHeader), claims)).not.toThrow();
  });

  it('passes with the refresh token of the same session (one value per session)', () => {
    const refreshClaims = auth.verifyRefreshToken(pair.refresh.token);
    expect(() => checkCsrf(readHeaders(['x-csrf-token', csrf], auth.config.csrfHeader), refreshClaims)).not.toThrow();
  });

  it('refuses a missing header', () => {
    csrfRefusal([]);
  });

  it('refuses two headers, even with the right value', () => {
    csrfRefusal(['X-CSRF-Token', csrf, 'X-CSRF-Token', csrf]);
  });

  it('refuses a value that differs', () => {
    csrfRefusal(['X-CSRF-Token', `${csrf}x`]);
    csrfRefusal(['X-CSRF-Token', csrf.slice(1)]);
    csrfRefusal(['X-CSRF-Token', csrf.toUpperCase() === csrf ? csrf.toLowerCase() : csrf.toUpperCase()]);
    csrfRefusal(['X-CSRF-Token', '']);
    csrfRefusal(['X-CSRF-Token', 'é'.repeat(csrf.length)]);
  });

  it("refuses another session's CSRF value", () => {
    const otherCsrf = auth.createTokenPair({ sub: 'alice', csrf: true }).csrf as string;
    csrfRefusal(['X-CSRF-Token', otherCsrf]);
  });

  it('refuses a token issued without a csrf claim, whatever the header says', () => {
    const plain = auth.verifyAccessToken(auth.createAccessToken({ sub: 'alice' }).token);
    expect(plain.csrf).toBeUndefined();
    csrfRefusal(['X-CSRF-Token', csrf], plain);
    csrfRefusal(['X-CSRF-Token', 'undefined'], plain);
  });

  it('reads the configured header name', () => {
    const custom = createTessera({ keys, refreshKey, clock, csrfHeader: 'X-XSRF-Token' });
    const customPair = custom.createTokenPair({ sub: 'alice', csrf: true });
    const customClaims = custom.verifyAccessToken(customPair.access.token);
    const value = customPair.csrf as string;
    expect(() => checkCsrf(readHeaders(['X-XSRF-Token', value], custom.config.csrfHeader), customClaims)).not.toThrow();
    expect(refusal(() => checkCsrf(readHeaders(['X-CSRF-Token', value], custom.config.csrfHeader), customClaims)).code).toBe('csrf_failed');
  });
});
