// The server's one table of settings (docs/architecture.md "Configuration"): every TESSERA_* variable,
// its own default and what it does. A setting that is a library option takes its check, and unless the
// server words it for operators its sentence, from the library's table (DEFAULTS); settings of the
// server's own are checked by the library's check builders. The README's table is generated from it.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  ALGORITHMS,
  CHECKS,
  DEFAULTS,
  parseDuration,
  relationProblems,
  type Algorithm,
  type Check,
  type CheckKind,
  type CheckRefusal,
  type OptionName,
  type OptionValue,
} from '@tessera/auth';
import { TRANSPORTS, type Transport } from '@tessera/auth/protocol';
import {
  LEGACY_ALGS,
  LEGACY_FORMATS,
  legacyProblems,
  legacySecretText,
  legacyUntilText,
  type LegacyAlg,
  type LegacyFormat,
} from './legacy/settings-checks.js';

const { boolean, duration, integer, oneOf, refuse, someOf, text } = CHECKS;
/** Past a day, a bare number of seconds for these settings was most likely meant in milliseconds. */
const DAY = 86_400;

/** The resolved server configuration. Durations in seconds. */
export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly redisUrl: string | undefined;
  readonly redisPrefix: string;
  readonly accessTtl: number;
  readonly refreshTtl: number;
  readonly sessionMaxAge: number;
  readonly alg: Algorithm;
  readonly secret: string | undefined;
  readonly issuer: string;
  readonly audience: string;
  /** DPoP at the token endpoints and /auth/login, /auth/refresh (RFC 9449). */
  readonly dpop: 'off' | 'allowed' | 'required';
  readonly transports: readonly Transport[];
  readonly reuseGrace: number;
  readonly leeway: number;
  readonly cookieSecure: boolean;
  readonly publicOrigins: readonly string[];
  readonly keysSecret: string | undefined;
  readonly keyPublishDelay: number;
  readonly jwksMaxAge: number;
  readonly trustProxy: boolean;
  readonly corsOrigins: readonly string[];
  readonly maxSessions: number;
  readonly loginLimit: Limit;
  readonly loginIpLimit: Limit;
  readonly throttleIpv6Prefix: number;
  readonly passwordMinLength: number;
  readonly docs: 'static' | 'interactive';
  readonly hashConcurrency: number;
  readonly metricsToken: string | undefined;
  readonly metricsPort: number | undefined;
  readonly revocationsToken: string | undefined;
  readonly logLevel: string;
  readonly purgeInterval: number;
  readonly drainTimeout: number;
  readonly legacyFormat: LegacyFormat | undefined;
  readonly legacySecret: string | undefined;
  readonly legacyAlg: LegacyAlg;
  /** Epoch milliseconds: from this instant nothing legacy is accepted. */
  readonly legacyUntil: number | undefined;
  readonly legacyUserClaim: string | undefined;
  readonly legacyAccess: boolean;
}

/** `count` attempts per `window` seconds. */
export interface Limit {
  readonly count: number;
  readonly window: number;
}

/** One TESSERA_* variable. Without a default it is unset until given, and a blank value unsets it. */
export interface Setting<T> {
  readonly env: string;
  readonly default: string | undefined;
  readonly doc: string;
  readonly check: Check<T>;
  /** The library option it sets, when it sets one. */
  readonly option?: OptionName;
  /** A secret: a problem with it never repeats the value. */
  readonly secret?: boolean;
}

/**
 * The check and sentence of the library option `name`; `doc` replaces the sentence only where the
 * variable is written differently from the option (a comma-separated list instead of an array).
 */
function option<N extends OptionName>(name: N, wording: { doc?: string } = {}): Pick<Setting<OptionValue<N>>, 'doc' | 'check' | 'option'> {
  return { doc: wording.doc ?? DEFAULTS[name].doc, check: DEFAULTS[name].check as Check<OptionValue<N>>, option: name };
}

