import { decodeBase64url, isCanonicalBase64url } from '../../internal/base64url.js';
import { parseJsonObject, type JsonObject } from '../../internal/json.js';
import type { ResolvedConfig } from '../config/config.js';
import type { TokenKind } from '../types.js';
import { TokenExpiredError, TokenInvalidError, TokenNotYetValidError, TokenTypeError } from '../errors.js';
import { isAlgorithm } from '../keys/algorithms.js';
import type { Key } from '../keys/key.js';
import type { TokenClaims } from './claims.js';
import { verifyInput } from './jws.js';

/** A token that passed every check. */
export interface VerifiedToken {
  readonly kind: TokenKind;
  readonly claims: TokenClaims;
  /** The key that verified it. */
  readonly kid: string;
}

/** How `verify` treats a token's expiry. */
export interface VerifyOptions {
  /**
   * `'allow'`: an expired token passes when every other rule holds (signature, header, issuer,
   * audience, claims, not-before). Only for naming the session a token belongs to (logout): an
   * expired token never grants access. Such a call never touches the verified-token cache.
   */
  readonly expired: 'allow' | 'refuse';
}

interface ResolvedHeader {
  readonly key: Key;
  readonly kind: TokenKind;
}

interface CacheEntry {
  /** The whole token: a hit needs the exact same string, never just the same signature. */
  readonly token: string;
  readonly verified: VerifiedToken;
  readonly expMs: number;
  readonly notBeforeMs: number;
}

const ACCESS_TYP = /^(?:application\/)?at\+jwt$/i;
const REFRESH_TYP = /^(?:application\/)?rt\+jwt$/i;
const HEADER_CACHE_SIZE = 64;
/** Header members that belong to JWE or to extensions we do not implement: refuse, never ignore. */
const REFUSED_HEADER_MEMBERS = ['crit', 'zip', 'enc', 'b64'] as const;

/**
 * Verifies compact JWS tokens against the access key ring and the refresh key. The key is
 * found by `kid` and pins the algorithm; the signature is checked before any claim is read.
 * Parsed headers are cached by their exact text, and verified access tokens by the exact
 * token string until their `exp`; both caches are dropped when the key ring changes.
 */
export class TokenVerifier {
  readonly #config: ResolvedConfig;
  /** The versions of the two key rings the caches were filled under. */
  #accessVersion = -1;
  #refreshVersion = -1;
  readonly #headers = new Map<string, ResolvedHeader>();
  /** The header text seen last: most tokens of one server share it, so a prefix check skips the map. */
  #lastHeader: { readonly text: string; readonly resolved: ResolvedHeader } | undefined;
  /** Keyed by the signature segment (short, so cheap to hash); the entry holds the full token to compare. */
  readonly #verified = new Map<string, CacheEntry>();

  constructor(config: ResolvedConfig) {
    this.#config = config;
  }

  /**
   * Verifies `token` as a token of kind `expected`, or throws a `TesseraError`
   * (`token_invalid`, `token_expired`, `token_not_yet_valid`, `token_type_invalid`). With
   * `{ expired: 'allow' }` an expired token passes when every other rule holds (see `VerifyOptions`).
   */
  verify(token: unknown, expected: TokenKind, options?: VerifyOptions): VerifiedToken {
    const config = this.#config;
    if (this.#accessVersion !== config.keys.version || this.#refreshVersion !== config.refreshKeys.version) this.#reset();
    if (typeof token !== 'string') throw new TokenInvalidError({ message: 'Token is not a string' });
    // Off the cache both ways: a hit would refuse an expired token, and a pass must not be remembered.
    if (options !== undefined && options.expired === 'allow') return this.#verifyUncached(token, expected, false);
    const useCache = expected === 'access' && config.verifiedCacheSize > 0;
    if (useCache) {
      const hit = this.#verified.get(token.slice(token.lastIndexOf('.') + 1));
      if (hit !== undefined && hit.token === token) {
        const now = config.clock.now();
        const leewayMs = config.leeway * 1000;
        if (now >= hit.expMs + leewayMs) {
          this.#verified.delete(token.slice(token.lastIndexOf('.') + 1));
          throw new TokenExpiredError();
        }
        if (hit.notBeforeMs > now + leewayMs) throw new TokenNotYetValidError();
        return hit.verified;
      }
    }
    const verified = this.#verifyUncached(token, expected, true);
    if (useCache) this.#remember(token, verified);
    return verified;
  }

  /** Drops every cached answer (a key ring changed). */
  #reset(): void {
    this.#headers.clear();
    this.#lastHeader = undefined;
    this.#verified.clear();
    this.#accessVersion = this.#config.keys.version;
    this.#refreshVersion = this.#config.refreshKeys.version;
  }

