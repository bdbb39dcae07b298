// The server's one table of settings: every TESSERA_* variable, its default and what it does.
// Configuration is parsed and validated from this table, and the README's table is generated from it.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseDuration } from '@tessera/auth';

type Transport = 'bearer' | 'cookie' | 'hybrid';

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
  readonly alg: 'EdDSA' | 'ES256' | 'RS256' | 'HS256';
  readonly secret: string | undefined;
  readonly issuer: string;
  readonly audience: string;
  readonly transports: readonly Transport[];
  readonly reuseGrace: number;
  readonly leeway: number;
  readonly cookieSecure: boolean;
  readonly publicOrigins: readonly string[];
  readonly keysSecret: string | undefined;
  readonly trustProxy: boolean;
  readonly corsOrigins: readonly string[];
  readonly maxSessions: number;
  readonly loginLimit: Limit;
  readonly loginIpLimit: Limit;
  readonly hashConcurrency: number;
  readonly metricsToken: string | undefined;
  readonly metricsPort: number | undefined;
  readonly logLevel: string;
  readonly purgeInterval: number;
}

/** `count` attempts per `window` seconds. */
export interface Limit {
  readonly count: number;
  readonly window: number;
}

interface Setting<K extends keyof ServerConfig> {
  readonly env: string;
  readonly default: string | undefined;
  readonly doc: string;
  readonly parse: (raw: string) => ServerConfig[K] | Problem;
  /** A secret: a problem with it never repeats the value. */
  readonly sensitive?: boolean;
}

/** A parse failure: what the value must be, as the end of the sentence "TESSERA_X must be …". */
class Problem {
  constructor(readonly expected: string) {}
}

const duration = (min: number) => (raw: string) => {
  const s = parseDuration(raw);
  return s === undefined || s < min ? new Problem(`a duration such as 15m, 7d or a number of seconds${min > 0 ? ` (at least ${min} s)` : ''}`) : s;
};
const integer = (min: number, max: number) => (raw: string) => {
  const n = Number(raw);
  return /^\d+$/.test(raw.trim()) && Number.isInteger(n) && n >= min && n <= max ? n : new Problem(`a whole number from ${min} to ${max}`);
};
/** `auto` leaves one core to the event loop: a login storm then cannot starve every other request. */
const hashes = (raw: string) =>
  raw.trim().toLowerCase() === 'auto'
    ? Math.max(1, availableParallelism() - 1)
    : integer(1, 64)(raw) instanceof Problem
      ? new Problem('auto or a whole number from 1 to 64')
      : Number(raw);
const boolean = (raw: string) => {
  const v = raw.trim().toLowerCase();
  return v === 'true' || v === '1' || v === 'yes' ? true : v === 'false' || v === '0' || v === 'no' ? false : new Problem('true or false');
};
const text = (raw: string) => (raw.trim() === '' ? new Problem('a non-empty string') : raw.trim());
const optionalText = (raw: string) => (raw.trim() === '' ? undefined : raw.trim());
/** base64url of at least 32 bytes, checked at start like every other value (not at the first key load). */
const secretText = (raw: string) => {
  const value = raw.trim();
  if (value === '') return undefined;
  return /^[A-Za-z0-9_-]+$/.test(value) && Buffer.from(value, 'base64url').length >= 32
    ? value
    : new Problem('base64url of at least 32 random bytes (node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))")');
};
const list = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
const limit = (raw: string) => {
  const m = /^(\d+)\s*\/\s*(\S+)$/.exec(raw.trim());
  const window = m ? parseDuration(m[2]) : undefined;
  return m && window !== undefined && window > 0 && Number(m[1]) > 0
    ? { count: Number(m[1]), window }
    : new Problem('a limit such as 10/15m (attempts per window)');
};

