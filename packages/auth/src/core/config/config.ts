import { COOKIE_NAMES, SECURE_COOKIE_PREFIX } from '../../protocol/protocol.js';
import { systemClock, type Clock } from '../clock.js';
import { normalizeOrigin as originOf, type Check } from './checks.js';
import { DEFAULTS, type OptionName, type OptionValue } from './defaults.js';
import type { Duration } from './duration.js';
import { ConfigError } from '../errors.js';
import { createKeyRing, KeyRing } from '../keys/key-ring.js';
import { Key } from '../keys/key.js';
import type { RevocationBus, SessionStore } from '../sessions/store.js';
import type { DpopAlgorithm } from '../dpop/proof.js';
import type { DpopReplayStore } from '../dpop/replay.js';
import { MIN_NONCE_SECRET_BYTES, nonceSecretBytes } from '../dpop/nonce.js';
import type { SessionEvent, TokenKind, TokenLocation } from '../types.js';

/** Origins are checked, and compared by the CSRF guard, in one normal form. */
export { normalizeOrigin } from './checks.js';

/** What an additional-claims hook is told. */
export interface ClaimsContext {
  kind: TokenKind;
  sub: string;
  sid: string;
}

/** Sessions over a store: rotation, reuse detection and revocation (docs/architecture.md "Sessions"). */
export interface SessionOptions {
  store: SessionStore;
  /** Carries revocations to other instances (Redis pub/sub); without one, "live" answers last 1 s. */
  bus?: RevocationBus;
  onEvent?: (event: SessionEvent) => void;
  livenessTtl?: Duration;
  livenessCacheSize?: number;
  maxPerUser?: number;
  retention?: Duration;
}

/** DPoP (RFC 9449): proofs of possession at token requests, and checks of bound tokens at guarded routes. */
export interface DpopOptions {
  /** `'off'` ignores proofs at token requests, `'allowed'` (default) binds tokens when a proof comes, `'required'` refuses token requests without one. */
  mode?: 'off' | 'allowed' | 'required';
  /**
   * Secret of the stateless nonces (RFC 9449 §8): a string or bytes of at least 32 bytes, or a function returning
   * the current one (checked the same way: called once at startup, and each nonce made or checked asks it again;
   * a later answer that fails the check throws). When the answer changes, nonces made under the previous secret
   * stay accepted for the rest of their window. When set, token requests must carry the current nonce.
   */
  nonceSecret?: string | Uint8Array | (() => string | Uint8Array);
  /** The public origin (`https://api.example`) proofs' `htu` is checked against; default: the issuer's when it is an http(s) URL, else the request's own. */
  origin?: string;
  /** Algorithms a proof may use; default all of EdDSA, Ed25519, ES256, ES384, RS256, PS256. */
  algorithms?: readonly DpopAlgorithm[];
  /** Where proofs seen are recorded across instances (the auth server's database), besides this process's memory. */
  replayStore?: DpopReplayStore;
  /** Require the nonce at guarded routes too (needs `nonceSecret`). */
  resourceNonce?: boolean;
}

/** Resolved DPoP settings. */
export interface ResolvedDpop {
  readonly mode: 'off' | 'allowed' | 'required';
  /** Bytes (copied), or the function as given (checked once). */
  readonly nonceSecret: Uint8Array | (() => string | Uint8Array) | undefined;
  /** Normalised `scheme://host[:port]`, or undefined to use the request's own. */
  readonly origin: string | undefined;
  readonly algorithms: readonly DpopAlgorithm[];
  readonly replayStore: DpopReplayStore | undefined;
  readonly resourceNonce: boolean;
}

/** Options of `createTessera`. Only `keys` and `refreshKey` are required. */
export interface TesseraOptions {
  /** Access-token keys: a ring, or one key that becomes its signing key. */
  keys: KeyRing | Key;
  /** The HS256 key that signs refresh tokens (never published), or a ring of them for rotation and withdrawal. */
  refreshKey: Key | KeyRing;
  issuer?: string;
  audience?: string;
  accessTtl?: Duration;
  refreshTtl?: Duration;
  sessionMaxAge?: Duration;
  leeway?: Duration;
  reuseGrace?: Duration;
  maxTokenLength?: number;
  verifiedCacheSize?: number;
  locations?: { access?: readonly TokenLocation[]; refresh?: readonly TokenLocation[] };
  cookies?: { secure?: boolean; sameSite?: 'Lax' | 'Strict'; refreshPath?: string };
  csrfHeader?: string;
  publicOrigins?: readonly string[];
  /** Claims added to every token; reserved claims can never be overridden. */
  additionalClaims?: (context: ClaimsContext) => Record<string, unknown>;
  clock?: Clock;
  /** Without sessions, Tessera is stateless: tokens live until `exp` and cannot be revoked. */
  sessions?: SessionOptions;
  /** DPoP-bound tokens (RFC 9449). */
  dpop?: DpopOptions;
}

