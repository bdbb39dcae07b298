import type { ResolvedConfig } from '../config/config.js';
import type { TokenKind, TokenLocation } from '../types.js';
import { InvalidRequestError, TokenConflictError, TokenMissingError } from '../errors.js';
import { readCookie, type RequestHeaders } from './request.js';
import { peekTokenKind } from '../tokens/verify.js';

/** A token found in a request, and where. */
export interface ExtractedToken {
  readonly token: string;
  readonly location: TokenLocation;
  /** Another place held a different token of the same kind: refuse once this one has been judged. */
  readonly conflict?: boolean;
  /** A header token set aside because its (unverified) header names the other kind: it must verify as that kind. */
  readonly setAside?: string;
  /** `'DPoP'` when the header used the DPoP scheme (RFC 9449 §7.1): the token must be bound and come with a proof. */
  readonly scheme?: 'DPoP';
}

/** `Bearer` or `DPoP` 1*SP b64token (RFC 6750 §2.1, RFC 9449 §7.1); schemes are case-insensitive (RFC 9110 §11.1). */
const BEARER = /^(bearer|dpop) +([A-Za-z0-9\-._~+/]+=*)$/i;
/** A Bearer or DPoP credential anywhere in the value, also one joined after another scheme ("Basic x, Bearer y", as fetch merges two headers). */
const MENTIONS_BEARER = /(?:^|,)\s*(?:bearer|dpop)(?:\s|$)/i;

const BODY_FIELD: Readonly<Record<TokenKind, string>> = { access: 'access_token', refresh: 'refresh_token' };

/**
 * Finds the `kind` token in the configured locations. A token in the `Authorization` header is
 * judged alone: a bad one is never replaced by a cookie. The one exception is a header token of
 * the other kind (an access token as Bearer at logout, beside a refresh cookie): that is not a
 * conflict, and the other places are used. Two different tokens of the same kind, wherever they
 * are, are a conflict.
 * Throws `token_missing` naming every place looked, `invalid_request` or `token_conflict`.
 */
export function extractToken(
  headers: RequestHeaders,
  body: unknown,
  kind: TokenKind,
  locations: readonly TokenLocation[],
  config: ResolvedConfig,
): ExtractedToken {
  let fromHeader: string | undefined;
  let dpop = false;
  const others: ExtractedToken[] = [];
  for (const location of locations) {
    if (location === 'header') {
      const credential = bearerToken(headers.authorization);
      fromHeader = credential?.token;
      dpop = credential?.dpop === true;
    } else if (location === 'cookie') {
      const { value, conflict } = readCookie(headers.cookie, config.cookies.names[kind]);
      if (conflict) throw new TokenConflictError({ message: `Two different ${kind} cookies were sent` });
      if (value !== undefined) others.push({ token: value, location });
    } else {
      const value = bodyToken(body, BODY_FIELD[kind]);
      if (value !== undefined) others.push({ token: value, location });
    }
  }
  const first = others[0];
  if (fromHeader !== undefined) {
    const headerKind = first === undefined ? kind : peekTokenKind(fromHeader);
    if (headerKind === undefined || headerKind === kind) {
      // Judged alone: its own error comes first; if it verifies, a different one elsewhere is still a conflict.
      const conflict = headerKind === kind && others.some((o) => o.token !== fromHeader);
      const found: ExtractedToken = conflict ? { token: fromHeader, location: 'header', conflict } : { token: fromHeader, location: 'header' };
      return dpop ? { ...found, scheme: 'DPoP' } : found;
    }
  }
  if (first === undefined) throw new TokenMissingError({ message: `No ${kind} token was found in ${describe(locations, kind, config)}` });
  if (others.some((o) => o.token !== first.token)) throw new TokenConflictError({ message: `Two different ${kind} tokens were sent` });
  return fromHeader === undefined ? first : { ...first, setAside: fromHeader };
}

function bearerToken(values: readonly string[]): { token: string; dpop: boolean } | undefined {
  if (values.length > 1) throw new InvalidRequestError({ message: 'Send one Authorization header, not several' });
  const value = values[0];
  if (value === undefined) return undefined;
  // The well-formed credential first: one scan of the value on every guarded request instead of two.
  const match = BEARER.exec(value);
  if (match !== null) return { token: match[2] as string, dpop: (match[1] as string).length === 4 };
  if (!MENTIONS_BEARER.test(value)) return undefined; // another scheme: no bearer token here
  throw new InvalidRequestError({ message: 'The Authorization header is not a valid Bearer or DPoP credential' });
}

function bodyToken(body: unknown, field: string): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Object.hasOwn(body, field)) return undefined;
  const value = (body as Record<string, unknown>)[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidRequestError({ message: `${field} must be a string` });
  return value;
}

function describe(locations: readonly TokenLocation[], kind: TokenKind, config: ResolvedConfig): string {
  const names = locations.map((l) =>
    l === 'header' ? 'the Authorization header' : l === 'cookie' ? `the ${config.cookies.names[kind]} cookie` : `the ${BODY_FIELD[kind]} body field`,
  );
  return names.length === 1 ? (names[0] as string) : `${names.slice(0, -1).join(', ')} or ${names.at(-1) as string}`;
}
