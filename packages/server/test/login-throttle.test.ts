// The login throttle's policy (packages/server/src/users/login-throttle.ts) over real sockets, on the
// memory throttle and on Redis: every attempt counted before any hash, the address first, a success
// resetting its own pair and giving back one address hit, and IPv6 clients counted per network.
// Addresses come from X-Forwarded-For (a trusted proxy), so each test has addresses of its own.
import { memoryThrottle, type Throttle, type ThrottleRule } from '@tessera/auth/stores/memory';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysUnder, PASSWORD, REDIS_URL, redisPrefixes, sqliteBackend, uniqueName, type Answer } from '@tessera/test-kit';
import type { TestServer } from '@tessera/test-kit/server';
import { PasswordHasher } from '../src/users/hasher.js';
import { LoginThrottle, throttleNetwork } from '../src/users/login-throttle.js';
import { expectError } from './support/contract-suite.js';
import { call, startServer } from './support/harness.js';

const LIMIT = 10;
const IP_LIMIT = 40;
const ENV = { TESSERA_TRUST_PROXY: 'true', TESSERA_LOGIN_LIMIT: `${LIMIT}/15m`, TESSERA_LOGIN_IP_LIMIT: `${IP_LIMIT}/15m` };
const prefixes = redisPrefixes('tessera:lt');

let addresses = 0;
/** An IPv4 address no other request of this file uses. */
const freshIp = (): string => {
  const n = ++addresses;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

/** A hasher that counts the password checks that ran (a check of an unknown user runs one too). */
class CountingHasher extends PasswordHasher {
  checks = 0;
  override verify(stored: string, password: string): Promise<boolean> {
    this.checks++;
    return super.verify(stored, password);
  }
}

const login = (server: TestServer, username: string, password: string, ip: string): Promise<Answer> =>
  call(server.url, 'POST', '/auth/login', { json: { username, password }, headers: { 'x-forwarded-for': ip } });

async function registerFrom(server: TestServer, ip = freshIp()): Promise<string> {
  const username = uniqueName('lt');
  const reply = await call(server.url, 'POST', '/auth/register', { json: { username, password: PASSWORD }, headers: { 'x-forwarded-for': ip } });
  expect(reply.status).toBe(201);
  return username;
}

describe('throttleNetwork', () => {
  it('keeps IPv4 addresses whole and counts IPv4-mapped IPv6 as IPv4', () => {
    expect(throttleNetwork('203.0.113.7', 64)).toBe('203.0.113.7');
    expect(throttleNetwork('::ffff:203.0.113.7', 64)).toBe('203.0.113.7');
    expect(throttleNetwork('::FFFF:cb00:7107', 64)).toBe('203.0.113.7');
  });

  it('counts IPv6 per network of the prefix, written canonically (RFC 5952)', () => {
    const network = '2001:db8:aa:bb::/64';
    for (const ip of ['2001:db8:aa:bb::1', '2001:DB8:AA:BB:0:0:0:2', '2001:0db8:00aa:00bb:ffff:ffff:ffff:ffff', '2001:db8:aa:bb:1:2:3:4%eth0']) {
      expect(throttleNetwork(ip, 64)).toBe(network);
    }
    expect(throttleNetwork('2001:db8:aa:bc::1', 64)).toBe('2001:db8:aa:bc::/64');
    expect(throttleNetwork('2001:db8:1234:5678::1', 50)).toBe('2001:db8:1234:4000::/50');
    expect(throttleNetwork('2001:db8:0:0:1:0:0:1', 128)).toBe('2001:db8::1:0:0:1/128');
    expect(throttleNetwork('::1', 64)).toBe('::/64');
  });

  it('uses anything that is not an address as it is', () => {
    expect(throttleNetwork('unknown', 64)).toBe('unknown');
  });
});

describe('LoginThrottle', () => {
  const settings = { loginLimit: { count: 2, window: 60 }, loginIpLimit: { count: 3, window: 60 }, throttleIpv6Prefix: 64 };

  /** A memory throttle that records every key hit. */
  function recorded(): { throttle: Throttle; keys: string[] } {
    const inner = memoryThrottle();
    const keys: string[] = [];
    const throttle: Throttle = {
      hit: (key: string, rule: ThrottleRule) => {
        keys.push(key);
        return inner.hit(key, rule);
      },
      refund: (key) => inner.refund(key),
      reset: (key) => inner.reset(key),
      close: () => inner.close(),
    };
    return { throttle, keys };
  }

  it('counts the address first and touches no account counter while the address is over its limit', async () => {
    const { throttle, keys } = recorded();
    const policy = new LoginThrottle(throttle, settings);
    for (let i = 0; i < 3; i++) await policy.begin('register', `name${i}`, '203.0.113.7');
    keys.length = 0;
    for (let i = 3; i < 50; i++) {
      const refused = await policy.begin('register', `name${i}`, '203.0.113.7').catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'rate_limited', status: 429 });
    }
    expect(new Set(keys)).toEqual(new Set(['register-ip:203.0.113.7']));
  });

  it('never turns a success into a failure: a throttle that cannot record it is reported', async () => {
    const inner = memoryThrottle();
    const broken: Throttle = { ...inner, refund: () => Promise.reject(new Error('down')), reset: () => Promise.reject(new Error('down')) };
    const errors: unknown[] = [];
    const attempt = await new LoginThrottle(broken, settings, (error) => errors.push(error)).begin('login', 'ada', '203.0.113.7');
    await expect(attempt.succeeded()).resolves.toBeUndefined();
    expect(errors).toHaveLength(2);
  });

  it('gives back one address hit per attempt, however often succeeded() is called', async () => {
    const throttle = memoryThrottle();
    const policy = new LoginThrottle(throttle, { ...settings, loginIpLimit: { count: 5, window: 60 } });
    for (let i = 0; i < 3; i++) await policy.begin('login', `other${i}`, '203.0.113.8');
    const attempt = await policy.begin('login', 'ada', '203.0.113.8');
    for (let i = 0; i < 5; i++) await attempt.succeeded();
    expect((await throttle.hit('login-ip:203.0.113.8', { limit: 5, windowMs: 60_000 })).count).toBe(4);
  });
});