/** Resolved session settings; durations in seconds. */
export interface ResolvedSessions {
  readonly store: SessionStore;
  readonly bus: RevocationBus | undefined;
  readonly onEvent: ((event: SessionEvent) => void) | undefined;
  readonly livenessTtl: number;
  readonly livenessCacheSize: number;
  readonly maxPerUser: number;
  readonly retention: number;
}

/** Names of the cookies Tessera writes. */
export interface CookieNames {
  access: string;
  refresh: string;
  csrf: string;
}

/** The validated, fully resolved configuration; durations in seconds. Frozen. */
export interface ResolvedConfig {
  readonly keys: KeyRing;
  /** The refresh-token keys (purpose `refresh`); a ring, so a key can be replaced or withdrawn in place. */
  readonly refreshKeys: KeyRing;
  readonly issuer: string;
  readonly audience: string;
  readonly accessTtl: number;
  readonly refreshTtl: number;
  readonly sessionMaxAge: number;
  readonly leeway: number;
  readonly reuseGrace: number;
  readonly maxTokenLength: number;
  readonly verifiedCacheSize: number;
  readonly locations: { readonly access: readonly TokenLocation[]; readonly refresh: readonly TokenLocation[] };
  readonly cookies: { readonly secure: boolean; readonly sameSite: 'Lax' | 'Strict'; readonly refreshPath: string; readonly names: CookieNames };
  readonly csrfHeader: string;
  readonly publicOrigins: readonly string[];
  readonly additionalClaims: ((context: ClaimsContext) => Record<string, unknown>) | undefined;
  readonly clock: Clock;
  readonly sessions: ResolvedSessions | undefined;
  readonly dpop: ResolvedDpop;
}

/**
 * Validates every option at once and returns a frozen, resolved configuration; all problems
 * are reported together in one `ConfigError`, each as one sentence that says how to fix it.
 * Each option is checked by its row of the table of defaults (docs/architecture.md "Configuration").
 * @example const config = resolveConfig({ keys, refreshKey, accessTtl: '5m' });
 */