/** A check of the server's own over the (trimmed) text of its variable. */
function own<T>(test: (text: string) => T | CheckRefusal): Check<T> {
  const refused = (result: T | CheckRefusal): result is CheckRefusal =>
    typeof result === 'object' && result !== null && 'ok' in result && result.ok === false;
  return {
    kind: 'text',
    check: (value) => {
      const result = test(String(value));
      return refused(result) ? result : { ok: true, value: result };
    },
  };
}

/** base64url of at least 32 bytes, checked at start like every other value (not at the first key load). */
const secretText = own((value) =>
  /^[A-Za-z0-9_-]+$/.test(value) && Buffer.from(value, 'base64url').length >= 32
    ? value
    : refuse('base64url of at least 32 random bytes (node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))")'),
);
/** `auto` leaves one core to the event loop: a login storm then cannot starve every other request. */
const hashes = own((value) => {
  if (value.toLowerCase() === 'auto') return Math.max(1, availableParallelism() - 1);
  const count = integer(1, 64).check(read('integer', value));
  return count.ok ? count.value : refuse('auto or a whole number from 1 to 64');
});
const limit = own((value) => {
  const m = /^(\d+)\s*\/\s*(\S+)$/.exec(value);
  const window = m ? parseDuration(m[2]) : undefined;
  return m && window !== undefined && window > 0 && Number(m[1]) > 0
    ? { count: Number(m[1]), window }
    : refuse('a limit such as 10/15m (attempts per window)');
});
/** Any comma-separated list, unchecked. */
const list: Check<readonly string[]> = { kind: 'list', check: (value) => ({ ok: true, value: value as string[] }) };