/** Every setting, in the order the README lists them. */
export const SETTINGS: { readonly [K in keyof ServerConfig]: Setting<K> } = {
  port: { env: 'TESSERA_PORT', default: '8000', doc: 'Port to listen on.', parse: integer(0, 65535) },
  host: { env: 'TESSERA_HOST', default: '127.0.0.1', doc: 'Address to listen on (0.0.0.0 for every interface).', parse: text },
  databaseUrl: {
    env: 'TESSERA_DATABASE_URL',
    default: 'sqlite:./data/tessera.db',
    doc: 'Users, sessions and keys: `sqlite:<path>` (embedded) or `postgres://…`.',
    parse: (raw) => (/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(raw.trim()) ? raw.trim() : new Problem('sqlite:<path> or postgres://user@host/db')),
  },
  redisUrl: {
    env: 'TESSERA_REDIS_URL',
    default: undefined,
    doc: 'Redis for revocation messages between instances and shared throttling, e.g. `redis://127.0.0.1:6379`.',
    parse: (raw) => (raw.trim() === '' ? undefined : /^rediss?:\/\/.+/.test(raw.trim()) ? raw.trim() : new Problem('redis://host:port')),
  },
  redisPrefix: {
    env: 'TESSERA_REDIS_PREFIX',
    default: 'tessera:',
    doc: 'Prefix of every Redis key and channel of this deployment: two deployments on one Redis need two prefixes.',
    parse: (raw) => (/^[A-Za-z0-9_.:-]{1,64}$/.test(raw.trim()) ? raw.trim() : new Problem('1 to 64 letters, digits or _ . : -')),
  },
  accessTtl: { env: 'TESSERA_ACCESS_TTL', default: '15m', doc: 'Access-token lifetime.', parse: duration(1) },
  refreshTtl: { env: 'TESSERA_REFRESH_TTL', default: '7d', doc: 'Refresh-token lifetime.', parse: duration(1) },
  sessionMaxAge: {
    env: 'TESSERA_SESSION_MAX_AGE',
    default: '30d',
    doc: 'Absolute session lifetime; refreshing never extends it.',
    parse: duration(1),
  },
  alg: {
    env: 'TESSERA_ALG',
    default: 'EdDSA',
    doc: 'Access-token algorithm: EdDSA, ES256, RS256 (published in the JWKS) or HS256 (with TESSERA_SECRET).',
    parse: (raw) =>
      ['EdDSA', 'ES256', 'RS256', 'HS256'].includes(raw.trim())
        ? (raw.trim() as ServerConfig['alg'])
        : new Problem('one of EdDSA, ES256, RS256, HS256'),
  },
  secret: {
    env: 'TESSERA_SECRET',
    default: undefined,
    doc: 'HS256 only: base64url of at least 32 random bytes.',
    parse: secretText,
    sensitive: true,
  },
  issuer: { env: 'TESSERA_ISSUER', default: 'urn:tessera', doc: 'The `iss` of every token; fixed, so every instance agrees.', parse: text },
  audience: { env: 'TESSERA_AUDIENCE', default: 'urn:tessera:api', doc: 'The `aud` of access tokens, always issued and checked.', parse: text },
  transports: {
    env: 'TESSERA_TRANSPORT',
    default: 'bearer,hybrid',
    doc: 'Transports a login may choose (body field `transport`); the first is the default.',
    parse: (raw) => {
      const items = list(raw);
      return items.length > 0 && items.every((t) => t === 'bearer' || t === 'cookie' || t === 'hybrid') && new Set(items).size === items.length
        ? (items as Transport[])
        : new Problem('a comma-separated list of bearer, cookie, hybrid');
    },
  },
  reuseGrace: {
    env: 'TESSERA_REUSE_GRACE',
    default: '10s',
    doc: 'How long the previous refresh token still answers (two tabs refreshing at once); 0 allowed.',
    parse: duration(0),
  },
  leeway: { env: 'TESSERA_LEEWAY', default: '0s', doc: 'Clock skew tolerated on token times (at most 60 s).', parse: duration(0) },
  cookieSecure: {
    env: 'TESSERA_COOKIE_SECURE',
    default: 'true',
    doc: 'Mark cookies Secure (turn off only for plain http that is not localhost).',
    parse: boolean,
  },
  publicOrigins: {
    env: 'TESSERA_PUBLIC_ORIGINS',
    default: '',
    doc: "Origins allowed to use cookie credentials, comma-separated; unset: the server's own origin.",
    parse: list,
  },
  keysSecret: {
    env: 'TESSERA_KEYS_SECRET',
    default: undefined,
    doc: 'Encrypts the private keys stored in the database (base64url of at least 32 random bytes).',
    parse: secretText,
    sensitive: true,
  },
  trustProxy: {
    env: 'TESSERA_TRUST_PROXY',
    default: 'false',
    doc: 'Take the client address from X-Forwarded-For (only behind a proxy you run).',
    parse: boolean,
  },
  corsOrigins: { env: 'TESSERA_CORS_ORIGINS', default: '', doc: 'Origins allowed by CORS, comma-separated; unset: CORS off.', parse: list },
  maxSessions: {
    env: 'TESSERA_MAX_SESSIONS',
    default: '10',
    doc: 'Live sessions per user; the oldest is revoked past it (0: no limit).',
    parse: integer(0, 100000),
  },
  loginLimit: { env: 'TESSERA_LOGIN_LIMIT', default: '10/15m', doc: 'Login, register and password-change attempts per account.', parse: limit },
  loginIpLimit: { env: 'TESSERA_LOGIN_IP_LIMIT', default: '100/15m', doc: 'The same attempts per client address.', parse: limit },
  hashConcurrency: {
    env: 'TESSERA_HASH_CONCURRENCY',
    default: 'auto',
    doc: 'Password hashes computed at once (auto: one less than the CPU cores, at least 1); more wait in a bounded queue.',
    parse: hashes,
  },
  metricsToken: {
    env: 'TESSERA_METRICS_TOKEN',
    default: undefined,
    doc: '`/metrics` answers requests bearing this token; unset (and no port): metrics off.',
    parse: optionalText,
  },
  metricsPort: {
    env: 'TESSERA_METRICS_PORT',
    default: undefined,
    doc: 'Serve `/metrics` on this separate port (bound to TESSERA_HOST) without a token.',
    parse: (raw) => (raw.trim() === '' ? undefined : integer(1, 65535)(raw)),
  },
  logLevel: {
    env: 'TESSERA_LOG_LEVEL',
    default: 'info',
    doc: 'fatal, error, warn, info, debug, trace or silent.',
    parse: (raw) =>
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(raw.trim())
        ? raw.trim()
        : new Problem('one of fatal, error, warn, info, debug, trace, silent'),
  },
  purgeInterval: {
    env: 'TESSERA_PURGE_INTERVAL',
    default: '1h',
    doc: 'How often ended sessions are deleted (0: never; run `tessera purge`).',
    parse: duration(0),
  },
};

