// The answers that are not refusals (tokens, logout, plain JSON); refusals are error-response.ts's `errorResult`.
import type { ResolvedConfig } from '../config/config.js';
import { clearedCookies, serializeCookie, tokenCookies } from './cookies.js';
import type { HttpResult } from './error-response.js';
import type { Transport } from '../types.js';
import type { TokenPair } from '../tokens/issue.js';

/** The body of a token response (RFC 6749 §5.1 shape); tokens that travel in cookies are left out. */
export interface TokenResponseBody {
  access_token?: string;
  refresh_token?: string;
  /** `DPoP` when the access token is bound to a key (`cnf.jkt`, RFC 9449 §5), else `Bearer` (RFC 6750). */
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  refresh_expires_in: number;
  /** Cookie transports: the session's CSRF value, also in the readable CSRF cookie. */
  csrf_token?: string;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The answer to a login or refresh, per transport (docs/architecture.md "Transports"): `bearer` puts both
 * tokens in the body; `cookie` puts both in HttpOnly cookies and neither in the body; `hybrid`
 * puts the access token in the body and the refresh token in a cookie. Always `no-store`.
 */
export function tokenResult(config: ResolvedConfig, pair: TokenPair, transport: Transport): HttpResult {
  const body: TokenResponseBody = {
    // RFC 9449 §5: a bound access token is announced as `DPoP`, so the client sends it with that scheme and a proof.
    token_type: pair.access.claims.cnf === undefined ? 'Bearer' : 'DPoP',
    expires_in: pair.access.expiresIn,
    refresh_expires_in: pair.refresh.expiresIn,
  };
  let cookies: string[] = [];
  if (transport === 'bearer') {
    body.access_token = pair.access.token;
    body.refresh_token = pair.refresh.token;
  } else {
    if (transport === 'hybrid') body.access_token = pair.access.token;
    if (pair.csrf !== undefined) body.csrf_token = pair.csrf;
    const withAccess = transport === 'cookie' ? { access: pair.access } : {};
    cookies = tokenCookies(config, { refresh: pair.refresh, csrf: pair.csrf, ...withAccess }).map(serializeCookie);
  }
  return {
    status: 200,
    headers: { 'content-type': JSON_TYPE, ...NO_STORE, ...(cookies.length > 0 ? { 'set-cookie': cookies } : {}) },
    body: JSON.stringify(body),
  };
}

/** 204 with every Tessera cookie cleared (logout). */
export function loggedOutResult(config: ResolvedConfig): HttpResult {
  return { status: 204, headers: { ...NO_STORE, 'set-cookie': clearingCookies(config) }, body: undefined };
}

/** The `set-cookie` values that clear every Tessera cookie: on a logout, and with a refusal that ends a cookie session. */
export function clearingCookies(config: ResolvedConfig): string[] {
  return clearedCookies(config).map(serializeCookie);
}

/** One frozen set for every plain JSON answer: a guarded GET such as `/me` builds no headers object. */
const JSON_NO_STORE: HttpResult['headers'] = Object.freeze({ 'content-type': JSON_TYPE, ...NO_STORE });

/** A JSON answer that is not a token response (e.g. `/me`), `no-store` since it is about an account. */
export function jsonResult(status: number, value: unknown): HttpResult {
  return { status, headers: JSON_NO_STORE, body: JSON.stringify(value) };
}