/** Every setting, in the order the README lists them. */
export const SETTINGS: { readonly [K in keyof ServerConfig]: Setting<ServerConfig[K]> } = {
  port: { env: 'TESSERA_PORT', default: '8000', doc: 'Port to listen on.', check: integer(0, 65535) },
  host: {
    env: 'TESSERA_HOST',
    default: '127.0.0.1',
    doc: 'Address to listen on (0.0.0.0 for every interface).',
    check: text({ pattern: /^[A-Za-z0-9._:%-]{1,253}$/, expected: 'an address or host name, such as 127.0.0.1, 0.0.0.0, ::1 or localhost' }),
  },
  databaseUrl: {
    env: 'TESSERA_DATABASE_URL',
    default: 'sqlite:./data/tessera.db',
    doc: 'Users, sessions and keys: `sqlite:<path>` (embedded) or `postgres://…`.',
    check: text({ pattern: /^(sqlite:.+|postgres(ql)?:\/\/.+)$/, expected: 'sqlite:<path> or postgres://user@host/db' }),
  },
  redisUrl: {
    env: 'TESSERA_REDIS_URL',
    default: undefined,
    doc: 'Redis for revocation messages between instances and shared throttling, e.g. `redis://127.0.0.1:6379`.',
    check: text({ pattern: /^rediss?:\/\/.+/, expected: 'redis://host:port' }),
  },
  redisPrefix: {
    env: 'TESSERA_REDIS_PREFIX',
    default: 'tessera:',
    doc: 'Prefix of every Redis key and channel of this deployment: two deployments on one Redis need two prefixes.',
    check: text({ pattern: /^[A-Za-z0-9_.:-]{1,64}$/, expected: '1 to 64 letters, digits or _ . : -' }),
  },
  accessTtl: { env: 'TESSERA_ACCESS_TTL', default: '15m', ...option('accessTtl') },
  refreshTtl: { env: 'TESSERA_REFRESH_TTL', default: '7d', ...option('refreshTtl') },
  sessionMaxAge: {
    env: 'TESSERA_SESSION_MAX_AGE',
    default: '30d',
    ...option('sessionMaxAge'),
  },
  alg: {
    env: 'TESSERA_ALG',
    default: 'EdDSA',
    doc: 'Access-token algorithm: EdDSA, ES256, RS256 (published in the JWKS) or HS256 (with TESSERA_SECRET).',
    check: oneOf(ALGORITHMS),
  },
  secret: { env: 'TESSERA_SECRET', default: undefined, doc: 'HS256 only: base64url of at least 32 random bytes.', check: secretText, secret: true },
  issuer: {
    env: 'TESSERA_ISSUER',
    default: 'urn:tessera',
    ...option('issuer', {
      doc: 'The `iss` of every token; fixed, so every instance agrees. An https URL without query or fragment (or `http://127.0.0.1:<port>` for tests) also turns OAuth on: the endpoints are built from it, never from Host. Changing it invalidates live tokens.',
    }),
  },
  audience: {
    env: 'TESSERA_AUDIENCE',
    default: 'urn:tessera:api',
    ...option('audience'),
  },
  dpop: {
    env: 'TESSERA_DPOP',
    default: 'allowed',
    ...option('dpop.mode', {
      doc: 'DPoP (RFC 9449) at /oauth/token, /auth/login and /auth/refresh: `off` ignores proofs, `allowed` binds the tokens to the key of a proof when one is sent, `required` refuses requests without one.',
    }),
  },
  transports: {
    env: 'TESSERA_TRANSPORT',
    default: 'bearer,hybrid',
    doc: 'Transports a login may choose (body field `transport`); the first is the default.',
    check: someOf(TRANSPORTS),
  },
  reuseGrace: {
    env: 'TESSERA_REUSE_GRACE',
    default: '10s',
    ...option('reuseGrace'),
  },
  leeway: { env: 'TESSERA_LEEWAY', default: '0s', ...option('leeway') },
  cookieSecure: {
    env: 'TESSERA_COOKIE_SECURE',
    default: 'true',
    ...option('cookies.secure'),
  },
  publicOrigins: {
    env: 'TESSERA_PUBLIC_ORIGINS',
    default: '',
    ...option('publicOrigins', { doc: "Origins allowed to use cookie credentials, comma-separated; unset: the server's own origin." }),
  },
  keysSecret: {
    env: 'TESSERA_KEYS_SECRET',
    default: undefined,
    doc: 'Encrypts the private keys stored in the database (base64url of at least 32 random bytes).',
    check: secretText,
    secret: true,
  },
  keyPublishDelay: {
    env: 'TESSERA_KEY_PUBLISH_DELAY',
    default: '10m',
    doc: 'How long `tessera keys rotate` publishes the next key in the JWKS before instances sign with it (at least twice TESSERA_JWKS_MAX_AGE).',
    check: duration(0, { bare: DAY }),
  },
  jwksMaxAge: {
    env: 'TESSERA_JWKS_MAX_AGE',
    default: '5m',
    doc: 'How long verifiers may cache the JWKS (its Cache-Control max-age); at most half of TESSERA_KEY_PUBLISH_DELAY.',
    check: duration(0, { bare: DAY }),
  },
  trustProxy: {
    env: 'TESSERA_TRUST_PROXY',
    default: 'false',
    doc: 'Take the client address from X-Forwarded-For (only behind a proxy you run).',
    check: boolean,
  },
  corsOrigins: { env: 'TESSERA_CORS_ORIGINS', default: '', doc: 'Origins allowed by CORS, comma-separated; unset: CORS off.', check: list },
  maxSessions: {
    env: 'TESSERA_MAX_SESSIONS',
    default: '10',
    ...option('sessions.maxPerUser'),
  },
  loginLimit: { env: 'TESSERA_LOGIN_LIMIT', default: '10/15m', doc: 'Login, register and password-change attempts per account.', check: limit },
  loginIpLimit: { env: 'TESSERA_LOGIN_IP_LIMIT', default: '100/15m', doc: 'The same attempts per client address.', check: limit },
  throttleIpv6Prefix: {
    env: 'TESSERA_THROTTLE_IPV6_PREFIX',
    default: '64',
    doc: 'IPv6 clients are throttled per network of this prefix length (one client usually owns a /64); IPv4 per address.',
    check: integer(32, 128),
  },
  docs: {
    env: 'TESSERA_DOCS',
    default: 'static',
    doc: 'The `/docs` page: `static` (a plain list of routes) or `interactive` (an API explorer from bundled assets).',
    check: oneOf(['static', 'interactive']),
  },
  passwordMinLength: {
    env: 'TESSERA_PASSWORD_MIN_LENGTH',
    default: '8',
    doc: 'Shortest new password, in characters; NIST SP 800-63B-4 asks for 15 where the password is the only factor.',
    check: integer(8, 64),
  },
  hashConcurrency: {
    env: 'TESSERA_HASH_CONCURRENCY',
    default: 'auto',
    doc: 'Password hashes computed at once (auto: one less than the CPU cores, at least 1); more wait in a bounded queue.',
    check: hashes,
  },
  metricsToken: {
    env: 'TESSERA_METRICS_TOKEN',
    default: undefined,
    doc: '`/metrics` answers requests bearing this token; unset (and no port): metrics off.',
    check: own((value) => (value.length >= 16 ? value : refuse('at least 16 characters, so it cannot be guessed'))),
    secret: true,
  },
  metricsPort: {
    env: 'TESSERA_METRICS_PORT',
    default: undefined,
    doc: 'Serve `/metrics` on this separate port (bound to TESSERA_HOST) without a token.',
    check: integer(1, 65535),
  },
  revocationsToken: {
    env: 'TESSERA_REVOCATIONS_TOKEN',
    default: undefined,
    doc: '`GET /revocations`, the revocation feed for resource servers, answers requests bearing this token; unset: the feed is off (404).',
    check: own((value) => (value.length >= 32 ? value : refuse('at least 32 characters, so it cannot be guessed'))),
    secret: true,
  },
  logLevel: {
    env: 'TESSERA_LOG_LEVEL',
    default: 'info',
    doc: 'fatal, error, warn, info, debug, trace or silent.',
    check: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  },
  purgeInterval: {
    env: 'TESSERA_PURGE_INTERVAL',
    default: '1h',
    doc: 'How often ended sessions are deleted (0: never; run `tessera purge`).',
    check: duration(0, { bare: DAY }),
  },
  drainTimeout: {
    env: 'TESSERA_DRAIN_TIMEOUT',
    default: '10s',
    doc: 'On SIGTERM or SIGINT, how long requests in flight may finish before their connections are cut (0: cut at once).',
    check: duration(0, { seconds: 3600 }),
  },
  // The cut-over from another stack (docs/migration.md): its tokens are honoured until TESSERA_LEGACY_UNTIL.
  legacyFormat: {
    env: 'TESSERA_LEGACY_FORMAT',
    default: undefined,
    doc: 'The stack being replaced, whose refresh tokens `POST /auth/exchange` takes until TESSERA_LEGACY_UNTIL: simplejwt, flask-jwt-extended or authx.',
    check: oneOf(LEGACY_FORMATS),
  },
  legacySecret: {
    env: 'TESSERA_LEGACY_SECRET',
    default: undefined,
    doc: "The key that stack signed with (simplejwt's SIGNING_KEY, by default Django's SECRET_KEY; JWT_SECRET_KEY for flask-jwt-extended and AuthX), at least 32 bytes.",
    check: legacySecretText,
    secret: true,
  },
  legacyAlg: {
    env: 'TESSERA_LEGACY_ALG',
    default: 'HS256',
    doc: 'The algorithm that stack signed with (HS256, HS384 or HS512); a token whose header names another is refused.',
    check: oneOf(LEGACY_ALGS),
  },
  legacyUntil: {
    env: 'TESSERA_LEGACY_UNTIL',
    default: undefined,
    doc: 'An ISO 8601 date (UTC) or date-time with offset, at most 90 days ahead, from which no token of that stack is accepted; required with TESSERA_LEGACY_FORMAT.',
    check: legacyUntilText,
  },
  legacyUserClaim: {
    env: 'TESSERA_LEGACY_USER_CLAIM',
    default: undefined,
    doc: "The claim naming the user (simplejwt's USER_ID_CLAIM, flask-jwt-extended's JWT_IDENTITY_CLAIM); unset: user_id for simplejwt, sub otherwise.",
    check: text({ pattern: /^[A-Za-z_][A-Za-z0-9_:.-]{0,63}$/, expected: 'a claim name such as user_id or sub' }),
  },
  legacyAccess: {
    env: 'TESSERA_LEGACY_ACCESS',
    default: 'false',
    doc: "The server's own guarded routes (not sessions, password or logout-all) also take that stack's access tokens until TESSERA_LEGACY_UNTIL.",
    check: boolean,
  },
};

