import { checkCsrf, checkOrigin } from './csrf.js';
import type { ResolvedConfig } from '../config/config.js';
import type { TokenKind, TokenLocation } from '../types.js';
import {
  FreshTokenRequiredError,
  InsufficientScopeError,
  TokenConflictError,
  TokenExpiredError,
  TokenMissingError,
  TokenNotYetValidError,
} from '../errors.js';
import { extractToken } from './extract.js';
import { isSafeMethod, readHeaders, type AuthRequest } from './request.js';
import type { TokenClaims } from '../tokens/claims.js';
import type { TokenVerifier, VerifyOptions } from '../tokens/verify.js';

/**
 * Claims a route requires: each named claim must equal the value (or, for an array claim,
 * contain it), or a predicate over all claims must return true. Failing gives 403 `insufficient_scope`.
 */
export type ClaimsRequirement = Readonly<Record<string, string | number | boolean>> | ((claims: TokenClaims) => boolean);

/** What a route asks of `authenticate`. */
export interface AuthenticateOptions {
  /** The kind of token required. Default `'access'`. */
  token?: TokenKind;
  /** Require an access token straight from a login (`fresh: true`). */
  fresh?: boolean;
  /** No token is fine (the result is null); a bad token is still refused. */
  optional?: boolean;
  claims?: ClaimsRequirement;
  /** Where to look, in order; default from the configuration for the kind. */
  locations?: readonly TokenLocation[];
}

/** A verified caller. */
export interface AuthResult {
  readonly kind: TokenKind;
  /** The token as received. */
  readonly token: string;
  readonly claims: TokenClaims;
  /** The identity (`sub`). */
  readonly sub: string;
  /** The session id (`sid`). */
  readonly sid: string;
  readonly location: TokenLocation;
}

/**
 * The one check every adapter calls: extract, verify, then the transport and route rules.
 * Cookie-borne credentials on a state-changing method must pass the Origin and CSRF checks.
 * `verifyOptions` is the core's own (logout names the session of an expired token); it is not a
 * route option, since an expired token must never pass a guard.
 */
export function authenticateRequest(
  request: AuthRequest,
  options: AuthenticateOptions,
  config: ResolvedConfig,
  verifier: TokenVerifier,
  verifyOptions?: VerifyOptions,
): AuthResult | null {
  const kind = options.token ?? 'access';
  const headers = readHeaders(request.headers, config.csrfHeader);
  let found;
  try {
    found = extractToken(headers, request.body, kind, options.locations ?? config.locations[kind], config);
  } catch (err) {
    if (options.optional === true && err instanceof TokenMissingError) return null;
    throw err;
  }
  // A header token set aside as the other kind is no excuse: it must really be a token of that kind
  // (signature, kind and claims). Its times do not matter, since it is not used: an expired access
  // token as Bearer must not stop a logout with a valid refresh cookie.
  if (found.setAside !== undefined) verifyIgnoringTime(verifier, found.setAside, kind === 'access' ? 'refresh' : 'access');
  const { claims } = verifier.verify(found.token, kind, verifyOptions);
  if (found.conflict === true) throw new TokenConflictError({ message: `Two different ${kind} tokens were sent` });
  if (found.location === 'cookie' && !isSafeMethod(request.method)) {
    checkOrigin(headers, request.protocol, config);
    checkCsrf(headers, claims);
  }
  if (options.fresh === true && claims.fresh !== true) throw new FreshTokenRequiredError();
  if (options.claims !== undefined && !meets(claims, options.claims)) throw new InsufficientScopeError();
  return { kind, token: found.token, claims, sub: claims.sub, sid: claims.sid, location: found.location };
}

function verifyIgnoringTime(verifier: TokenVerifier, token: string, kind: TokenKind): void {
  try {
    verifier.verify(token, kind);
  } catch (err) {
    // The time rules are checked last, so these errors mean every other rule held.
    if (!(err instanceof TokenExpiredError || err instanceof TokenNotYetValidError)) throw err;
  }
}

function meets(claims: TokenClaims, requirement: ClaimsRequirement): boolean {
  if (typeof requirement === 'function') return requirement(claims) === true;
  for (const [name, wanted] of Object.entries(requirement)) {
    const actual = Object.hasOwn(claims, name) ? claims[name] : undefined;
    if (!(actual === wanted || (Array.isArray(actual) && actual.includes(wanted)))) return false;
  }
  return true;
}
