import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { normalizeOrigin } from '../core/config/checks.js';
import { resolveDpop, type DpopOptions, type ResolvedDpop } from '../core/config/config.js';
import { parseDuration, type Duration } from '../core/config/duration.js';
import { ConfigError } from '../core/errors.js';
import type { TokenLocation } from '../core/types.js';
import { COOKIE_NAMES, CSRF_HEADER, SECURE_COOKIE_PREFIX } from '../protocol/protocol.js';
import type { JwksEvent } from './jwks.js';
import { REVOCATION_FEED_DEFAULTS, type RevocationFeedEvent } from './revocation-feed.js';
import { defaultBackend, nodeBackend, onWorkerd, webCryptoBackend, type KeyBackend, type RemoteAlgorithm } from './key-backend.js';

/**
 * DPoP at a resource server (RFC 9449 §7): how the proofs that come with bound access tokens are checked.
 * `origin` is this resource server's public origin (`htu` is that origin plus the request path; default the
 * request's own scheme and `Host`), never the issuer's; `resourceNonce` makes proofs carry a nonce made from
 * `nonceSecret` (401 `use_dpop_nonce` with `DPoP-Nonce` until they do). Proofs are not checked on workerd.
 */
export type RemoteDpopOptions = Pick<DpopOptions, 'origin' | 'algorithms' | 'nonceSecret' | 'resourceNonce'>;

/** What a remote verifier reports for metrics and logs: the JWKS cache's events and the revocation feed's. */
export type RemoteVerifierEvent = JwksEvent | RevocationFeedEvent;

/**
 * The claim rules a remote verifier applies. `'tessera'`: exactly the local verifier's rules for
 * access tokens (typ `at+jwt`, `type`, `sid`, `jti`, `sub`, lifetime). `'jwt'`: any issuer's
 * signed JWT (typ absent, `JWT` or `at+jwt`; `exp` required; `iss` and `aud` exact as always).
 */
export type RemoteProfile = 'tessera' | 'jwt';

/**
 * Options of `createRemoteVerifier`. Durations are seconds or text such as `'10m'`.
 * @example createRemoteVerifier({ issuer: 'https://auth.example', audience: 'https://api.example', jwksUrl: 'https://auth.example/auth/jwks.json' })
 */