/**
 * The TESSERA_* names the project reads that are not settings, so that `tessera serve` does not warn
 * about them: exact names, and prefixes ending in `_`.
 */
export const NOT_SETTINGS: readonly string[] = [
  'TESSERA_CONFIG', // a JSON file of settings (loadConfig)
  'TESSERA_PASSWORD', // the password of `tessera users add`
  'TESSERA_URL', // the server the README's walkthrough talks to
  'TESSERA_TEST_', // the test suites (TESSERA_TEST_DATABASE_URL)
  'TESSERA_BENCH_', // the benchmarks (TESSERA_BENCH_DATABASE_URL, TESSERA_BENCH_REDIS_URL)
];

/**
 * One warning per TESSERA_* variable in `env` that is neither a setting nor in NOT_SETTINGS, naming the
 * nearest setting (edit distance at most 2): a typo must not pass unseen, yet never stops the server.
 */
export function unknownVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  const names = Object.values(SETTINGS).map((s) => s.env);
  const known = (name: string): boolean =>
    names.includes(name) || NOT_SETTINGS.some((allowed) => (allowed.endsWith('_') ? name.startsWith(allowed) : name === allowed));
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('TESSERA_') || env[name] === undefined || known(name)) continue;
    let nearest: string | undefined;
    let best = 3;
    for (const candidate of names) {
      const distance = editDistance(name, candidate);
      if (distance < best) [nearest, best] = [candidate, distance];
    }
    warnings.push(`${name} is not a Tessera setting and is ignored${nearest === undefined ? '' : `: did you mean ${nearest}?`}`);
  }
  return warnings;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/**
 * The text of a variable as the value its check takes: whole numbers, yes/no and comma-separated
 * lists are read; text that cannot be read stays text, for the check to refuse.
 */
