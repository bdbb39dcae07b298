// Configuration from TESSERA_* variables and an optional JSON file (docs/architecture.md "Keys" and the
// settings list): the fixed names and defaults, every problem collected into one error with one
// sentence each naming its variable, and the rules that join two settings.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, ServerConfigError } from '../src/settings.js';

const SECRET = Buffer.alloc(32, 5).toString('base64url');

/** The problems loadConfig reports for `env` (none: an empty list). */
function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ServerConfigError)) throw err;
    expect(err.message).toBe(err.problems.join('\n'));
    return err.problems;
  }
}

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has the names and defaults docs/architecture.md fixes', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8000,
      host: '127.0.0.1',
      databaseUrl: 'sqlite:./data/tessera.db',
      accessTtl: 900,
      refreshTtl: 7 * 86400,
      sessionMaxAge: 30 * 86400,
      alg: 'EdDSA',
      transports: ['bearer', 'hybrid'],
      reuseGrace: 10,
      leeway: 0,
      cookieSecure: true,
      publicOrigins: [],
      trustProxy: false,
    });
    for (const unset of [config.redisUrl, config.secret, config.keysSecret, config.metricsToken, config.metricsPort, config.revocationsToken])
      expect(unset).toBeUndefined();
    expect(typeof config.issuer).toBe('string');
    expect(config.issuer).not.toMatch(/127\.0\.0\.1|localhost|8000/);
    expect(typeof config.audience).toBe('string');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('resolves every default to exactly the values it had before the settings table took its checks from the library', () => {
    // Settings without a default (TESSERA_REDIS_URL, _SECRET, _KEYS_SECRET, _METRICS_TOKEN, _METRICS_PORT, _REVOCATIONS_TOKEN) stay absent.
    expect(loadConfig({})).toStrictEqual({
      port: 8000,
      host: '127.0.0.1',
      databaseUrl: 'sqlite:./data/tessera.db',
      redisPrefix: 'tessera:',
      accessTtl: 900,
      refreshTtl: 604800,
      sessionMaxAge: 2592000,
      alg: 'EdDSA',
      issuer: 'urn:tessera',
      audience: 'urn:tessera:api',
      dpop: 'allowed',
      transports: ['bearer', 'hybrid'],
      reuseGrace: 10,
      leeway: 0,
      cookieSecure: true,
      publicOrigins: [],
      keyPublishDelay: 600,
      jwksMaxAge: 300,
      trustProxy: false,
      corsOrigins: [],
      maxSessions: 10,
      loginLimit: { count: 10, window: 900 },
      loginIpLimit: { count: 100, window: 900 },
      throttleIpv6Prefix: 64,
      passwordMinLength: 8,
      docs: 'static',
      hashConcurrency: Math.max(1, availableParallelism() - 1),
      logLevel: 'info',
      purgeInterval: 3600,
      drainTimeout: 10,
      legacyAlg: 'HS256',
      legacyAccess: false,
    });
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      TESSERA_PORT: '9000',
      TESSERA_HOST: '0.0.0.0',
      TESSERA_DATABASE_URL: 'postgresql://app@db/tessera',
      TESSERA_REDIS_URL: 'rediss://cache:6380',
      TESSERA_ACCESS_TTL: '5m',
      TESSERA_REFRESH_TTL: '86400',
      TESSERA_SESSION_MAX_AGE: '2d',
      TESSERA_ALG: 'HS256',
      TESSERA_SECRET: SECRET,
      TESSERA_ISSUER: 'https://auth.example',
      TESSERA_AUDIENCE: 'https://api.example',
      TESSERA_DPOP: 'required',
      TESSERA_TRANSPORT: ' cookie , bearer ',
      TESSERA_REUSE_GRACE: '0',
      TESSERA_LEEWAY: '30s',
      TESSERA_COOKIE_SECURE: 'no',
      TESSERA_PUBLIC_ORIGINS: 'https://app.example, https://admin.example',
      // A listed origin other than the server's own must be allowed by CORS too.
      TESSERA_CORS_ORIGINS: 'https://app.example',
      TESSERA_KEYS_SECRET: SECRET,
      TESSERA_LOGIN_LIMIT: '5/1m',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      databaseUrl: 'postgresql://app@db/tessera',
      redisUrl: 'rediss://cache:6380',
      accessTtl: 300,
      refreshTtl: 86400,
      sessionMaxAge: 172800,
      alg: 'HS256',
      secret: SECRET,
      issuer: 'https://auth.example',
      audience: 'https://api.example',
      dpop: 'required',
      transports: ['cookie', 'bearer'],
      reuseGrace: 0,
      leeway: 30,
      cookieSecure: false,
      publicOrigins: ['https://app.example', 'https://admin.example'],
      keysSecret: SECRET,
      loginLimit: { count: 5, window: 60 },
    });
  });

  it('collects every bad value into one error, one sentence each, naming the variable and the value', () => {
    const found = problems({
      TESSERA_ACCESS_TTL: 'soon',
      TESSERA_PORT: '99999',
      TESSERA_ALG: 'none',
      TESSERA_TRANSPORT: 'bearer,carrier-pigeon',
      TESSERA_DATABASE_URL: 'mysql://db/app',
      TESSERA_REDIS_URL: 'http://cache',
      TESSERA_COOKIE_SECURE: 'maybe',
      TESSERA_LOGIN_LIMIT: '0/15m',
      TESSERA_HASH_CONCURRENCY: '0',
      TESSERA_LOG_LEVEL: 'loud',
      TESSERA_DPOP: 'sometimes',
    });
    expect(found).toHaveLength(11);
    const byName = new Map(found.map((p) => [/^(TESSERA_[A-Z_]+) /.exec(p)?.[1], p]));
    expect(byName.get('TESSERA_ACCESS_TTL')).toMatch(/duration.*\(got "soon"\)\.$/);
    expect(byName.get('TESSERA_PORT')).toMatch(/from 0 to 65535 \(got "99999"\)\.$/);
    expect(byName.get('TESSERA_DPOP')).toMatch(/^TESSERA_DPOP must be one of off, allowed.*required.*\(got "sometimes"\)\.$/);
    expect(byName.get('TESSERA_ALG')).toMatch(/EdDSA, ES256, RS256, HS256 \(got "none"\)\.$/);
    for (const name of [
      'TESSERA_TRANSPORT',
      'TESSERA_DATABASE_URL',
      'TESSERA_REDIS_URL',
      'TESSERA_COOKIE_SECURE',
      'TESSERA_LOGIN_LIMIT',
      'TESSERA_HASH_CONCURRENCY',
      'TESSERA_LOG_LEVEL',
    ])
      expect(byName.get(name), name).toMatch(/ must be .+\.$/);
  });

  it('refuses a bare number of seconds that looks like milliseconds, with the units spelled out', () => {
    // One hour written in milliseconds would purge every 41.7 days, publish a key for 41.7 days or cache the JWKS that long.
    for (const name of ['TESSERA_PURGE_INTERVAL', 'TESSERA_KEY_PUBLISH_DELAY', 'TESSERA_JWKS_MAX_AGE'])
      expect(problems({ [name]: '3600000' }), name).toEqual([expect.stringMatching(/3600000 is read as seconds .*looks like milliseconds/)]);
    expect(loadConfig({ TESSERA_PURGE_INTERVAL: '86400' }).purgeInterval).toBe(86_400);
    expect(loadConfig({ TESSERA_PURGE_INTERVAL: '45d' }).purgeInterval).toBe(45 * 86_400);
  });

  it('takes whole numbers only where a number is meant', () => {
    for (const port of ['-1', '80.5', '1e3', 'eighty', '']) expect(problems({ TESSERA_PORT: port }), port).toHaveLength(1);
    expect(loadConfig({ TESSERA_PORT: ' 0 ' }).port).toBe(0);
    for (const ttl of ['0', '-5m', '15 minutes', 'm']) expect(problems({ TESSERA_ACCESS_TTL: ttl }), ttl).toHaveLength(1);
  });

  it('leaves one core to the event loop by default when hashing passwords, or takes a count', () => {
    expect(loadConfig({}).hashConcurrency).toBe(Math.max(1, availableParallelism() - 1));
    expect(loadConfig({ TESSERA_HASH_CONCURRENCY: 'AUTO' }).hashConcurrency).toBe(Math.max(1, availableParallelism() - 1));
    expect(loadConfig({ TESSERA_HASH_CONCURRENCY: '3' }).hashConcurrency).toBe(3);
    for (const bad of ['0', '65', 'many', '2.5'])
      expect(problems({ TESSERA_HASH_CONCURRENCY: bad }), bad).toEqual([expect.stringMatching(/must be auto or a whole number from 1 to 64/)]);
  });

  it('takes a Redis prefix of plain characters only', () => {
    expect(loadConfig({}).redisPrefix).toBe('tessera:');
    expect(loadConfig({ TESSERA_REDIS_PREFIX: 'shop-2:' }).redisPrefix).toBe('shop-2:');
    for (const bad of ['', 'has space', 'a*b', 'x'.repeat(65)])
      expect(problems({ TESSERA_REDIS_PREFIX: bad }), bad).toEqual([expect.stringMatching(/^TESSERA_REDIS_PREFIX must be 1 to 64 letters/)]);
  });

  it('checks the rules that join two settings', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ TESSERA_ALG: 'HS256' }, /^TESSERA_SECRET is required with TESSERA_ALG=HS256/],
      [{ TESSERA_SECRET: SECRET }, /^TESSERA_SECRET is only used with TESSERA_ALG=HS256/],
      [{ TESSERA_LEEWAY: '61s', TESSERA_ACCESS_TTL: '1h' }, /^TESSERA_LEEWAY must be at most 60s/],
      [{ TESSERA_LEEWAY: '60s', TESSERA_ACCESS_TTL: '60s' }, /^TESSERA_LEEWAY \(60s\) must be smaller than TESSERA_ACCESS_TTL/],
      [{ TESSERA_REFRESH_TTL: '31d' }, /^TESSERA_REFRESH_TTL .* cannot exceed TESSERA_SESSION_MAX_AGE/],
      [{ TESSERA_REUSE_GRACE: '301s' }, /^TESSERA_REUSE_GRACE must be at most 300s/],
      [{ TESSERA_METRICS_TOKEN: 'short' }, /^TESSERA_METRICS_TOKEN must be at least 16 characters/],
      [{ TESSERA_DPOP: 'required', TESSERA_TRANSPORT: 'cookie' }, /^TESSERA_DPOP=required refuses every cookie login/],
    ];
    for (const [env, expected] of cases) expect(problems(env), JSON.stringify(env)).toEqual([expect.stringMatching(expected)]);
  });

  it('refuses secrets that are not base64url of 32 bytes, without repeating them', () => {
    for (const bad of ['hunter2hunter2', Buffer.alloc(31, 1).toString('base64url'), `${Buffer.alloc(40, 1).toString('base64')}+/==`]) {
      for (const env of [{ TESSERA_ALG: 'HS256', TESSERA_SECRET: bad }, { TESSERA_KEYS_SECRET: bad }]) {
        const found = problems(env);
        expect(found, JSON.stringify(env)).toEqual([expect.stringMatching(/^TESSERA_(KEYS_)?SECRET must be base64url of at least 32 random bytes/)]);
        expect(found[0]).not.toContain(bad);
      }
    }
    expect(loadConfig({ TESSERA_KEYS_SECRET: Buffer.alloc(48, 2).toString('base64url') }).keysSecret).toBeDefined();
  });

  it('reads a JSON file named by TESSERA_CONFIG, under the environment', () => {
    const file = join(dir, 'tessera.json');
    writeFileSync(file, JSON.stringify({ TESSERA_PORT: 9100, TESSERA_ACCESS_TTL: '10m', TESSERA_COOKIE_SECURE: false }));
    expect(loadConfig({ TESSERA_CONFIG: file })).toMatchObject({ port: 9100, accessTtl: 600, cookieSecure: false });
    expect(loadConfig({ TESSERA_CONFIG: file, TESSERA_PORT: '9200' }).port).toBe(9200);
  });

  it('says what is wrong with a config file', () => {
    const unknown = join(dir, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ TESSERA_PORT: 9100, TESSERA_PROT: 9100 }));
    expect(problems({ TESSERA_CONFIG: unknown })).toEqual([expect.stringMatching(/^TESSERA_CONFIG: TESSERA_PROT in .* is not a Tessera setting\.$/)]);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"TESSERA_PORT": ');
    const array = join(dir, 'array.json');
    writeFileSync(array, '[]');
    for (const path of [broken, array, join(dir, 'missing.json')]) {
      expect(problems({ TESSERA_CONFIG: path }), path).toEqual([expect.stringMatching(/^TESSERA_CONFIG: .* could not be read as a JSON object/)]);
    }
    const badValue = join(dir, 'bad-value.json');
    writeFileSync(badValue, JSON.stringify({ TESSERA_ALG: 'none' }));
    expect(problems({ TESSERA_CONFIG: badValue })).toEqual([expect.stringMatching(/^TESSERA_ALG must be /)]);
  });
});
