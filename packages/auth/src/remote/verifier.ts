import { decodeBase64url, isCanonicalBase64url } from '../internal/base64url.js';
import { parseJsonObject, type JsonObject } from '../internal/json.js';
import type { ResolvedConfig } from '../core/config/config.js';
import { DpopChecker } from '../core/dpop/checker.js';
import { InvalidDpopProofError, TokenExpiredError, TokenInvalidError, TokenNotYetValidError, TokenTypeError } from '../core/errors.js';
import type { TokenClaims } from '../core/tokens/claims.js';
import { checkClaims, isAccessTyp, malformed, readHeader, type ClaimRules, type TokenHeader, type VerifiedToken } from '../core/tokens/verify.js';
import type { TokenVerifier } from '../core/tokens/verify.js';
import { authenticateRequest, type AuthenticateOptions, type AuthResult, type ClaimsOf } from '../core/transport/guard.js';
import type { VerifyOnlyAuthenticator } from '../core/transport/authenticator.js';
import { extractToken } from '../core/transport/extract.js';
import { readHeaders, type AuthRequest } from '../core/transport/request.js';
import type { TokenKind, TokenLocation } from '../core/types.js';
import { JwksCache } from './jwks.js';
import { onWorkerd, type VerifyingKey } from './key-backend.js';
import { resolveRemoteOptions, type RemoteVerifierOptions, type RemoteVerifierSettings } from './options.js';

/** What the verifier asks of the revocation feed (remote/revocation-feed.ts): the contract of docs/resource-server.md. */
export interface RevocationCheck {
  start(): void;
  /** Throws `token_revoked`, or `revocations_unavailable` (503) once the feed has been lost past its bound. */
  check(claims: { sid: string }, kid: string | undefined): void;
  onKeyWithdrawn(listener: (kid: string) => void): void;
  readonly state: 'connecting' | 'live' | 'lost' | 'failed';
  close(): Promise<void>;
}

/** Makes the feed for a verifier with `revocationsUrl` (the entry passes the real one; tests may pass their own). */
export type RevocationFactory = (options: RemoteVerifierSettings) => RevocationCheck;

/** A token split and its header read, carried to the steps after the key is known. */
interface Parts {
  readonly token: string;
  readonly header: TokenHeader;
  readonly dot2: number;
  readonly payloadText: string;
  readonly signatureText: string;
  readonly useCache: boolean;
}

interface CacheEntry {
  readonly token: string;
  readonly claims: TokenClaims;
  readonly kid: string | undefined;
  readonly expMs: number;
  readonly notBeforeMs: number;
}

const HEADER_CACHE_SIZE = 64;
/** `typ` values of a plain JWT (RFC 7519 §5.1) or an access token (RFC 9068 §2.1), for the `'jwt'` profile. */
const JWT_TYP = /^(?:application\/)?(?:jwt|at\+jwt)$/i;

/**
 * Verifies access tokens against an issuer's published JWKS, without the issuer's keys or database:
 * the verify-only half of Tessera for resource servers. The same checks, in the same order and with
 * the same error codes, as the local verifier (core/tokens/verify.ts, whose pieces it reuses); the
 * key fetched from the JWKS pins the algorithm. With `revocationsUrl` it also refuses revoked sessions.
 * It is an `Authenticator`: every adapter's guards take it in place of a `Tessera`.
 */
export class RemoteVerifier<Claims extends object = object> implements VerifyOnlyAuthenticator<Claims> {
  /** A verifier only: adapters give it guards, never login, refresh or logout handlers. */
  readonly verifyOnly = true as const;
  /** The resolved options; `revocationsToken` reads `'[redacted]'` when set, so logging the verifier never prints the secret. */
  readonly options: RemoteVerifierSettings;
  /** What the guards read: where the access token is looked for (refresh tokens are never taken here). */
  readonly config: { readonly locations: { readonly access: readonly TokenLocation[]; readonly refresh: readonly TokenLocation[] } };
  readonly #jwks: JwksCache;
  readonly #rules: ClaimRules;
  readonly #feed: RevocationCheck | undefined;
  /** The transport settings `authenticateRequest` reads, shaped as the core's configuration. */
  readonly #transport: ResolvedConfig;
  /** Checks the proofs of DPoP-bound tokens (RFC 9449 §7.1) against this resource server's URLs. */
  readonly #dpop: DpopChecker | undefined;
  readonly #headers = new Map<string, TokenHeader>();
  readonly #verified = new Map<string, CacheEntry>();
  #cacheVersion = -1;

