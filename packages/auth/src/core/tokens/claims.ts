import { FIRST_PARTY_CLIENT } from '../../protocol/protocol.js';
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
  'client_id',
  'cnf',
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
  /**
   * The OAuth client the session was issued to (RFC 9068 §2.2, RFC 8693 §4.3), on access and refresh
   * tokens alike. Tokens minted before sessions recorded a client have none: read it with `clientIdOf`.
   */
  readonly client_id?: string;
  /** DPoP-bound sessions only: the RFC 7638 SHA-256 thumbprint of the key every use must prove (RFC 9449 §6.1). */
  readonly cnf?: { readonly jkt: string };
  readonly [claim: string]: unknown;
}

/** The client a token was issued to; a token without `client_id` (minted before clients were recorded) is the first-party client's. */
export function clientIdOf(claims: TokenClaims): string {
  return typeof claims.client_id === 'string' ? claims.client_id : FIRST_PARTY_CLIENT;
}

/** The thumbprint a token is bound to (`cnf.jkt`), or undefined for a bearer token. */
export function jktOf(claims: TokenClaims): string | undefined {
  const cnf: unknown = claims.cnf;
  if (typeof cnf !== 'object' || cnf === null) return undefined;
  const jkt = (cnf as { jkt?: unknown }).jkt;
  return typeof jkt === 'string' ? jkt : undefined;
}

/** The claims of a token that are not reserved: what a rotation carries over to the next tokens. */
export function customClaims(claims: TokenClaims): Record<string, unknown> {
  const custom: Record<string, unknown> = {};
  for (const name of Object.keys(claims)) if (!RESERVED_CLAIMS.has(name)) custom[name] = claims[name];
  return custom;
}

/** The `typ` header of each kind (RFC 9068 §2.1 for access tokens; refresh tokens differ so neither passes as the other). */
export const TOKEN_TYP: Readonly<Record<TokenKind, string>> = { access: 'at+jwt', refresh: 'rt+jwt' };
