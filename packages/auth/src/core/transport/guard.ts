import { checkCsrf, checkOrigin } from './csrf.js';
import type { ResolvedConfig } from '../config/config.js';
import type { TokenKind, TokenLocation } from '../types.js';
import {
  FreshTokenRequiredError,
  InsufficientScopeError,
  InvalidDpopProofError,
  TokenConflictError,
  TokenInvalidError,
  TokenExpiredError,
  TokenMissingError,
  TokenNotYetValidError,
} from '../errors.js';
import type { DpopChecker } from '../dpop/checker.js';
import { extractToken, type ExtractedToken } from './extract.js';
import { isSafeMethod, readHeaders, type AuthRequest } from './request.js';
import { jktOf, type TokenClaims } from '../tokens/claims.js';
import type { TokenVerifier, VerifyOptions } from '../tokens/verify.js';

/** The claims of a token: `TokenClaims`, with the app's own `Claims` when it declared them (`createTessera<Claims>`). */
export type ClaimsOf<Claims extends object> = TokenClaims & Claims;

/**
 * Claims a route requires: each named claim must equal the value (or, for an array claim,
 * contain it), or a predicate over the (typed) claims must return true. Failing gives 403
 * `insufficient_scope` naming the claim; a predicate may throw its own `InsufficientScopeError`
 * to say what was missing.
 */
export type ClaimsRequirement<Claims extends object = object> =
  Readonly<Record<string, string | number | boolean>> | ((claims: ClaimsOf<Claims>) => boolean);

/** What a route asks of `authenticate`. */
export interface AuthenticateOptions<Claims extends object = object> {
  /** The kind of token required. Default `'access'`. */
  token?: TokenKind;
  /** Require an access token straight from a login (`fresh: true`). */
  fresh?: boolean;
  /** No token is fine (the result is null); a bad token is still refused. */
  optional?: boolean;
  /** Claims the token must carry, e.g. `{ roles: 'admin' }`, or a predicate over them. */
  claims?: ClaimsRequirement<Claims>;
  /**
   * Scopes the token must all hold in its space-separated `scope` claim (RFC 9068 §2.2.3, RFC 8693 §4.2),
   * e.g. `'docs:write'` or `['docs:read', 'docs:write']`. Missing ones give 403 `insufficient_scope` with
   * `scope="…"` in `WWW-Authenticate` (RFC 6750 §3).
   */
  scope?: string | readonly string[];
  /** Where to look, in order; default from the configuration for the kind. */
  locations?: readonly TokenLocation[];
}

/** A verified caller; `Claims` types the custom claims (see `createTessera<Claims>`). */
export interface AuthResult<Claims extends object = object> {
  readonly kind: TokenKind;
  /** The token as received. */
  readonly token: string;
  readonly claims: ClaimsOf<Claims>;
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
 * route option, since an expired token must never pass a guard. An access token bound to a key
 * (`cnf.jkt`) passes only with the DPoP scheme and a proof `dpop` accepts (RFC 9449 §7.1).
 */
export function authenticateRequest(
  request: AuthRequest,
  options: AuthenticateOptions<object>,
  config: ResolvedConfig,
  verifier: TokenVerifier,
  verifyOptions?: VerifyOptions,
  dpop?: DpopChecker,
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
  if (kind === 'access') checkBinding(request, found, claims, dpop);
  if (found.location === 'cookie' && !isSafeMethod(request.method)) {
    checkOrigin(headers, request.protocol, config);
    checkCsrf(headers, claims);
  }
  if (options.fresh === true && claims.fresh !== true) throw new FreshTokenRequiredError();
  if (options.scope !== undefined) requireScope(claims, options.scope);
  if (options.claims !== undefined) requireClaims(claims, options.claims);
  return { kind, token: found.token, claims, sub: claims.sub, sid: claims.sid, location: found.location };
}

/**
 * RFC 9449 §7.1: a bound access token is sent as `Authorization: DPoP` with a proof by its key, whose
 * `ath` is its hash; as Bearer (or in a cookie) it is refused as `invalid_token`, never accepted as a
 * bearer token, or stealing it would be enough. The DPoP scheme with an unbound token is refused too.
 */
function checkBinding(request: AuthRequest, found: ExtractedToken, claims: TokenClaims, dpop: DpopChecker | undefined): void {
  if (!Object.hasOwn(claims, 'cnf')) {
    if (found.scheme === 'DPoP') throw new TokenInvalidError({ message: 'This token is not DPoP-bound: send it with the Bearer scheme' });
    return;
  }
  const jkt = jktOf(claims);
  if (jkt === undefined) throw new TokenInvalidError({ message: 'The token has a cnf claim without a jkt' });
  if (found.scheme !== 'DPoP') throw new TokenInvalidError({ message: 'This token is DPoP-bound: send it with the DPoP scheme and a proof' });
  if (dpop === undefined) throw new InvalidDpopProofError({ message: 'DPoP proofs cannot be checked here', status: 401 });
  dpop.forResource(request, found.token, jkt);
}

function verifyIgnoringTime(verifier: TokenVerifier, token: string, kind: TokenKind): void {
  try {
    verifier.verify(token, kind);
  } catch (err) {
    // The time rules are checked last, so these errors mean every other rule held.
    if (!(err instanceof TokenExpiredError || err instanceof TokenNotYetValidError)) throw err;
  }
}

/** Every required scope must be in the token's `scope` claim (space-separated; an array is read too). */
function requireScope(claims: TokenClaims, required: string | readonly string[]): void {
  const wanted = typeof required === 'string' ? required.split(' ').filter((s) => s !== '') : required;
  const scope = claims.scope;
  const held = typeof scope === 'string' ? scope.split(' ') : Array.isArray(scope) ? (scope as unknown[]) : [];
  const missing = wanted.filter((s) => !held.includes(s));
  if (missing.length === 0) return;
  const list = missing.map((s) => `"${s}"`).join(', ');
  throw new InsufficientScopeError({
    message: `The token lacks the scope${missing.length > 1 ? 's' : ''} ${list}`,
    scope: wanted.join(' '),
  });
}

/** Throws 403 `insufficient_scope` unless the claims meet the requirement (a predicate may throw its own). */
export function requireClaims(claims: TokenClaims, requirement: ClaimsRequirement): void {
  if (typeof requirement === 'function') {
    if (requirement(claims) !== true) throw new InsufficientScopeError({ message: 'The token does not meet the claims this route requires' });
    return;
  }
  for (const [name, wanted] of Object.entries(requirement)) {
    const actual = Object.hasOwn(claims, name) ? claims[name] : undefined;
    if (actual === wanted || (Array.isArray(actual) && actual.includes(wanted))) continue;
    const says = Array.isArray(actual) ? 'does not include' : actual === undefined ? 'is missing; it must be' : 'is not';
    throw new InsufficientScopeError({ message: `The token's ${name} claim ${says} ${JSON.stringify(wanted)}` });
  }
}