  constructor(options: RemoteVerifierOptions, revocations?: RevocationFactory) {
    const resolved = resolveRemoteOptions(options);
    // The secret goes to the feed below and nowhere else.
    this.options = Object.freeze({ ...resolved, revocationsToken: resolved.revocationsToken === undefined ? undefined : '[redacted]' });
    this.config = Object.freeze({ locations: Object.freeze({ access: resolved.locations, refresh: [] }) });
    this.#jwks = new JwksCache({
      url: resolved.jwksUrl,
      fetch: resolved.fetch,
      clock: resolved.clock,
      backend: resolved.backend,
      algorithms: resolved.algorithms,
      timeoutMs: resolved.timeoutMs,
      maxBytes: resolved.maxBytes,
      minCacheMs: resolved.minCacheMs,
      maxCacheMs: resolved.maxCacheMs,
      cooldownMs: resolved.cooldownMs,
      maxStaleMs: resolved.maxStaleMs,
      log: resolved.log,
      onEvent: resolved.onEvent,
    });
    this.#rules = {
      issuer: resolved.issuer,
      audience: resolved.audience,
      accessTtl: resolved.maxTokenLife,
      refreshTtl: 0,
      clock: resolved.clock,
      leeway: resolved.leeway,
    };
    // Only the members extractToken, readHeaders and checkOrigin read: the remote verifier has no keys or store.
    this.#transport = {
      locations: this.config.locations,
      cookies: { names: { access: resolved.cookieName, refresh: '', csrf: '' } },
      csrfHeader: resolved.csrfHeader,
      publicOrigins: resolved.publicOrigins,
    } as unknown as ResolvedConfig;
    // The proof checks use node:crypto, which on workerd cannot verify ES256 (key-backend.ts): no checker there.
    this.#dpop = onWorkerd() ? undefined : new DpopChecker({ dpop: resolved.dpop, leeway: resolved.leeway, clock: resolved.clock });
    if (resolved.revocationsUrl !== undefined) {
      if (revocations === undefined) throw new TypeError('revocationsUrl was given but no revocation feed is available.');
      const feed = revocations(resolved);
      // A withdrawn key stops verifying at once, before any JWKS refresh could tell.
      feed.onKeyWithdrawn((kid) => this.#jwks.withdraw(kid));
      feed.start();
      this.#feed = feed;
    }
  }

  /** The revocation feed's state, or undefined without `revocationsUrl`. */
  get revocationState(): RevocationCheck['state'] | undefined {
    return this.#feed?.state;
  }

  /**
   * Fetches the JWKS now (at start-up, so the first request does not wait); rejects when it cannot.
   * @example await verifier.refresh();
   */
  refresh(): Promise<void> {
    return this.#jwks.refresh();
  }

  /**
   * Verifies an access token and resolves to its claims, or rejects with a `TesseraError`:
   * `token_invalid`, `token_expired`, `token_not_yet_valid`, `token_type_invalid`, `token_revoked`,
   * 503 `jwks_unavailable` or 503 `revocations_unavailable`.
   * @example const claims = await verifier.verify(token);
   */
  verify(token: unknown): Promise<ClaimsOf<Claims>> {
    // One promise per call: the checks run synchronously until something must be awaited (see #verify).
    try {
      const entry = this.#verify(token);
      return entry instanceof Promise ? entry.then((e) => this.#revocationChecked(e)) : Promise.resolve(this.#revocationChecked(entry));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** The feed's say, after the signature and the claims passed (contract of docs/resource-server.md). */
  #revocationChecked(entry: CacheEntry): ClaimsOf<Claims> {
    this.#feed?.check(entry.claims, entry.kid);
    return entry.claims as ClaimsOf<Claims>;
  }

  /**
   * The guard's check: finds the access token in the request (header or cookie), verifies it, then
   * applies the core's transport and route rules (Origin and CSRF for cookies, `fresh`, `scope`, `claims`).
   * @example const { sub } = await verifier.authenticate({ method: 'GET', headers: req.rawHeaders });
   */
  authenticate(request: AuthRequest, options: AuthenticateOptions<Claims> & { optional: true }): Promise<AuthResult<Claims> | null>;
  authenticate(request: AuthRequest, options?: AuthenticateOptions<Claims>): Promise<AuthResult<Claims>>;
  async authenticate(request: AuthRequest, options: AuthenticateOptions<Claims> = {}): Promise<AuthResult<Claims> | null> {
    const kind: TokenKind = options.token ?? 'access';
    if (kind !== 'access') throw new TypeError('A remote verifier checks access tokens only: refresh tokens are read by their issuer alone.');
    const transport = this.#transport;
    const locations = options.locations ?? transport.locations.access;
    let token: string;
    try {
      token = extractToken(readHeaders(request.headers, transport.csrfHeader), request.body, 'access', locations, transport).token;
    } catch {
      // Missing or conflicting: the core's own pass below gives the same answer.
      return authenticateRequest(request, options as AuthenticateOptions, transport, refusingVerifier) as AuthResult<Claims> | null;
    }
    const verified = await this.#verify(token);
    this.#feed?.check(verified.claims, verified.kid);
    if (this.#dpop === undefined && Object.hasOwn(verified.claims, 'cnf'))
      throw new InvalidDpopProofError({ message: 'DPoP-bound tokens are refused on workerd, where DPoP proofs cannot be checked', status: 401 });
    // The core's rules, unchanged, over the answer just verified (the token it finds is this same one).
    const result = authenticateRequest(request, options as AuthenticateOptions, transport, answering(token, verified), undefined, this.#dpop);
    return result as AuthResult<Claims> | null;
  }

  /** Stops the revocation feed. */
  async close(): Promise<void> {
    await this.#feed?.close();
  }

  /**
   * The checks, synchronous while nothing needs waiting for (the key known and fresh, node:crypto): a promise only
   * when the JWKS must be fetched or the backend answers asynchronously, so the common path costs no extra tick.
   */
  #verify(token: unknown): CacheEntry | Promise<CacheEntry> {
    if (typeof token !== 'string') throw new TokenInvalidError({ message: 'Token is not a string' });
    const options = this.options;
    if (this.#cacheVersion !== this.#jwks.version) {
      this.#verified.clear();
      this.#cacheVersion = this.#jwks.version;
    }
    const useCache = options.verifiedCacheSize > 0;
    if (useCache) {
      const hit = this.#verified.get(token.slice(token.lastIndexOf('.') + 1));
      if (hit !== undefined && hit.token === token) {
        // The key must still be known, and the JWKS copy younger than maxStale: a hit is no way around either.
        const known = this.#jwks.key(hit.kid);
        if (known instanceof Promise) return known.then(() => this.#verify(token));
        const now = options.clock.now();
        const leewayMs = options.leeway * 1000;
        if (now >= hit.expMs + leewayMs) {
          this.#verified.delete(token.slice(token.lastIndexOf('.') + 1));
          throw new TokenExpiredError();
        }
        if (hit.notBeforeMs > now + leewayMs) throw new TokenNotYetValidError();
        return hit;
      }
    }
    // The order of core/tokens/verify.ts: length, three canonical segments, header, key, signature, kind, claims, time.
    if (token.length === 0) throw new TokenInvalidError({ message: 'Token is empty' });
    if (token.length > options.maxTokenLength) throw new TokenInvalidError({ message: 'Token is too long' });
    const dot1 = token.indexOf('.');
    const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) throw malformed();
    const payloadText = token.slice(dot1 + 1, dot2);
    const signatureText = token.slice(dot2 + 1);
    if (!isCanonicalBase64url(payloadText) || !isCanonicalBase64url(signatureText)) throw malformed();
    const headerText = token.slice(0, dot1);
    let header = this.#headers.get(headerText);
    if (header === undefined) {
      header = readHeader(headerText);
      if (this.#headers.size >= HEADER_CACHE_SIZE) this.#headers.clear();
      this.#headers.set(headerText, header);
    }
    const parts: Parts = { token, header, dot2, payloadText, signatureText, useCache };
    const found = this.#jwks.key(header.kid);
    return found instanceof Promise ? found.then((key) => this.#withKey(parts, key)) : this.#withKey(parts, found);
  }

  #withKey(parts: Parts, key: VerifyingKey): CacheEntry | Promise<CacheEntry> {
    const { token, header, dot2, signatureText } = parts;
    // The key pins the algorithm: the header must name exactly the key's one algorithm.
    if (header.alg !== key.alg) throw new TokenInvalidError({ message: 'Token algorithm does not match its key' });
    if (
      this.options.profile === 'tessera'
        ? !isAccessTyp(header.typ)
        : header.typ !== undefined && !(typeof header.typ === 'string' && JWT_TYP.test(header.typ))
    )
      throw new TokenInvalidError({ message: 'Token typ header is not accepted' });
    const checked = key.verify(token.slice(0, dot2), decodeBase64url(signatureText));
    return typeof checked === 'boolean' ? this.#withClaims(parts, key, checked) : checked.then((ok) => this.#withClaims(parts, key, ok));
  }

  #withClaims(parts: Parts, key: VerifyingKey, signatureOk: boolean): CacheEntry {
    if (!signatureOk) throw new TokenInvalidError({ message: 'Token signature is invalid' });
    const { token, payloadText, useCache } = parts;
    const claims = parseJsonObject(decodeBase64url(payloadText));
    if (claims === undefined) throw malformed();
    if (this.options.profile === 'tessera') {
      // A Tessera token's `type` claim names its kind; checkClaims refuses a mismatch as token_invalid, the local answer too.
      if (claims.type === 'refresh') throw new TokenTypeError({ message: 'An access token is required' });
      checkClaims(claims, 'access', this.#rules, true);
    } else {
      checkJwtClaims(claims, this.#rules);
    }
    const frozen = Object.freeze(claims) as TokenClaims;
    const entry: CacheEntry = {
      token,
      claims: frozen,
      kid: key.kid,
      expMs: frozen.exp * 1000,
      notBeforeMs: Math.max(typeof frozen.iat === 'number' ? frozen.iat : 0, frozen.nbf ?? 0) * 1000,
    };
    if (useCache) this.#remember(token, entry);
    return entry;
  }

  #remember(token: string, entry: CacheEntry): void {
    const cache = this.#verified;
    if (cache.size >= this.options.verifiedCacheSize) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(token.slice(token.lastIndexOf('.') + 1), entry);
  }
}

/** A stand-in for the core's verifier that answers one token already verified (and refuses any other). */
function answering(token: string, verified: { claims: TokenClaims; kid: string | undefined }): TokenVerifier {
  const answer: VerifiedToken = { kind: 'access', claims: verified.claims, kid: verified.kid ?? '' };
  return {
    verify: (candidate: unknown, kind: TokenKind) => {
      if (candidate !== token || kind !== 'access') throw new TokenInvalidError({ message: 'Token was signed by an unknown key' });
      return answer;
    },
  } as unknown as TokenVerifier;
}

/** The stand-in for a request whose extraction failed: the core rethrows the same refusal before any verify. */
const refusingVerifier = {
  verify: () => {
    throw new TokenInvalidError();
  },
} as unknown as TokenVerifier;

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * Another issuer's claims (RFC 7519 §4.1, RFC 9068 §2.2): `exp` required, `iss` and `aud` exact,
 * `iat` and `nbf` numbers when present, `sub` a string when present, the lifetime bounded; then the
 * time rules, last, as in the local verifier.
 */
function checkJwtClaims(claims: JsonObject, rules: ClaimRules): void {
  const { exp, iat, nbf, iss, aud, sub } = claims;
  if (!isTime(exp)) throw new TokenInvalidError({ message: 'Token exp claim is missing or not a number' });
  if (iat !== undefined && !isTime(iat)) throw new TokenInvalidError({ message: 'Token iat claim is not a number' });
  if (nbf !== undefined && !isTime(nbf)) throw new TokenInvalidError({ message: 'Token nbf claim is not a number' });
  if (iss !== rules.issuer) throw new TokenInvalidError({ message: 'Token issuer is not accepted' });
  if (!(aud === rules.audience || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string') && aud.includes(rules.audience))))
    throw new TokenInvalidError({ message: 'Token audience is not accepted' });
  if (sub !== undefined && (typeof sub !== 'string' || sub.length === 0))
    throw new TokenInvalidError({ message: 'Token sub claim must be a non-empty string' });
  if (exp - (iat ?? rules.clock.now() / 1000) > rules.accessTtl)
    throw new TokenInvalidError({ message: 'Token lifetime exceeds the allowed maximum' });
  const now = rules.clock.now();
  const leewayMs = rules.leeway * 1000;
  if (now >= exp * 1000 + leewayMs) throw new TokenExpiredError();
  if ((iat !== undefined && iat * 1000 > now + leewayMs) || (nbf !== undefined && nbf * 1000 > now + leewayMs)) throw new TokenNotYetValidError();
}
