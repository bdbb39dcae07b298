import type { ResolvedConfig } from '../config/config.js';
import type { TokenPair } from '../tokens/issue.js';

/** A cookie to set: adapters write `serializeCookie(descriptor)` as one `Set-Cookie` header. */
export interface CookieDescriptor {
  readonly name: string;
  readonly value: string;
  readonly path: string;
  /** Seconds; 0 deletes the cookie. */
  readonly maxAge: number;
  readonly httpOnly: boolean;
  readonly secure: boolean;
  readonly sameSite: 'Lax' | 'Strict';
}

const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT';

/** The `Set-Cookie` value for a descriptor; byte-identical whatever framework writes it. */
export function serializeCookie(cookie: CookieDescriptor): string {
  const parts = [`${cookie.name}=${cookie.value}`, `Path=${cookie.path}`, `Max-Age=${cookie.maxAge}`];
  if (cookie.maxAge === 0) parts.push(`Expires=${EPOCH}`);
  if (cookie.httpOnly) parts.push('HttpOnly');
  if (cookie.secure) parts.push('Secure');
  parts.push(`SameSite=${cookie.sameSite}`);
  return parts.join('; ');
}

/**
 * The cookies of a token pair (cookie transport) or of a refresh token alone (hybrid): the access
 * token `HttpOnly` on `Path=/` (`__Host-`), the refresh token `HttpOnly` on the auth path
 * (`__Secure-`), and the CSRF value readable by the page on `Path=/`.
 */
export function tokenCookies(
  config: ResolvedConfig,
  pair: Pick<TokenPair, 'refresh' | 'csrf'> & { access?: TokenPair['access'] | undefined },
): CookieDescriptor[] {
  const { names, secure, sameSite, refreshPath } = config.cookies;
  const cookies: CookieDescriptor[] = [];
  if (pair.access !== undefined) cookies.push(accessCookie(config, pair.access));
  cookies.push({
    name: names.refresh,
    value: pair.refresh.token,
    path: refreshPath,
    maxAge: pair.refresh.expiresIn,
    httpOnly: true,
    secure,
    sameSite,
  });
  if (pair.csrf !== undefined)
    cookies.push({ name: names.csrf, value: pair.csrf, path: '/', maxAge: pair.refresh.expiresIn, httpOnly: false, secure, sameSite });
  return cookies;
}

/** The access-token cookie: `HttpOnly`, `Path=/`, `__Host-` when `Secure`. */
export function accessCookie(config: ResolvedConfig, access: TokenPair['access']): CookieDescriptor {
  const { names, secure, sameSite } = config.cookies;
  return { name: names.access, value: access.token, path: '/', maxAge: access.expiresIn, httpOnly: true, secure, sameSite };
}

/** Cookies that delete every Tessera cookie (logout), whatever state the old ones were in. */
export function clearedCookies(config: ResolvedConfig): CookieDescriptor[] {
  const { names, secure, sameSite, refreshPath } = config.cookies;
  return [
    { name: names.access, value: '', path: '/', maxAge: 0, httpOnly: true, secure, sameSite },
    { name: names.refresh, value: '', path: refreshPath, maxAge: 0, httpOnly: true, secure, sameSite },
    { name: names.csrf, value: '', path: '/', maxAge: 0, httpOnly: false, secure, sameSite },
  ];
}