  #remember(token: string, verified: VerifiedToken): void {
    const cache = this.#verified;
    if (cache.size >= this.#config.verifiedCacheSize) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    const { exp, iat, nbf } = verified.claims;
    cache.set(token.slice(token.lastIndexOf('.') + 1), { token, verified, expMs: exp * 1000, notBeforeMs: Math.max(iat, nbf ?? 0) * 1000 });
  }

  #verifyUncached(token: string, expected: TokenKind, checkExpiry: boolean): VerifiedToken {
    const config = this.#config;
    if (token.length === 0) throw new TokenInvalidError({ message: 'Token is empty' });
    if (token.length > config.maxTokenLength) throw new TokenInvalidError({ message: 'Token is too long' });
    // Exactly three non-empty canonical base64url segments (RFC 7515 §7.1, RFC 8725bis §3.14).
    const last = this.#lastHeader;
    const sameHeader = last !== undefined && token.charCodeAt(last.text.length) === 0x2e && token.startsWith(last.text);
    const dot1 = sameHeader ? last.text.length : token.indexOf('.');
    const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) throw malformed();
    const payloadText = token.slice(dot1 + 1, dot2);
    const signatureText = token.slice(dot2 + 1);
    if (!isCanonicalBase64url(payloadText) || !isCanonicalBase64url(signatureText)) throw malformed();

    const { key, kind } = sameHeader ? last.resolved : this.#resolveHeader(token.slice(0, dot1));
    if (!verifyInput(key, token.slice(0, dot2), decodeBase64url(signatureText)))
      throw new TokenInvalidError({ message: 'Token signature is invalid' });
    if (kind !== expected)
      throw new TokenTypeError({ message: expected === 'access' ? 'An access token is required' : 'A refresh token is required' });

    const claims = parseJsonObject(decodeBase64url(payloadText));
    if (claims === undefined) throw malformed();
    checkClaims(claims, kind, config, checkExpiry);
    return { kind, claims: Object.freeze(claims) as TokenClaims, kid: key.kid };
  }

  #resolveHeader(text: string): ResolvedHeader {
    const cached = this.#headers.get(text);
    if (cached !== undefined) {
      this.#lastHeader = { text, resolved: cached };
      return cached;
    }
    // Checked here, not on the fast paths: a cached header text was checked when it was first seen.
    const { alg, kid, typ } = readHeader(text);
    const key = this.#findKey(kid);
    if (key === undefined) throw new TokenInvalidError({ message: 'Token was signed by an unknown key' });
    // The key pins the algorithm: the header must name exactly the key's one algorithm.
    if (alg !== key.alg) throw new TokenInvalidError({ message: 'Token algorithm does not match its key' });
    const kind: TokenKind = key.purpose;
    if (typeof typ !== 'string' || !(kind === 'access' ? ACCESS_TYP : REFRESH_TYP).test(typ))
      throw new TokenInvalidError({ message: 'Token typ header is not accepted' });
    const resolved = { key, kind };
    if (this.#headers.size >= HEADER_CACHE_SIZE) this.#headers.clear();
    this.#headers.set(text, resolved);
    this.#lastHeader = { text, resolved };
    return resolved;
  }

  #findKey(kid: string | undefined): Key | undefined {
    const { keys, refreshKeys } = this.#config;
    if (kid === undefined) {
      // Without a kid only an unambiguous single-key ring can answer; refresh tokens always carry one.
      const all = keys.keys;
      return all.length === 1 ? all[0] : undefined;
    }
    return refreshKeys.get(kid) ?? keys.get(kid);
  }
}

/** The members of a JOSE header that verification reads; `jku`, `jwk`, `x5u`, `x5c` are never read. */
export interface TokenHeader {
  readonly alg: string;
  readonly kid: string | undefined;
  readonly typ: unknown;
}

/**
 * Parses a header segment with the rules of docs/architecture.md "Tokens": canonical base64url, a
 * strict JSON object, no `crit`/`zip`/`enc`/`b64`, an allowlisted `alg`, a string `kid`. Shared by
 * the local verifier and the remote one (`@tessera/auth/remote`), so both refuse alike.
 */
