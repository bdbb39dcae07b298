import { COOKIE_NAMES, SECURE_COOKIE_PREFIX } from '../../protocol/protocol.js';
import { systemClock, type Clock } from '../clock.js';
import { DEFAULTS } from './defaults.js';
import { parseDuration, type Duration } from './duration.js';
import { ConfigError } from '../errors.js';
import { createKeyRing, KeyRing } from '../keys/key-ring.js';
import { Key } from '../keys/key.js';
import type { RevocationBus, SessionStore } from '../sessions/store.js';
import type { SessionEvent, TokenKind, TokenLocation } from '../types.js';

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
}

const LOCATIONS: readonly TokenLocation[] = ['header', 'cookie', 'body'];
const MAX_LEEWAY = 60;

/**
 * Validates every option at once and returns a frozen, resolved configuration; all problems
 * are reported together in one `ConfigError`, each as one sentence that says how to fix it.
 * @example const config = resolveConfig({ keys, refreshKey, accessTtl: '5m' });
 */
export function resolveConfig(options: TesseraOptions): ResolvedConfig {
  const problems: string[] = [];
  const input = (options ?? {}) as Partial<TesseraOptions>;

  const duration = (name: keyof typeof DEFAULTS & keyof TesseraOptions, min: number): number => {
    const raw = input[name] ?? DEFAULTS[name].value;
    const seconds = parseDuration(raw);
    if (seconds === undefined || seconds < min) {
      problems.push(`${name} must be a duration of at least ${min} s such as '15m', '7d' or a number of seconds (got ${JSON.stringify(raw)}).`);
      return Number.NaN;
    }
    return seconds;
  };
  const accessTtl = duration('accessTtl', 1);
  const refreshTtl = duration('refreshTtl', 1);
  const sessionMaxAge = duration('sessionMaxAge', 1);
  const leeway = duration('leeway', 0);
  const reuseGrace = duration('reuseGrace', 0);
  if (leeway > MAX_LEEWAY) problems.push(`leeway must be at most ${MAX_LEEWAY} s (got ${leeway} s).`);
  if (leeway >= accessTtl) problems.push(`leeway (${leeway} s) must be smaller than accessTtl (${accessTtl} s).`);
  if (refreshTtl > sessionMaxAge) problems.push(`refreshTtl (${refreshTtl} s) cannot exceed sessionMaxAge (${sessionMaxAge} s).`);
  if (reuseGrace > 300) problems.push(`reuseGrace must be at most 300 s (got ${reuseGrace} s); a long grace lets a stolen token live on.`);

  const text = (name: 'issuer' | 'audience'): string => {
    const value = input[name] ?? DEFAULTS[name].value;
    if (typeof value !== 'string' || value.length === 0 || value.length > 512)
      problems.push(`${name} must be a non-empty string (got ${JSON.stringify(value)}).`);
    return String(value);
  };
  const issuer = text('issuer');
  const audience = text('audience');

  const integer = (name: 'maxTokenLength' | 'verifiedCacheSize', min: number, max: number): number => {
    const value = input[name] ?? DEFAULTS[name].value;
    if (!Number.isInteger(value) || value < min || value > max)
      problems.push(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)}).`);
    return value;
  };
  const maxTokenLength = integer('maxTokenLength', 1024, 65536);
  const verifiedCacheSize = integer('verifiedCacheSize', 0, 1_000_000);

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

  const locations = { access: locationList('access'), refresh: locationList('refresh') };
  function locationList(kind: TokenKind): readonly TokenLocation[] {
    const value = input.locations?.[kind] ?? DEFAULTS.locations.value[kind];
    if (!Array.isArray(value) || value.length === 0 || value.some((l) => !LOCATIONS.includes(l)) || new Set(value).size !== value.length) {
      problems.push(`locations.${kind} must list one or more of ${LOCATIONS.join(', ')} without repeats (got ${JSON.stringify(value)}).`);
      return DEFAULTS.locations.value[kind];
    }
    return Object.freeze([...value]);
  }

  const secure = input.cookies?.secure ?? DEFAULTS['cookies.secure'].value;
  if (typeof secure !== 'boolean') problems.push(`cookies.secure must be true or false (got ${JSON.stringify(secure)}).`);
  const sameSite = input.cookies?.sameSite ?? DEFAULTS['cookies.sameSite'].value;
  if (sameSite !== 'Lax' && sameSite !== 'Strict')
    problems.push(`cookies.sameSite must be 'Lax' or 'Strict' (got ${JSON.stringify(sameSite)}); 'None' would send tokens on cross-site requests.`);
  const refreshPath = input.cookies?.refreshPath ?? DEFAULTS['cookies.refreshPath'].value;
  if (typeof refreshPath !== 'string' || !/^\/[\x21-\x3a\x3c-\x7e]*$/.test(refreshPath))
    problems.push(`cookies.refreshPath must be a path starting with / (got ${JSON.stringify(refreshPath)}).`);

  const csrfHeader = input.csrfHeader ?? DEFAULTS.csrfHeader.value;
  if (typeof csrfHeader !== 'string' || !/^[a-z0-9-]+$/i.test(csrfHeader))
    problems.push(`csrfHeader must be a header name (got ${JSON.stringify(csrfHeader)}).`);

  const publicOrigins: string[] = [];
  for (const origin of input.publicOrigins ?? DEFAULTS.publicOrigins.value) {
    const normalized = normalizeOrigin(origin);
    if (normalized === undefined)
      problems.push(`publicOrigins: ${JSON.stringify(origin)} is not an origin; write it as scheme://host[:port] with no path.`);
    else publicOrigins.push(normalized);
  }

  if (input.additionalClaims !== undefined && typeof input.additionalClaims !== 'function')
    problems.push('additionalClaims must be a function returning an object of claims.');
  const clock = input.clock ?? systemClock;
  if (typeof clock?.now !== 'function') problems.push('clock must be an object with a now() method returning epoch milliseconds.');

  const sessions = input.sessions === undefined ? undefined : resolveSessions(input.sessions, problems);

  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    keys: keys as KeyRing,
    refreshKeys: refreshKeys as KeyRing,
    issuer,
    audience,
    accessTtl,
    refreshTtl,
    sessionMaxAge,
    leeway,
    reuseGrace,
    maxTokenLength,
    verifiedCacheSize,
    locations: Object.freeze(locations),
    cookies: Object.freeze({
      secure,
      sameSite,
      refreshPath,
      names: cookieNames(secure),
    }),
    csrfHeader: csrfHeader.toLowerCase(),
    publicOrigins: Object.freeze(publicOrigins),
    additionalClaims: input.additionalClaims,
    clock,
    sessions,
  });
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
  const seconds = (name: 'livenessTtl' | 'retention', min: number): number => {
    const raw = options[name] ?? DEFAULTS[`sessions.${name}`].value;
    const value = parseDuration(raw);
    if (value === undefined || value < min) problems.push(`sessions.${name} must be a duration of at least ${min} s (got ${JSON.stringify(raw)}).`);
    return value ?? Number.NaN;
  };
  const count = (name: 'livenessCacheSize' | 'maxPerUser', max: number): number => {
    const value = options[name] ?? DEFAULTS[`sessions.${name}`].value;
    if (!Number.isInteger(value) || value < 0 || value > max)
      problems.push(`sessions.${name} must be a whole number from 0 to ${max} (got ${JSON.stringify(value)}).`);
    return value;
  };
  return Object.freeze({
    store,
    bus,
    onEvent,
    livenessTtl: seconds('livenessTtl', 1),
    livenessCacheSize: count('livenessCacheSize', 10_000_000),
    maxPerUser: count('maxPerUser', 100_000),
    retention: seconds('retention', 0),
  });
}

/** The cookie names: prefixed (`__Host-`, `__Secure-`) when cookies are `Secure`, bare for local http. */
function cookieNames(secure: boolean): CookieNames {
  const name = (cookie: keyof CookieNames) => (secure ? SECURE_COOKIE_PREFIX[cookie] : '') + COOKIE_NAMES[cookie];
  return Object.freeze({ access: name('access'), refresh: name('refresh'), csrf: name('csrf') });
}

/** `scheme://host[:port]` in lower case, or undefined when `value` is not a bare origin. */
export function normalizeOrigin(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    // An origin is scheme, host and port only: anything else in the text is a mistake worth reporting.
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '' || /[?#]|\/\/.*\/./.test(value))
      return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}