describe.each([
  ['memory', false],
  ['Redis', true],
])('login throttle on a real server, %s throttle', (_label, redis) => {
  const backend = sqliteBackend();
  const env = { ...backend.env, ...ENV, ...(redis ? { TESSERA_REDIS_URL: REDIS_URL, TESSERA_REDIS_PREFIX: prefixes.next() } : {}) };
  const hasher = new CountingHasher({ concurrency: 1, queueLimit: 1000 });
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(env, { patch: (runtime) => ({ ...runtime, hasher }) });
  });
  afterAll(async () => {
    await server?.close();
    await backend.cleanup();
  });

  it(`lets 15 good logins of one account from one address through (limit ${LIMIT})`, async () => {
    const user = await registerFrom(server);
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push((await login(server, user, PASSWORD, ip)).status);
    expect(statuses).toEqual(Array<number>(15).fill(200));
  });

  it('lets at most the limit of 100 parallel wrong guesses for one pair reach the password check', async () => {
    const user = await registerFrom(server);
    const ip = freshIp();
    const before = hasher.checks;
    const replies = await Promise.all(Array.from({ length: 100 }, () => login(server, user, 'wrong wrong wrong', ip)));
    expect(hasher.checks - before).toBe(LIMIT);
    expect(replies.filter((r) => r.status === 401)).toHaveLength(LIMIT);
    for (const refused of replies.filter((r) => r.status !== 401)) expectError(refused, 429, 'rate_limited');
  });

  it(`stops stuffing of many accounts from one address at the address limit (${IP_LIMIT})`, async () => {
    const ip = freshIp();
    const before = hasher.checks;
    const statuses: number[] = [];
    for (let i = 0; i < IP_LIMIT + 10; i++) statuses.push((await login(server, uniqueName('nobody'), 'wrong wrong wrong', ip)).status);
    expect(statuses).toEqual([...Array<number>(IP_LIMIT).fill(401), ...Array<number>(10).fill(429)]);
    expect(hasher.checks - before).toBe(IP_LIMIT);
  });

  it('gives a pair its attempts back on a success after 9 failures, and no other pair, nor the address, more than one', async () => {
    const [victim, other] = [await registerFrom(server), await registerFrom(server)];
    const [here, elsewhere] = [freshIp(), freshIp()];
    const wrong = 'wrong wrong wrong';
    // Two other pairs locked: the other account from here, the victim's account from elsewhere.
    for (let i = 0; i < LIMIT; i++) expect((await login(server, other, wrong, here)).status).toBe(401);
    for (let i = 0; i < LIMIT; i++) expect((await login(server, victim, wrong, elsewhere)).status).toBe(401);
    for (let i = 0; i < 9; i++) expect((await login(server, victim, wrong, here)).status).toBe(401);
    expect((await login(server, victim, PASSWORD, here)).status).toBe(200);
    // Still locked: the success was not theirs.
    expectError(await login(server, other, PASSWORD, here), 429, 'rate_limited');
    expectError(await login(server, victim, PASSWORD, elsewhere), 429, 'rate_limited');
    // The pair starts over: the full limit again, then refused.
    for (let i = 0; i < LIMIT; i++) expect((await login(server, victim, wrong, here)).status).toBe(401);
    expectError(await login(server, victim, PASSWORD, here), 429, 'rate_limited');
    // The address got exactly the successful attempt's hit back: 10 + 9 + (1 - 1) + 1 + 10 + 1 = 31 so far.
    const rest: number[] = [];
    for (let i = 0; i < IP_LIMIT - 31 + 1; i++) rest.push((await login(server, uniqueName('nobody'), wrong, here)).status);
    expect(rest).toEqual([...Array<number>(IP_LIMIT - 31).fill(401), 429]);
  });

  it('keeps a locked victim locked and the flooding address limited through 500 registrations from it', async () => {
    const victim = await registerFrom(server);
    const [here, flooder] = [freshIp(), freshIp()];
    for (let i = 0; i < LIMIT; i++) await login(server, victim, 'wrong wrong wrong', here);
    expectError(await login(server, victim, PASSWORD, here), 429, 'rate_limited');
    let created = 0;
    for (let batch = 0; batch < 10; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 50 }, () =>
          call(server.url, 'POST', '/auth/register', {
            json: { username: uniqueName('flood'), password: PASSWORD },
            headers: { 'x-forwarded-for': flooder },
          }),
        ),
      );
      for (const reply of replies) {
        if (reply.status === 201) created++;
        else expectError(reply, 429, 'rate_limited');
      }
    }
    expect(created).toBe(IP_LIMIT);
    expectError(await login(server, victim, PASSWORD, here), 429, 'rate_limited');
    const after = await call(server.url, 'POST', '/auth/register', {
      json: { username: uniqueName('flood'), password: PASSWORD },
      headers: { 'x-forwarded-for': flooder },
    });
    expectError(after, 429, 'rate_limited');
  });

  it('counts IPv6 clients per /64: addresses differing only in the last 64 bits share one count', async () => {
    const user = await registerFrom(server);
    for (let i = 1; i <= LIMIT; i++) expect((await login(server, user, 'wrong wrong wrong', `2001:db8:aa:bb::${i.toString(16)}`)).status).toBe(401);
    expectError(await login(server, user, PASSWORD, '2001:db8:aa:bb:ffff:ffff:ffff:ffff'), 429, 'rate_limited');
    expectError(await login(server, user, PASSWORD, '2001:DB8:AA:BB:1234:5678:9abc:def0'), 429, 'rate_limited');
    // The next /64 is another client.
    expect((await login(server, user, PASSWORD, '2001:db8:aa:bc::1')).status).toBe(200);
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 address', async () => {
    const user = await registerFrom(server);
    const ip = freshIp();
    for (let i = 0; i < LIMIT; i++) expect((await login(server, user, 'wrong wrong wrong', `::ffff:${ip}`)).status).toBe(401);
    expectError(await login(server, user, PASSWORD, ip), 429, 'rate_limited');
  });
});