export function readHeader(text: string): TokenHeader {
  if (!isCanonicalBase64url(text)) throw malformed();
  const header = parseJsonObject(decodeBase64url(text));
  if (header === undefined) throw malformed();
  for (const member of REFUSED_HEADER_MEMBERS) {
    if (member in header) throw new TokenInvalidError({ message: `Token header "${member}" is not supported` });
  }
  const { alg, kid, typ } = header;
  if (!isAlgorithm(alg)) throw new TokenInvalidError({ message: 'Token algorithm is not accepted' });
  if (kid !== undefined && typeof kid !== 'string') throw new TokenInvalidError({ message: 'Token kid is not a string' });
  return { alg, kid, typ };
}

/** Whether `typ` names an access token (RFC 9068 §2.1: `at+jwt`, with or without `application/`). */
export function isAccessTyp(typ: unknown): boolean {
  return typeof typ === 'string' && ACCESS_TYP.test(typ);
}

export function malformed(): TokenInvalidError {
  return new TokenInvalidError({ message: 'Token is malformed' });
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256;
}

/** What the claim rules read of a configuration: the local `ResolvedConfig`, or a remote verifier's options. */
export type ClaimRules = Pick<ResolvedConfig, 'issuer' | 'audience' | 'accessTtl' | 'refreshTtl' | 'clock' | 'leeway'>;

/** Claim rules of docs/architecture.md "Tokens" and RFC 9068 §4, checked only after the signature. */
export function checkClaims(claims: JsonObject, kind: TokenKind, config: ClaimRules, checkExpiry: boolean): void {
  const { exp, iat, nbf, iss, aud, sub, jti, sid, type, fresh, csrf, transport } = claims;
  if (type !== kind) throw new TokenInvalidError({ message: 'Token type claim does not match its header' });
  if (!isTime(exp)) throw new TokenInvalidError({ message: 'Token exp claim is missing or not a number' });
  if (!isTime(iat)) throw new TokenInvalidError({ message: 'Token iat claim is missing or not a number' });
  if (nbf !== undefined && !isTime(nbf)) throw new TokenInvalidError({ message: 'Token nbf claim is not a number' });
  if (iss !== config.issuer) throw new TokenInvalidError({ message: 'Token issuer is not accepted' });
  const audience = kind === 'access' ? config.audience : config.issuer;
  if (!(aud === audience || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string') && aud.includes(audience)))) {
    throw new TokenInvalidError({ message: 'Token audience is not accepted' });
  }
  if (!isId(sub)) throw new TokenInvalidError({ message: 'Token sub claim must be a non-empty string' });
  if (!isId(jti)) throw new TokenInvalidError({ message: 'Token jti claim must be a non-empty string' });
  if (!isId(sid)) throw new TokenInvalidError({ message: 'Token sid claim must be a non-empty string' });
  if (fresh !== undefined && (kind !== 'access' || typeof fresh !== 'boolean'))
    throw new TokenInvalidError({ message: 'Token fresh claim is not accepted' });
  if (csrf !== undefined && !isId(csrf)) throw new TokenInvalidError({ message: 'Token csrf claim must be a string' });
  if (transport !== undefined && (kind !== 'refresh' || (transport !== 'cookie' && transport !== 'hybrid')))
    throw new TokenInvalidError({ message: 'Token transport claim is not accepted' });
  if (exp - iat > (kind === 'access' ? config.accessTtl : config.refreshTtl))
    throw new TokenInvalidError({ message: 'Token lifetime exceeds the allowed maximum' });

  const now = config.clock.now();
  const leewayMs = config.leeway * 1000;
  if (checkExpiry && now >= exp * 1000 + leewayMs) throw new TokenExpiredError();
  if (iat * 1000 > now + leewayMs || (nbf !== undefined && nbf * 1000 > now + leewayMs)) throw new TokenNotYetValidError();
}

/**
 * The kind a token's unverified header claims to be, or undefined. Used only to tell apart two
 * tokens of different kinds in one request (an access token as Bearer beside a refresh cookie);
 * the token is fully verified afterwards.
 */
export function peekTokenKind(token: string): TokenKind | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot > 1024) return undefined;
  const text = token.slice(0, dot);
  if (!isCanonicalBase64url(text)) return undefined;
  const typ = parseJsonObject(decodeBase64url(text))?.typ;
  if (typeof typ !== 'string') return undefined;
  return ACCESS_TYP.test(typ) ? 'access' : REFRESH_TYP.test(typ) ? 'refresh' : undefined;
}