export interface RemoteVerifierOptions {
  /** The exact `iss` the tokens carry. */
  issuer: string;
  /** The `aud` this resource server answers to (a token's `aud` must equal it or list it). */
  audience: string;
  /** Where the issuer publishes its JWKS (`https:`, or `http:` on a loopback address). */
  jwksUrl: string | URL;
  /** The auth server's `GET /revocations` feed: logouts and withdrawn keys within a second. */
  revocationsUrl?: string | URL;
  /** The bearer secret of the feed (`TESSERA_REVOCATIONS_TOKEN` on the server). */
  revocationsToken?: string;
  /** No feed event nor heartbeat for this long: the feed counts itself disconnected and reconnects. Default `'15s'`. */
  revocationsLostAfter?: Duration;
  /** Disconnected this long: tokens are refused with 503 `revocations_unavailable`. Default `'60s'`. */
  revocationsFailClosedAfter?: Duration;
  /** Past `revocationsFailClosedAfter`, accept tokens on signature and expiry alone instead of refusing. Default false. */
  expiryOnlyWhenFeedFails?: boolean;
  /** `'tessera'` (default) or `'jwt'` for another issuer's tokens; see `RemoteProfile`. */
  profile?: RemoteProfile;
  /** Algorithms accepted from the JWKS. Default all of EdDSA, ES256, RS256; HS256 never. */
  algorithms?: readonly RemoteAlgorithm[];
  /** The oldest JWKS copy ever used: past it, tokens are refused with 503 `jwks_unavailable`. Default `'1h'`. */
  maxStale?: Duration;
  /** Shortest time a fetched JWKS is trusted as fresh, whatever its `Cache-Control` says. Default `'30s'`. */
  jwksMinAge?: Duration;
  /** Longest time a fetched JWKS is trusted as fresh; also the freshness when no `max-age` is sent. Default `'10m'`. */
  jwksMaxAge?: Duration;
  /** Least time between two fetches caused by unknown `kid`s or by failures. Default `'10s'`. */
  jwksCooldown?: Duration;
  /** Deadline of one JWKS fetch, body included. Default `'5s'`. */
  jwksTimeout?: Duration;
  /** Largest JWKS response read, in bytes. Default 65536. */
  jwksMaxBytes?: number;
  /** Longest token lifetime (`exp − iat`) accepted. Default `'1h'`. */
  maxTokenLife?: Duration;
  /** Clock leeway for `exp`, `nbf` and `iat`. Default 0, at most 60 s. */
  leeway?: Duration;
  /** Entries of the verified-token cache (0 turns it off). Default 4096. */
  verifiedCacheSize?: number;
  /** Longest token looked at. Default 8192. */
  maxTokenLength?: number;
  /** `'node'` (node:crypto), `'webcrypto'` (crypto.subtle) or a backend of your own. Default: node:crypto, WebCrypto on workerd. */
  backend?: 'node' | 'webcrypto' | KeyBackend;
  /** The `fetch` used for the JWKS and the feed. Default the global one. */
  fetch?: typeof fetch;
  /** The source of time. Default the system clock. */
  clock?: Clock;
  /** Where log lines go (a JWKS fetch failing, recovering, keys ignored); `false` for none. Default `console.warn`. */
  log?: ((line: string) => void) | false;
  /** Called on each JWKS event, for metrics (a counter per `type`). */
  onEvent?: (event: RemoteVerifierEvent) => void;
  /** Where guards look for the access token. Default `['header', 'cookie']`, as the local verifier. */
  locations?: readonly TokenLocation[];
  /** Whether the access cookie has its `__Host-` name (Secure cookies). Default true. */
  secureCookies?: boolean;
  /** Origins allowed to make cookie-authenticated state changes; empty means the request's own origin. */
  publicOrigins?: readonly string[];
  /** Header that must echo the session CSRF value on cookie requests. Default `x-csrf-token`. */
  csrfHeader?: string;
  /** How DPoP proofs of bound tokens are checked: `{ origin, algorithms, nonceSecret, resourceNonce }`; see `RemoteDpopOptions`. Default: proofs checked against the request's own origin, any algorithm, no nonce. */
  dpop?: RemoteDpopOptions;
}

/** The options checked and resolved: milliseconds, bytes, one backend. */
export interface RemoteVerifierSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  readonly revocationsUrl: string | undefined;
  readonly revocationsToken: string | undefined;
  readonly revocationsLostAfterMs: number;
  readonly revocationsFailClosedAfterMs: number;
  readonly expiryOnlyWhenFeedFails: boolean;
  readonly profile: RemoteProfile;
  readonly algorithms: readonly RemoteAlgorithm[];
  readonly maxStaleMs: number;
  readonly minCacheMs: number;
  readonly maxCacheMs: number;
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Seconds. */
  readonly maxTokenLife: number;
  /** Seconds. */
  readonly leeway: number;
  readonly verifiedCacheSize: number;
  readonly maxTokenLength: number;
  readonly backend: KeyBackend;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  readonly onEvent: ((event: RemoteVerifierEvent) => void) | undefined;
  readonly locations: readonly TokenLocation[];
  readonly cookieName: string;
  readonly publicOrigins: readonly string[];
  readonly csrfHeader: string;
  /** Resolved DPoP settings (only origin, algorithms, nonce secret and resourceNonce matter at a resource server). */
  readonly dpop: ResolvedDpop;
}

const ALGS: readonly RemoteAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];
const LOCATIONS: readonly TokenLocation[] = ['header', 'cookie', 'body'];