describe('login throttle in memory under a flood of new keys', () => {
  const backend = sqliteBackend();
  afterAll(async () => {
    await backend.cleanup();
  });

  it('keeps a locked victim locked and a flooding address limited once the table is full (100 keys)', async () => {
    let overflows = 0;
    const small = memoryThrottle({ maxKeys: 100, onOverflow: () => overflows++ });
    const server = await startServer({ ...backend.env, ...ENV }, { patch: (runtime) => ({ ...runtime, throttle: small }) });
    try {
      const victim = await registerFrom(server);
      const [here, flooder] = [freshIp(), freshIp()];
      for (let i = 0; i < LIMIT; i++) await login(server, victim, 'wrong wrong wrong', here);
      for (let i = 0; i < IP_LIMIT; i++) await login(server, uniqueName('nobody'), 'wrong wrong wrong', flooder);
      expectError(await login(server, uniqueName('nobody'), 'wrong', flooder), 429, 'rate_limited');
      // 150 attempts from as many addresses: 300 new keys, three times the table.
      for (let batch = 0; batch < 3; batch++) {
        await Promise.all(Array.from({ length: 50 }, () => login(server, uniqueName('nobody'), 'wrong wrong wrong', freshIp())));
      }
      expectError(await login(server, victim, PASSWORD, here), 429, 'rate_limited');
      expectError(await login(server, uniqueName('nobody'), 'wrong', flooder), 429, 'rate_limited');
      expect(overflows).toBeGreaterThan(0);
    } finally {
      await server.close();
      await small.close();
    }
  });

  it('reports overflows of the server’s own memory throttle as tessera_throttle_overflow_total', async () => {
    const token = 'metrics-token-0123456789';
    const server = await startServer({ ...backend.env, ...ENV, TESSERA_METRICS_TOKEN: token });
    try {
      const rule = { limit: 1, windowMs: 60_000 };
      for (let i = 0; i < 100_010; i++) await server.runtime.throttle.hit(`flood:${i}`, rule);
      const scraped = await call(server.url, 'GET', '/metrics', { bearer: token });
      expect(scraped.text).toMatch(/^tessera_throttle_overflow_total 10$/m);
    } finally {
      await server.close();
    }
  });
});

afterAll(async () => {
  const admin = createClient({ url: REDIS_URL });
  admin.on('error', () => undefined);
  await admin.connect();
  await deleteKeysUnder(admin, prefixes.run);
  await admin.close();
});