/** A configuration mistake: one sentence per bad value, each saying how to fix it. */
export class ServerConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ServerConfigError';
  }
}

/**
 * Reads the configuration from `TESSERA_*` variables, over an optional JSON file named by
 * TESSERA_CONFIG (keys are the variable names). Every problem is collected into one error.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  const problems: string[] = [];
  let file: Record<string, unknown> = {};
  const path = env.TESSERA_CONFIG;
  if (path !== undefined && path !== '') {
    try {
      const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      file = parsed as Record<string, unknown>;
      for (const key of Object.keys(file))
        if (!Object.values(SETTINGS).some((s) => s.env === key)) problems.push(`TESSERA_CONFIG: ${key} in ${path} is not a Tessera setting.`);
    } catch (err) {
      problems.push(
        `TESSERA_CONFIG: ${path} could not be read as a JSON object of TESSERA_* settings (${err instanceof Error ? err.message : 'unknown error'}).`,
      );
    }
  }
  const resolved: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS) as [keyof ServerConfig, Setting<keyof ServerConfig>][]) {
    const fromFile = file[setting.env];
    const raw = env[setting.env] ?? (fromFile === undefined ? undefined : String(fromFile)) ?? setting.default;
    if (raw === undefined) continue;
    const value = setting.parse(raw);
    if (value instanceof Problem)
      problems.push(`${setting.env} must be ${value.expected}${setting.sensitive ? '' : ` (got ${JSON.stringify(raw)})`}.`);
    else resolved[key] = value;
  }
  const config = resolved as unknown as ServerConfig;
  if (problems.length === 0) {
    if (config.alg === 'HS256' && config.secret === undefined)
      problems.push(
        'TESSERA_SECRET is required with TESSERA_ALG=HS256: set it to base64url of 32 random bytes (node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))").',
      );
    if (config.alg !== 'HS256' && config.secret !== undefined)
      problems.push(`TESSERA_SECRET is only used with TESSERA_ALG=HS256; unset it or set TESSERA_ALG=HS256 (TESSERA_ALG is ${config.alg}).`);
    if (config.leeway > 60) problems.push(`TESSERA_LEEWAY must be at most 60s (got ${config.leeway}s).`);
    if (config.leeway >= config.accessTtl)
      problems.push(`TESSERA_LEEWAY (${config.leeway}s) must be smaller than TESSERA_ACCESS_TTL (${config.accessTtl}s).`);
    if (config.refreshTtl > config.sessionMaxAge)
      problems.push(`TESSERA_REFRESH_TTL (${config.refreshTtl}s) cannot exceed TESSERA_SESSION_MAX_AGE (${config.sessionMaxAge}s).`);
    if (config.reuseGrace > 300)
      problems.push(`TESSERA_REUSE_GRACE must be at most 300s (got ${config.reuseGrace}s): a long grace lets a stolen token live on.`);
    if (config.metricsToken !== undefined && config.metricsToken.length < 16)
      problems.push('TESSERA_METRICS_TOKEN must be at least 16 characters, so it cannot be guessed.');
  }
  if (problems.length > 0) throw new ServerConfigError(problems);
  return Object.freeze(config);
}
