import type { CookieTransport, TokenKind } from '../types.js';

/** Claims Tessera writes itself; hooks and per-call claims can never set them. */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'aud',
  'sub',
  'iat',
  'nbf',
  'exp',
  'jti',
  'type',
  'fresh',
  'sid',
  'csrf',
  'transport',
]);

/** The claims of a Tessera token (docs/architecture.md "Tokens"); extra claims sit beside them. */
export interface TokenClaims {
  readonly iss: string;
  readonly aud: string | readonly string[];
  /** The identity, always a string. */
  readonly sub: string;
  readonly iat: number;
  readonly nbf?: number;
  readonly exp: number;
  /** Random, at least 128 bits. */
  readonly jti: string;
  /** The session id, random, at least 128 bits. */
  readonly sid: string;
  readonly type: TokenKind;
  /** Access tokens only: true when issued by a login rather than a refresh. */
  readonly fresh?: boolean;
  /** Cookie transport only: the session's CSRF value that `X-CSRF-Token` must echo. */
  readonly csrf?: string;
  /**
   * Refresh tokens held in an HttpOnly cookie only: `'cookie'` or `'hybrid'`. Binds the session to
   * its transport, so a cookie-held refresh token is never answered with tokens in a body.
   */
  readonly transport?: CookieTransport;
  readonly [claim: string]: unknown;
}

/** The claims of a token that are not reserved: what a rotation carries over to the next tokens. */
export function customClaims(claims: TokenClaims): Record<string, unknown> {
  const custom: Record<string, unknown> = {};
  for (const name of Object.keys(claims)) if (!RESERVED_CLAIMS.has(name)) custom[name] = claims[name];
  return custom;
}

/** The `typ` header of each kind (RFC 9068 §2.1 for access tokens; refresh tokens differ so neither passes as the other). */
export const TOKEN_TYP: Readonly<Record<TokenKind, string>> = { access: 'at+jwt', refresh: 'rt+jwt' };