function read(kind: CheckKind, raw: string): unknown {
  const value = raw.trim();
  const lower = value.toLowerCase();
  if (kind === 'integer') return /^\d+$/.test(value) ? Number(value) : value;
  if (kind === 'boolean') return ['true', '1', 'yes'].includes(lower) ? true : ['false', '0', 'no'].includes(lower) ? false : value;
  if (kind === 'list')
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  return value;
}

/** A configuration mistake: one sentence per bad value, each saying how to fix it. */
export class ServerConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ServerConfigError';
  }
}

/**
 * Reads the configuration from `TESSERA_*` variables, over an optional JSON file named by
 * TESSERA_CONFIG (keys are the variable names). Every problem is collected into one error. `now` is the
 * instant TESSERA_LEGACY_UNTIL is judged against (at most 90 days ahead).
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env, now: number = Date.now()): ServerConfig {
  const problems: string[] = [];
  const settings = Object.entries(SETTINGS) as [keyof ServerConfig, Setting<unknown>][];
  let file: Record<string, unknown> = {};
  const path = env.TESSERA_CONFIG;
  if (path !== undefined && path !== '') {
    try {
      const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      file = parsed as Record<string, unknown>;
      for (const key of Object.keys(file))
        if (!settings.some(([, s]) => s.env === key)) problems.push(`TESSERA_CONFIG: ${key} in ${path} is not a Tessera setting.`);
    } catch (err) {
      problems.push(
        `TESSERA_CONFIG: ${path} could not be read as a JSON object of TESSERA_* settings (${err instanceof Error ? err.message : 'unknown error'}).`,
      );
    }
  }
  const resolved: Record<string, unknown> = {};
  for (const [key, setting] of settings) {
    const fromFile = file[setting.env];
    const raw = env[setting.env] ?? (fromFile === undefined ? undefined : String(fromFile)) ?? setting.default;
    if (raw === undefined) continue;
    if (setting.default === undefined && raw.trim() === '') {
      resolved[key] = undefined;
      continue;
    }
    const checked = setting.check.check(read(setting.check.kind, raw));
    if (checked.ok) resolved[key] = checked.value;
    else problems.push(checked.sentence(setting.env, setting.secret ? undefined : { value: raw }));
  }
  const config = resolved as unknown as ServerConfig;
  if (problems.length === 0) {
    if (config.alg === 'HS256' && config.secret === undefined)
      problems.push(
        'TESSERA_SECRET is required with TESSERA_ALG=HS256: set it to base64url of 32 random bytes (node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))").',
      );
    if (config.alg !== 'HS256' && config.secret !== undefined)
      problems.push(`TESSERA_SECRET is only used with TESSERA_ALG=HS256; unset it or set TESSERA_ALG=HS256 (TESSERA_ALG is ${config.alg}).`);
    // A page on another origin reaches the cookie routes only through CORS (credentialed fetch with the CSRF
    // header), so a public origin missing from TESSERA_CORS_ORIGINS can never work. The server's own origin needs
    // no CORS but is not known from settings: at most one listed origin may be missing, and it is taken to be the
    // server's own. Compared exactly, as the CORS hook compares the Origin header (app.ts).
    const cors = new Set(config.corsOrigins);
    const withoutCors = config.publicOrigins.filter((origin) => !cors.has(origin));
    if (withoutCors.length > 1)
      problems.push(
        `TESSERA_PUBLIC_ORIGINS lists ${withoutCors.join(', ')}, which TESSERA_CORS_ORIGINS does not, but a page on another origin needs CORS to use cookie credentials: add to TESSERA_CORS_ORIGINS every public origin except the server's own (at most one may be left out).`,
      );
    // A cookie login cannot carry DPoP-bound tokens (no script sends an HttpOnly cookie as DPoP), so required DPoP
    // with cookies as the only transport would refuse every login.
    if (config.dpop === 'required' && config.transports.every((t) => t === 'cookie'))
      problems.push(
        'TESSERA_DPOP=required refuses every cookie login, and TESSERA_TRANSPORT allows only cookie: add bearer or hybrid to TESSERA_TRANSPORT, or set TESSERA_DPOP=allowed.',
      );
    // A verifier that cached the JWKS just before a key was published must have fetched it again before
    // that key signs: the cache lifetime fits in the publish delay, with room for a refetch (docs/architecture.md "Keys").
    if (config.jwksMaxAge * 2 > config.keyPublishDelay)
      problems.push(
        `TESSERA_JWKS_MAX_AGE (${config.jwksMaxAge}s) must be at most half of TESSERA_KEY_PUBLISH_DELAY (${config.keyPublishDelay}s), so that verifiers caching the JWKS see a new key before it signs: lower TESSERA_JWKS_MAX_AGE or raise TESSERA_KEY_PUBLISH_DELAY.`,
      );
    // The rules joining two library options (TESSERA_LEEWAY below TESSERA_ACCESS_TTL …), named by their variables.
    const options = settings.filter(([, s]) => s.option !== undefined);
    const values = Object.fromEntries(options.map(([key, s]) => [s.option, resolved[key]]));
    problems.push(...relationProblems(values, (name) => options.find(([, s]) => s.option === name)?.[1].env ?? name));
    problems.push(...legacyProblems(config, now));
  }
  if (problems.length > 0) throw new ServerConfigError(problems);
  return Object.freeze(config);
}
