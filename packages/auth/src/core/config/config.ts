import { COOKIE_NAMES, SECURE_COOKIE_PREFIX } from '../../protocol/protocol.js';
import { systemClock, type Clock } from '../clock.js';
import type { Check } from './checks.js';
import { DEFAULTS, type OptionName, type OptionValue } from './defaults.js';
import type { Duration } from './duration.js';
import { ConfigError } from '../errors.js';
import { createKeyRing, KeyRing } from '../keys/key-ring.js';
import { Key } from '../keys/key.js';
import type { RevocationBus, SessionStore } from '../sessions/store.js';
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

/** The cookie names: prefixed (`__Host-`, `__Secure-`) when cookies are `Secure`, bare for local http. */
function cookieNames(secure: boolean): CookieNames {
  const name = (cookie: keyof CookieNames) => (secure ? SECURE_COOKIE_PREFIX[cookie] : '') + COOKIE_NAMES[cookie];
  return Object.freeze({ access: name('access'), refresh: name('refresh'), csrf: name('csrf') });
}
