import { stringsEqual } from '../../internal/timing-safe.js';
import { normalizeOrigin, type ResolvedConfig } from '../config/config.js';
import { CsrfError, OriginRefusedError } from '../errors.js';
import type { RequestHeaders } from './request.js';
import type { TokenClaims } from '../tokens/claims.js';

/**
 * Refuses a state-changing request from another site where cookies carry credentials
 * (docs/architecture.md "Transports"). `Sec-Fetch-Site: cross-site` is always refused: the cookies are
 * `SameSite=Lax`, so no other site can hold a session here. `same-site` (a sibling subdomain, which the
 * browser sends these cookies from) passes only with an `Origin` listed in the public origins: never
 * by default, since any sibling (a user-content host, a forgotten subdomain) is same-site. Otherwise
 * `Origin` must be a public origin (by default the request's own scheme and host); a request with no
 * `Origin` (curl, servers, the Node client) passes on to the CSRF check.
 */
export function checkOrigin(headers: RequestHeaders, protocol: string | undefined, config: ResolvedConfig): void {
  if (headers.secFetchSite === 'cross-site') throw new OriginRefusedError({ message: 'Cross-site requests cannot use cookie credentials' });
  if (headers.origin.length > 1) throw new OriginRefusedError({ message: 'Send one Origin header' });
  const origin = headers.origin.length === 1 ? normalizeOrigin(headers.origin[0]) : undefined;
  if (headers.secFetchSite === 'same-site') {
    // Fetch Metadata (W3C) marks every fetch from a sibling subdomain; its Origin says which one.
    if (origin === undefined || !config.publicOrigins.includes(origin))
      throw new OriginRefusedError({ message: 'Same-site requests can use cookie credentials only from a listed public origin' });
    return;
  }
  if (headers.origin.length === 0) return;
  const allowed = config.publicOrigins.length > 0 ? config.publicOrigins : ownOrigin(headers, protocol);
  if (origin === undefined || !allowed.includes(origin)) throw new OriginRefusedError();
}

function ownOrigin(headers: RequestHeaders, protocol: string | undefined): string[] {
  if (headers.host === undefined) return [];
  const scheme = protocol === 'https' || protocol === 'https:' ? 'https' : 'http';
  const origin = normalizeOrigin(`${scheme}://${headers.host}`);
  return origin === undefined ? [] : [origin];
}

/**
 * Double submit, session-bound: the CSRF header must equal the `csrf` claim of the signed token,
 * compared in constant time. The value lives inside the signature, so a cookie planted by a
 * sibling domain cannot change it (OWASP CSRF cheat sheet, "signed double-submit").
 */
export function checkCsrf(headers: RequestHeaders, claims: TokenClaims): void {
  const expected = claims.csrf;
  if (typeof expected !== 'string') throw new CsrfError({ message: 'This token was not issued for cookie use' });
  if (headers.csrf.length !== 1) throw new CsrfError({ message: headers.csrf.length === 0 ? 'The CSRF header is missing' : 'Send one CSRF header' });
  if (!stringsEqual(headers.csrf[0] as string, expected)) throw new CsrfError();
}