export function resolveConfig(options: TesseraOptions): ResolvedConfig {
  const problems: string[] = [];
  const input = (options ?? {}) as Partial<TesseraOptions>;
  const take = checker(problems);

  const seconds = {
    accessTtl: take('accessTtl', input.accessTtl),
    refreshTtl: take('refreshTtl', input.refreshTtl),
    sessionMaxAge: take('sessionMaxAge', input.sessionMaxAge),
    leeway: take('leeway', input.leeway),
    reuseGrace: take('reuseGrace', input.reuseGrace),
  };
  problems.push(...relationProblems(seconds, (name) => name));

  const issuer = take('issuer', input.issuer);
  const audience = take('audience', input.audience);
  const maxTokenLength = take('maxTokenLength', input.maxTokenLength);
  const verifiedCacheSize = take('verifiedCacheSize', input.verifiedCacheSize);

  let keys: KeyRing | undefined;
  if (input.keys instanceof KeyRing) keys = input.keys;
  else if (input.keys instanceof Key) {
    try {
      keys = createKeyRing(input.keys);
    } catch (err) {
      problems.push(...(err instanceof ConfigError ? err.problems : [String(err)]));
    }
  } else problems.push("keys is missing: pass a key ring or a key, e.g. keys: await generateKey('EdDSA').");

  let refreshKeys: KeyRing | undefined;
  const refreshInput = input.refreshKey;
  if (refreshInput instanceof KeyRing) {
    if (refreshInput.purpose === 'refresh') refreshKeys = refreshInput;
    else problems.push("refreshKey must be a refresh-token key ring: createKeyRing(key, { purpose: 'refresh' }).");
  } else if (refreshInput instanceof Key) {
    if (refreshInput.purpose !== 'refresh' || refreshInput.alg !== 'HS256' || !refreshInput.canSign)
      problems.push('refreshKey must come from generateRefreshKey() or importRefreshKey(): an HS256 secret kept by the server.');
    else refreshKeys = createKeyRing(refreshInput, { purpose: 'refresh' });
  } else
    problems.push('refreshKey is missing: pass refreshKey: await generateRefreshKey() (or importRefreshKey(secret) so tokens survive restarts).');
  for (const refreshKey of refreshKeys?.keys ?? []) {
    if (keys?.get(refreshKey.kid))
      problems.push(`refreshKey shares the kid "${refreshKey.kid}" with an access-token key: refresh and access keys must differ.`);
    for (const key of keys?.keys ?? []) {
      if (key.alg === 'HS256' && key.verifyingKey.equals(refreshKey.verifyingKey))
        problems.push('refreshKey is the same secret as an access-token key: use a separate secret so that one kind can never pass as the other.');
    }
  }

  const locationList = (kind: TokenKind) => take('locations', input.locations?.[kind] ?? DEFAULTS.locations.value[kind], `locations.${kind}`);
  const locations = { access: locationList('access'), refresh: locationList('refresh') };
  const secure = take('cookies.secure', input.cookies?.secure);
  const sameSite = take('cookies.sameSite', input.cookies?.sameSite);
  const refreshPath = take('cookies.refreshPath', input.cookies?.refreshPath);
  const csrfHeader = take('csrfHeader', input.csrfHeader);
  const publicOrigins = take('publicOrigins', input.publicOrigins);

  if (input.additionalClaims !== undefined && typeof input.additionalClaims !== 'function')
    problems.push('additionalClaims must be a function returning an object of claims.');
  const clock = input.clock ?? systemClock;
  if (typeof clock?.now !== 'function') problems.push('clock must be an object with a now() method returning epoch milliseconds.');

  const sessions = input.sessions === undefined ? undefined : resolveSessions(input.sessions, problems);
  const dpop = resolveDpop(input.dpop ?? {}, issuer, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  // From here on every checked value is defined: a failed check would have left a problem.
  const ok = <T>(value: T | undefined): T => value as T;

  return Object.freeze({
    keys: ok(keys),
    refreshKeys: ok(refreshKeys),
    issuer: ok(issuer),
    audience: ok(audience),
    accessTtl: ok(seconds.accessTtl),
    refreshTtl: ok(seconds.refreshTtl),
    sessionMaxAge: ok(seconds.sessionMaxAge),
    leeway: ok(seconds.leeway),
    reuseGrace: ok(seconds.reuseGrace),
    maxTokenLength: ok(maxTokenLength),
    verifiedCacheSize: ok(verifiedCacheSize),
    locations: Object.freeze({ access: ok(locations.access), refresh: ok(locations.refresh) }),
    cookies: Object.freeze({
      secure: ok(secure),
      sameSite: ok(sameSite),
      refreshPath: ok(refreshPath),
      names: cookieNames(ok(secure)),
    }),
    csrfHeader: ok(csrfHeader).toLowerCase(),
    publicOrigins: ok(publicOrigins),
    additionalClaims: input.additionalClaims,
    clock,
    sessions,
    dpop,
  });
}

/**
 * Checks options by their rows of the table: `take(name, given)` answers the given value (or the
 * default) checked, or undefined after noting the one-sentence problem, named `label`.
 */
function checker(problems: string[]) {
  return <N extends OptionName>(name: N, given: unknown, label: string = name): OptionValue<N> | undefined => {
    const raw = given ?? DEFAULTS[name].value;
    const checked = (DEFAULTS[name].check as Check<OptionValue<N>>).check(raw);
    if (checked.ok) return checked.value;
    problems.push(checked.sentence(label, { value: raw }));
    return undefined;
  };
}

/**
 * The broken rules that join two options of the table (`leeway` below `accessTtl` …), over the
 * values found (a value refused already is skipped); `nameOf` names an option as its reader knows it.
 */
export function relationProblems(values: Readonly<Partial<Record<OptionName, unknown>>>, nameOf: (option: OptionName) => string): string[] {
  const seconds = (name: OptionName) => {
    const value = values[name];
    return typeof value === 'number' ? value : Number.NaN;
  };
  const problems: string[] = [];
  for (const [name, row] of Object.entries(DEFAULTS) as [OptionName, (typeof DEFAULTS)[OptionName]][]) {
    if (!('relation' in row)) continue;
    const broken = row.relation.problem(nameOf(name), seconds(name), nameOf(row.relation.other), seconds(row.relation.other));
    if (broken !== undefined) problems.push(broken);
  }
  return problems;
}

const STORE_VERBS = ['create', 'get', 'rotate', 'revoke', 'revokeUser', 'listByUser', 'purge', 'close'] as const;
const BUS_VERBS = ['publish', 'subscribe', 'close'] as const;

function resolveSessions(options: SessionOptions, problems: string[]): ResolvedSessions | undefined {
  const { store, bus, onEvent } = options;
  if (typeof store !== 'object' || store === null || STORE_VERBS.some((verb) => typeof store[verb] !== 'function')) {
    problems.push(`sessions.store must be a session store (memoryStore(), sqlStore(...)) with ${STORE_VERBS.join(', ')}.`);
  }
  if (bus !== undefined && (typeof bus !== 'object' || bus === null || BUS_VERBS.some((verb) => typeof bus[verb] !== 'function'))) {
    problems.push(`sessions.bus must be a revocation bus with ${BUS_VERBS.join(', ')}.`);
  }
  if (onEvent !== undefined && typeof onEvent !== 'function') problems.push('sessions.onEvent must be a function.');
  const take = checker(problems);
  return Object.freeze({
    store,
    bus,
    onEvent,
    livenessTtl: take('sessions.livenessTtl', options.livenessTtl) ?? Number.NaN,
    livenessCacheSize: take('sessions.livenessCacheSize', options.livenessCacheSize) ?? Number.NaN,
    maxPerUser: take('sessions.maxPerUser', options.maxPerUser) ?? Number.NaN,
    retention: take('sessions.retention', options.retention) ?? Number.NaN,
  });
}

/**
 * The DPoP settings: the table's rows for mode, algorithms and resourceNonce, and by hand the secret
 * (bytes, never echoed in a problem), the origin (a bare origin; else the issuer's, when it is an http(s) URL,
 * since the issuer is fixed and never taken from `Host`) and the replay store.
 */
export function resolveDpop(options: DpopOptions, issuer: string | undefined, problems: string[]): ResolvedDpop {
  if (typeof options !== 'object' || options === null) {
    problems.push("dpop must be an object of DPoP options, e.g. dpop: { mode: 'allowed' }.");
    options = {};
  }
  const take = checker(problems);
  const mode = take('dpop.mode', options.mode) ?? 'allowed';
  const algorithms = take('dpop.algorithms', options.algorithms) ?? [];
  const resourceNonce = take('dpop.resourceNonce', options.resourceNonce) ?? false;
  let nonceSecret: ResolvedDpop['nonceSecret'];
  const secret = options.nonceSecret;
  if (typeof secret === 'function') {
    // The function form is checked as the value it answers now; later answers are checked as they come (nonce.ts).
    let answer: unknown;
    try {
      answer = secret();
    } catch {
      answer = undefined;
    }
    if (nonceSecretBytes(answer) === undefined)
      problems.push(`dpop.nonceSecret must return a string or bytes of at least ${MIN_NONCE_SECRET_BYTES} bytes, e.g. randomBytes(32).`);
    else nonceSecret = secret;
  } else if (secret !== undefined) {
    const bytes = nonceSecretBytes(secret);
    if (bytes === undefined)
      problems.push(
        `dpop.nonceSecret must be a string or bytes of at least ${MIN_NONCE_SECRET_BYTES} bytes (or a function returning one), e.g. randomBytes(32).`,
      );
    else nonceSecret = bytes;
  }
  if (resourceNonce && secret === undefined) problems.push('dpop.resourceNonce needs dpop.nonceSecret: nonces are made from that secret.');
  let origin: string | undefined;
  if (options.origin !== undefined) {
    origin = originOf(options.origin);
    if (origin === undefined)
      problems.push(`dpop.origin must be an origin written as scheme://host[:port] with no path (got ${JSON.stringify(options.origin)}).`);
  } else if (issuer !== undefined && /^https?:\/\//i.test(issuer)) {
    try {
      origin = new URL(issuer).origin;
    } catch {
      origin = undefined;
    }
  }
  const store = options.replayStore;
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof store.claim !== 'function'))
    problems.push('dpop.replayStore must be an object with claim(jkt, jti, expiresAt) answering a promise of true (first use) or false.');
  return Object.freeze({ mode, nonceSecret, origin, algorithms, replayStore: store, resourceNonce });
}

/** The cookie names: prefixed (`__Host-`, `__Secure-`) when cookies are `Secure`, bare for local http. */
function cookieNames(secure: boolean): CookieNames {
  const name = (cookie: keyof CookieNames) => (secure ? SECURE_COOKIE_PREFIX[cookie] : '') + COOKIE_NAMES[cookie];
  return Object.freeze({ access: name('access'), refresh: name('refresh'), csrf: name('csrf') });
}