/** Checks every option at once (docs/architecture.md "Configuration"): one `ConfigError` lists each problem. */
export function resolveRemoteOptions(options: RemoteVerifierOptions): RemoteVerifierSettings {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null)
    throw new ConfigError(['createRemoteVerifier takes an options object: { issuer, audience, jwksUrl }.']);
  const text = (name: string, value: unknown): string => {
    if (typeof value === 'string' && value.length > 0) return value;
    problems.push(`${name} must be a non-empty string (got ${JSON.stringify(value) ?? String(value)}).`);
    return '';
  };
  const url = (name: string, value: unknown): string => {
    const raw = value instanceof URL ? value.href : text(name, value);
    if (raw === '') return '';
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      problems.push(`${name} must be an absolute URL (got ${JSON.stringify(raw)}).`);
      return '';
    }
    const loopback = parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost' || parsed.hostname === '[::1]';
    // Keys fetched over plain HTTP could be swapped by anyone on the path; loopback is the one exception (tests, sidecars).
    if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback))
      problems.push(`${name} must use https: (plain http only on a loopback address), got ${JSON.stringify(raw)}.`);
    return parsed.href;
  };
  const seconds = (name: string, value: Duration | undefined, fallback: Duration, min: number, max: number): number => {
    const parsed = parseDuration(value ?? fallback);
    if (parsed === undefined || parsed < min || parsed > max) {
      problems.push(`${name} must be a duration from ${min} s to ${max} s, such as '10m' (got ${JSON.stringify(value)}).`);
      return parseDuration(fallback) ?? 0;
    }
    return parsed;
  };
  const integer = (name: string, value: number | undefined, fallback: number, min: number, max: number): number => {
    const n = value ?? fallback;
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)}).`);
      return fallback;
    }
    return n;
  };
  const issuer = text('issuer', options.issuer);
  const audience = text('audience', options.audience);
  const jwksUrl = url('jwksUrl', options.jwksUrl);
  const revocationsUrl = options.revocationsUrl === undefined ? undefined : url('revocationsUrl', options.revocationsUrl);
  const revocationsToken = options.revocationsToken;
  if (revocationsToken !== undefined && (typeof revocationsToken !== 'string' || revocationsToken.length < 32))
    problems.push('revocationsToken must be the feed secret of at least 32 characters (TESSERA_REVOCATIONS_TOKEN on the server).');
  if (revocationsUrl !== undefined && revocationsToken === undefined)
    problems.push('revocationsUrl needs revocationsToken: the feed answers only with its bearer secret.');
  const profile = options.profile ?? 'tessera';
  if (profile !== 'tessera' && profile !== 'jwt') problems.push(`profile must be 'tessera' or 'jwt' (got ${JSON.stringify(profile)}).`);
  // The feed revokes by session: tokens without a session id could never be refused by it.
  if (profile === 'jwt' && revocationsUrl !== undefined)
    problems.push("revocationsUrl needs profile 'tessera': the feed revokes sessions, named by the sid claim.");
  if (options.expiryOnlyWhenFeedFails !== undefined && typeof options.expiryOnlyWhenFeedFails !== 'boolean')
    problems.push('expiryOnlyWhenFeedFails must be true or false.');
  const algorithms = options.algorithms ?? ALGS;
  if (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.some((a) => !ALGS.includes(a)))
    problems.push(`algorithms must list some of ${ALGS.join(', ')} (HS256 is never taken from a JWKS; got ${JSON.stringify(algorithms)}).`);
  const maxStale = seconds('maxStale', options.maxStale, '1h', 60, 7 * 86400);
  const minAge = seconds('jwksMinAge', options.jwksMinAge, '30s', 0, 86400);
  const maxAge = seconds('jwksMaxAge', options.jwksMaxAge, '10m', 1, 86400);
  if (maxAge < minAge) problems.push(`jwksMaxAge (${maxAge} s) must not be below jwksMinAge (${minAge} s).`);
  if (maxAge > maxStale)
    problems.push(`jwksMaxAge (${maxAge} s) must not exceed maxStale (${maxStale} s): a copy would be refused while still fresh.`);
  const cooldown = seconds('jwksCooldown', options.jwksCooldown, '10s', 0, 3600);
  const timeout = seconds('jwksTimeout', options.jwksTimeout, '5s', 1, 60);
  const backendOption = options.backend;
  const backend =
    backendOption === undefined
      ? defaultBackend()
      : backendOption === 'node'
        ? nodeBackend
        : backendOption === 'webcrypto'
          ? webCryptoBackend
          : typeof backendOption === 'object' && backendOption !== null && typeof backendOption.importKey === 'function'
            ? backendOption
            : undefined;
  if (backend === undefined) problems.push("backend must be 'node', 'webcrypto' or an object with importKey.");
  const given = options.fetch;
  if (given !== undefined && typeof given !== 'function') problems.push('fetch must be a function like the global fetch.');
  if (given === undefined && typeof globalThis.fetch !== 'function') problems.push('This runtime has no global fetch: pass the fetch option.');
  // Always called through this wrapper, never as a method of an options object: workerd's fetch refuses any other `this`.
  const fetchFn: typeof fetch = (input, init) => (given ?? globalThis.fetch)(input, init);
  const locations = options.locations ?? ['header', 'cookie'];
  if (!Array.isArray(locations) || locations.length === 0 || locations.some((l) => !LOCATIONS.includes(l)))
    problems.push(`locations must list some of ${LOCATIONS.join(', ')}.`);
  const publicOrigins: string[] = [];
  for (const origin of options.publicOrigins ?? []) {
    // Compared with a request's normalized Origin (core/transport/csrf.ts): normalized once here.
    const normalized = typeof origin === 'string' ? normalizeOrigin(origin) : undefined;
    if (normalized === undefined) problems.push(`publicOrigins must list origins such as 'https://app.example' (got ${JSON.stringify(origin)}).`);
    else publicOrigins.push(normalized);
  }
  const csrfHeader = options.csrfHeader ?? CSRF_HEADER;
  if (typeof csrfHeader !== 'string' || !/^[a-z0-9-]+$/i.test(csrfHeader)) problems.push('csrfHeader must be a header name.');
  const dpopOption: unknown = options.dpop ?? {};
  let dpop: ResolvedDpop;
  if (options.dpop !== undefined && onWorkerd())
    problems.push(
      'dpop cannot be set on workerd: DPoP proofs are checked with node:crypto, which cannot verify them there, so DPoP-bound tokens are refused.',
    );
  if (typeof dpopOption !== 'object' || dpopOption === null) {
    problems.push("dpop must be an object of DPoP options, e.g. dpop: { origin: 'https://api.example' }.");
    dpop = resolveDpop({}, undefined, []);
  } else {
    const { origin, algorithms: dpopAlgorithms, nonceSecret, resourceNonce } = dpopOption as RemoteDpopOptions;
    // No issuer passed: `htu` names this resource server, never the auth server that issued the token.
    dpop = resolveDpop({ origin, algorithms: dpopAlgorithms, nonceSecret, resourceNonce } as DpopOptions, undefined, problems);
  }
  const resolved: RemoteVerifierSettings = {
    issuer,
    audience,
    jwksUrl,
    revocationsUrl,
    revocationsToken,
    revocationsLostAfterMs: seconds('revocationsLostAfter', options.revocationsLostAfter, REVOCATION_FEED_DEFAULTS.lostAfterMs / 1000, 1, 600) * 1000,
    revocationsFailClosedAfterMs:
      seconds('revocationsFailClosedAfter', options.revocationsFailClosedAfter, REVOCATION_FEED_DEFAULTS.failClosedAfterMs / 1000, 1, 86400) * 1000,
    expiryOnlyWhenFeedFails: options.expiryOnlyWhenFeedFails === true,
    profile,
    algorithms: [...algorithms],
    maxStaleMs: maxStale * 1000,
    minCacheMs: minAge * 1000,
    maxCacheMs: maxAge * 1000,
    cooldownMs: cooldown * 1000,
    timeoutMs: Math.max(1, Math.round(timeout * 1000)),
    maxBytes: integer('jwksMaxBytes', options.jwksMaxBytes, 65536, 1024, 16 * 1024 * 1024),
    maxTokenLife: seconds('maxTokenLife', options.maxTokenLife, '1h', 1, 30 * 86400),
    leeway: seconds('leeway', options.leeway, 0, 0, 60),
    verifiedCacheSize: integer('verifiedCacheSize', options.verifiedCacheSize, 4096, 0, 1_000_000),
    maxTokenLength: integer('maxTokenLength', options.maxTokenLength, 8192, 1024, 65536),
    backend: backend ?? nodeBackend,
    fetch: fetchFn,
    clock: options.clock ?? systemClock,
    log: options.log === false ? () => undefined : (options.log ?? ((line: string) => console.warn(line))),
    onEvent: options.onEvent,
    locations: [...locations],
    cookieName: (options.secureCookies === false ? '' : SECURE_COOKIE_PREFIX.access) + COOKIE_NAMES.access,
    publicOrigins,
    csrfHeader: csrfHeader.toLowerCase(),
    dpop,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(resolved);
}
