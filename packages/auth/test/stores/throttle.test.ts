// The Throttle contract, run against the in-memory counters and the Redis ones (shared Redis,
// a prefix of this run's own), with real short windows: time is never faked here.
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysUnder, keysUnder as keysIn, redisPrefixes, REDIS_PORT, REDIS_URL, sleep, startTcpProxy, type TcpProxy } from '@tessera/test-kit';
import { fixedClock } from '../../src/core/clock.js';
import { ConfigError, StoreUnavailableError } from '../../src/core/errors.js';
import { redisThrottle, type RedisThrottleOptions } from '../../src/stores/redis/index.js';
import { hashKey, memoryThrottle, type Throttle, type ThrottleResult } from '../../src/stores/throttle.js';

const prefixes = redisPrefixes('tessera:test');
const newPrefix = prefixes.next;
const key = (): string => `login:${randomBytes(8).toString('hex')}`;

const admin = createClient({ url: REDIS_URL });
admin.on('error', () => undefined);

const keysUnder = (prefix: string): Promise<string[]> => keysIn(admin, prefix);

beforeAll(async () => {
  await admin.connect();
});

afterAll(async () => {
  await deleteKeysUnder(admin, prefixes.run);
  await admin.close();
});

/** The Throttle contract; every implementation must answer the same sequence of hits alike. */
function describeThrottle(name: string, make: () => Throttle): void {
  describe(`Throttle conformance: ${name}`, () => {
    const made: Throttle[] = [];
    const throttle = (): Throttle => {
      const t = make();
      made.push(t);
      return t;
    };
    afterEach(async () => {
      await Promise.all(made.splice(0).map((t) => t.close()));
    });

    it('counts hits in a window and refuses past the limit, saying when to retry', async () => {
      const t = throttle();
      const k = key();
      const rule = { limit: 3, windowMs: 10_000 };
      const results: ThrottleResult[] = [];
      for (let i = 0; i < 5; i++) results.push(await t.hit(k, rule));
      expect(results.map((r) => [r.allowed, r.count])).toEqual([
        [true, 1],
        [true, 2],
        [true, 3],
        [false, 4],
        [false, 5],
      ]);
      expect(results.slice(0, 3).map((r) => r.retryAfterMs)).toEqual([0, 0, 0]);
      for (const refused of results.slice(3)) {
        expect(refused.retryAfterMs).toBeGreaterThan(9_000);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(10_000);
      }
    });

    it('starts a new window when the old one ends; refused hits do not extend it', async () => {
      const t = throttle();
      const k = key();
      const rule = { limit: 1, windowMs: 300 };
      const start = performance.now();
      expect((await t.hit(k, rule)).allowed).toBe(true);
      const refused = await t.hit(k, rule);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(300);
      // Keep hitting while refused: a fixed window ends on time however hard it is hammered.
      let result = refused;
      while (!result.allowed) {
        if (performance.now() - start > 2000) throw new Error('the window never ended');
        await sleep(25);
        result = await t.hit(k, rule);
      }
      expect(result).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
      expect(performance.now() - start).toBeGreaterThanOrEqual(290);
    });

    it('keeps keys apart and forgets a key on reset', async () => {
      const t = throttle();
      const [a, b] = [key(), key()];
      const rule = { limit: 1, windowMs: 10_000 };
      await t.hit(a, rule);
      expect((await t.hit(a, rule)).allowed).toBe(false);
      expect(await t.hit(b, rule)).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
      await t.reset(a);
      expect(await t.hit(a, rule)).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
      expect((await t.hit(b, rule)).count).toBe(2);
      await t.reset(key()); // an unknown key is no error
    });

    it('counts 100 concurrent hits on one key exactly', async () => {
      const t = throttle();
      const k = key();
      const results = await Promise.all(Array.from({ length: 100 }, () => t.hit(k, { limit: 60, windowMs: 10_000 })));
      expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(results.filter((r) => r.allowed)).toHaveLength(60);
      expect(results.every((r) => r.allowed === r.count <= 60)).toBe(true);
    });

    it('takes keys of any length and tells apart keys that differ only at the end', async () => {
      const t = throttle();
      const base = `login:${'ä'.repeat(500_000)}`;
      const rule = { limit: 1, windowMs: 10_000 };
      expect((await t.hit(`${base}x`, rule)).count).toBe(1);
      expect((await t.hit(`${base}y`, rule)).count).toBe(1);
      expect((await t.hit(`${base}x`, rule)).count).toBe(2);
      expect((await t.hit('', rule)).count).toBe(1);
    });

    it('takes back one hit on refund, in the same window, never below 0', async () => {
      const t = throttle();
      const k = key();
      const rule = { limit: 3, windowMs: 10_000 };
      for (let i = 0; i < 4; i++) await t.hit(k, rule);
      await t.refund(k);
      await t.refund(k);
      const again = await t.hit(k, rule);
      expect(again).toEqual({ allowed: true, count: 3, retryAfterMs: 0 });
      for (let i = 0; i < 5; i++) await t.refund(k);
      expect((await t.hit(k, rule)).count).toBe(1); // went down to 0, not below
      // The window did not restart: past the limit, the time left is that of the first hit's window (timers may
      // fire a millisecond early, so 45 of the 50 ms slept are asked for).
      await sleep(50);
      for (let i = 0; i < 3; i++) await t.hit(k, rule);
      expect((await t.hit(k, rule)).retryAfterMs).toBeLessThanOrEqual(9_955);
    });

    it('refunds nothing on a key without a window, and only the key named', async () => {
      const t = throttle();
      const [a, b] = [key(), key()];
      const rule = { limit: 5, windowMs: 10_000 };
      await t.refund(a);
      expect((await t.hit(a, rule)).count).toBe(1);
      await t.hit(b, rule);
      await t.hit(b, rule);
      await t.refund(a);
      expect((await t.hit(b, rule)).count).toBe(3);
      expect((await t.hit(a, rule)).count).toBe(1);
    });

    it('refunds atomically: 60 hits and 40 refunds at once leave exactly 20', async () => {
      const t = throttle();
      const k = key();
      const rule = { limit: 1000, windowMs: 10_000 };
      for (let i = 0; i < 60; i++) await t.hit(k, rule);
      await Promise.all(Array.from({ length: 40 }, () => t.refund(k)));
      expect((await t.hit(k, rule)).count).toBe(21);
      await Promise.all(Array.from({ length: 100 }, () => t.refund(k)));
      expect((await t.hit(k, rule)).count).toBe(1);
    });

    it('keeps a locked key locked and a limited key limited however many other keys are hit', async () => {
      const t = throttle();
      const [victim, address] = [key(), key()];
      const rule = { limit: 3, windowMs: 10_000 };
      for (let i = 0; i < 4; i++) await t.hit(victim, rule);
      for (let i = 0; i < 3; i++) await t.hit(address, rule);
      for (let i = 0; i < 2000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => t.hit(`flood:${i + j}`, rule)));
      expect(await t.hit(victim, rule)).toMatchObject({ allowed: false, count: 5 });
      expect(await t.hit(address, rule)).toMatchObject({ allowed: false, count: 4 });
    });

    it('refuses bad arguments as programming mistakes', async () => {
      const t = throttle();
      for (const rule of [
        { limit: 0, windowMs: 1000 },
        { limit: 1.5, windowMs: 1000 },
        { limit: Number.NaN, windowMs: 1000 },
        { limit: 1, windowMs: 0 },
        { limit: 1, windowMs: -5 },
        { limit: 1, windowMs: 86_400_001 },
      ]) {
        await expect(t.hit(key(), rule)).rejects.toBeInstanceOf(RangeError);
      }
      await expect(t.hit(42 as unknown as string, { limit: 1, windowMs: 1000 })).rejects.toBeInstanceOf(TypeError);
      await expect(t.reset(undefined as unknown as string)).rejects.toBeInstanceOf(TypeError);
      await expect(t.refund(undefined as unknown as string)).rejects.toBeInstanceOf(TypeError);
    });
  });
}

describeThrottle('memory', () => memoryThrottle());
// The same contract with a table so small that most keys of these tests land in the overflow buckets.
describeThrottle('memory, 100 keys', () => memoryThrottle({ maxKeys: 100 }));
describeThrottle('redis', () => redisThrottle({ url: REDIS_URL, prefix: newPrefix() }));

describe('memoryThrottle', () => {
  it('ends a window exactly on the injected clock', async () => {
    const clock = fixedClock(Date.UTC(2030, 0, 1));
    const t = memoryThrottle({ clock });
    const rule = { limit: 1, windowMs: 1000 };
    expect((await t.hit('k', rule)).allowed).toBe(true);
    expect(await t.hit('k', rule)).toEqual({ allowed: false, count: 2, retryAfterMs: 1000 });
    clock.advance(999);
    expect(await t.hit('k', rule)).toEqual({ allowed: false, count: 3, retryAfterMs: 1 });
    clock.advance(1);
    expect(await t.hit('k', rule)).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
  });

  it('never forgets a running window to make room: past maxKeys, new keys go to the shared buckets', async () => {
    let overflows = 0;
    const t = memoryThrottle({ clock: fixedClock(0), maxKeys: 2, onOverflow: () => overflows++ });
    const rule = { limit: 5, windowMs: 1000 };
    await t.hit('a', rule);
    await t.hit('b', rule);
    await t.hit('a', rule);
    expect((await t.hit('c', rule)).count).toBeGreaterThanOrEqual(1); // no room: counted in its bucket
    expect(overflows).toBe(1);
    expect((await t.hit('a', rule)).count).toBe(3);
    expect((await t.hit('b', rule)).count).toBe(2);
    expect(overflows).toBe(1);
  });

  it('drops ended windows to make room, whatever their length, so new keys count alone again', async () => {
    const clock = fixedClock(0);
    let overflows = 0;
    const t = memoryThrottle({ clock, maxKeys: 3, onOverflow: () => overflows++ });
    const long = { limit: 5, windowMs: 60_000 };
    const short = { limit: 5, windowMs: 1000 };
    await t.hit('long', long); // the oldest, still running when the short ones end
    await t.hit('s1', short);
    await t.hit('s2', short);
    clock.advance(1000);
    expect(await t.hit('c', short)).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
    expect(await t.hit('d', short)).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
    expect(overflows).toBe(0);
    expect((await t.hit('long', long)).count).toBe(2);
  });

  it('under a flood of new keys (maxKeys 100): a locked victim stays locked, the address stays limited, the overflow is counted', async () => {
    const clock = fixedClock(Date.UTC(2030, 0, 1));
    let overflows = 0;
    const t = memoryThrottle({ clock, maxKeys: 100, onOverflow: () => overflows++ });
    const pair = { limit: 10, windowMs: 900_000 };
    const perAddress = { limit: 100, windowMs: 900_000 };
    for (let i = 0; i < 11; i++) await t.hit('login:victim|203.0.113.7', pair);
    for (let i = 0; i < 100; i++) await t.hit('register-ip:203.0.113.7', perAddress);
    clock.advance(60_000);
    for (let i = 0; i < 103_000; i++) await t.hit(`register:flood${i}|198.51.100.${i % 256}`, pair);
    expect(overflows).toBeGreaterThan(102_000);
    expect(await t.hit('login:victim|203.0.113.7', pair)).toEqual({ allowed: false, count: 12, retryAfterMs: 840_000 });
    expect(await t.hit('register-ip:203.0.113.7', perAddress)).toEqual({ allowed: false, count: 101, retryAfterMs: 840_000 });
    // A key that arrives during the flood is counted in its bucket: at least its own hits, never fewer.
    const counts: number[] = [];
    for (let i = 0; i < 12; i++) counts.push((await t.hit('login:newcomer|192.0.2.1', pair)).count);
    expect(counts.every((c, i) => c >= i + 1)).toBe(true);
  });

  it('never refuses every new key: the buckets spread a flood, and each ends with its window', async () => {
    const clock = fixedClock(0);
    const t = memoryThrottle({ clock, maxKeys: 100, overflowBuckets: 1024 });
    const rule = { limit: 100, windowMs: 1000 };
    for (let i = 0; i < 10_000; i++) await t.hit(`flood:${i}`, rule);
    // About 10 hits a bucket: newcomers under a limit of 100 still get in.
    const newcomers = await Promise.all(Array.from({ length: 50 }, (_, i) => t.hit(`new:${i}`, rule)));
    expect(newcomers.every((r) => r.allowed)).toBe(true);
    clock.advance(1000);
    expect(await t.hit('after', rule)).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
  });

  it('refunds a key counted in a bucket there, and never resets a shared bucket', async () => {
    const t = memoryThrottle({ clock: fixedClock(0), maxKeys: 1, overflowBuckets: 1 });
    const rule = { limit: 3, windowMs: 1000 };
    await t.hit('table', rule);
    for (let i = 0; i < 3; i++) await t.hit(`shared:${i}`, rule);
    await t.refund('shared:0');
    expect((await t.hit('shared:1', rule)).count).toBe(3);
    await t.reset('shared:2'); // would free its bucket-mates too: left as it is
    expect(await t.hit('shared:2', rule)).toMatchObject({ allowed: false, count: 4 });
  });

  it('lengthens a bucket for the longest rule counted in it', async () => {
    const clock = fixedClock(0);
    const t = memoryThrottle({ clock, maxKeys: 1, overflowBuckets: 1 });
    await t.hit('table', { limit: 9, windowMs: 60_000 });
    await t.hit('short', { limit: 9, windowMs: 1000 });
    await t.hit('long', { limit: 9, windowMs: 60_000 });
    clock.advance(1000);
    expect((await t.hit('short', { limit: 9, windowMs: 1000 })).count).toBe(3);
  });

  it('keeps counting when onOverflow throws', async () => {
    const t = memoryThrottle({
      maxKeys: 1,
      onOverflow: () => {
        throw new Error('metric broke');
      },
    });
    await t.hit('a', { limit: 1, windowMs: 1000 });
    expect((await t.hit('b', { limit: 1, windowMs: 1000 })).count).toBe(1);
  });

  it('refuses use after close', async () => {
    const t = memoryThrottle();
    await t.close();
    await expect(t.hit('k', { limit: 1, windowMs: 1000 })).rejects.toThrow();
    await expect(t.refund('k')).rejects.toThrow();
    expect(() => memoryThrottle({ maxKeys: 0 })).toThrow(RangeError);
    expect(() => memoryThrottle({ overflowBuckets: 0 })).toThrow(RangeError);
    expect(() => memoryThrottle({ overflowBuckets: 1.5 })).toThrow(RangeError);
    expect(() => memoryThrottle({ onOverflow: 'no' as unknown as () => void })).toThrow(TypeError);
  });
});

describe('redisThrottle', () => {
  const made: Throttle[] = [];
  const throttle = (options: RedisThrottleOptions): Throttle => {
    const t = redisThrottle(options);
    made.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(made.splice(0).map((t) => t.close()));
  });

  it('counts exactly across instances: 100 concurrent hits from two connections', async () => {
    const prefix = newPrefix();
    const [one, two] = [throttle({ url: REDIS_URL, prefix }), throttle({ url: REDIS_URL, prefix })];
    const k = key();
    const rule = { limit: 10, windowMs: 10_000 };
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? one : two).hit(k, rule)));
    expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it('stores hashed, bounded keys under its prefix, each with an expiry', async () => {
    const prefix = newPrefix();
    const t = throttle({ url: REDIS_URL, prefix });
    const huge = `login:${'x'.repeat(1_000_000)}`;
    await t.hit(huge, { limit: 5, windowMs: 5000 });
    await t.hit('ip:203.0.113.7', { limit: 5, windowMs: 5000 });
    const keys = await keysUnder(prefix);
    expect(keys.sort()).toEqual([`${prefix}throttle:${hashKey(huge)}`, `${prefix}throttle:${hashKey('ip:203.0.113.7')}`].sort());
    for (const stored of keys) {
      expect(stored.length).toBe(prefix.length + 'throttle:'.length + 43);
      const ttl = await admin.pTTL(stored);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5000);
    }
  });

  it('gives a counter found without an expiry one, so it cannot block a key forever', async () => {
    const prefix = newPrefix();
    const t = throttle({ url: REDIS_URL, prefix });
    const k = key();
    await admin.set(`${prefix}throttle:${hashKey(k)}`, '7');
    const result = await t.hit(k, { limit: 3, windowMs: 4000 });
    expect(result.count).toBe(8);
    expect(result.allowed).toBe(false);
    expect(result.retryAfterMs).toBeGreaterThan(0);
    expect(result.retryAfterMs).toBeLessThanOrEqual(4000);
    expect(await admin.pTTL(`${prefix}throttle:${hashKey(k)}`)).toBeGreaterThan(0);
  });

  it('refunds without creating a counter, and keeps the expiry of the one it lowers', async () => {
    const prefix = newPrefix();
    const t = throttle({ url: REDIS_URL, prefix });
    const k = key();
    const stored = `${prefix}throttle:${hashKey(k)}`;
    await t.refund(k);
    expect(await keysUnder(prefix)).toEqual([]);
    await t.hit(k, { limit: 5, windowMs: 5000 });
    await t.hit(k, { limit: 5, windowMs: 5000 });
    await t.refund(k);
    await t.refund(k);
    await t.refund(k);
    expect(await admin.get(stored)).toBe('0');
    const ttl = await admin.pTTL(stored);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5000);
  });

  it('counts exactly under a flood of keys from one address, the way the server hits them', async () => {
    const prefix = newPrefix();
    const t = throttle({ url: REDIS_URL, prefix });
    const pair = { limit: 10, windowMs: 60_000 };
    const perAddress = { limit: 30, windowMs: 60_000 };
    for (let i = 0; i < 11; i++) await t.hit('login:victim|203.0.113.7', pair);
    let passed = 0;
    for (let i = 0; i < 2000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, j) => {
          if (!(await t.hit('register-ip:203.0.113.7', perAddress)).allowed) return;
          if ((await t.hit(`register:flood${i + j}|203.0.113.7`, pair)).allowed) passed++;
        }),
      );
    }
    expect(passed).toBe(30);
    expect(await t.hit('login:victim|203.0.113.7', pair)).toMatchObject({ allowed: false, count: 12 });
    expect(await t.hit('register-ip:203.0.113.7', perAddress)).toMatchObject({ allowed: false, count: 2001 });
    expect(await keysUnder(prefix)).toHaveLength(1 + 1 + 30); // victim, address, and one per attempt let through
  });

  it('uses a client you pass and leaves it open', async () => {
    const client = createClient({ url: REDIS_URL });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const t = redisThrottle({ client, prefix: newPrefix() });
      expect((await t.hit(key(), { limit: 1, windowMs: 1000 })).count).toBe(1);
      await t.close();
      expect(client.isReady).toBe(true);
      await expect(t.hit(key(), { limit: 1, windowMs: 1000 })).rejects.toThrow();
    } finally {
      await client.close();
    }
  });

  it('refuses bad options at construction', () => {
    for (const options of [{ prefix: '' }, { prefix: '{tag}' }, { url: 'http://x' }, { commandTimeoutMs: 1e9 }]) {
      expect(() => redisThrottle(options as RedisThrottleOptions)).toThrow(ConfigError);
    }
  });

  describe('through an outage', () => {
    let proxy: TcpProxy;
    beforeAll(async () => {
      proxy = await startTcpProxy(REDIS_PORT);
    });
    afterAll(async () => {
      await proxy.close();
    });

    it('refuses a hit within the timeout while Redis is cut off, then counts again on the same instance', async () => {
      const errors: Error[] = [];
      const t = throttle({ url: `redis://127.0.0.1:${proxy.port}`, prefix: newPrefix(), onError: (error) => errors.push(error) });
      const k = key();
      const rule = { limit: 100, windowMs: 10_000 };
      expect((await t.hit(k, rule)).count).toBe(1);
      proxy.cut();
      const start = performance.now();
      const refused = await t.hit(k, rule).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(performance.now() - start).toBeLessThan(2000);
      expect(refused).toBeInstanceOf(StoreUnavailableError);
      expect((refused as StoreUnavailableError).code).toBe('store_unavailable');
      proxy.restore();
      const deadline = Date.now() + 6000;
      let result: ThrottleResult | undefined;
      while (result === undefined) {
        if (Date.now() > deadline) throw new Error('the throttle never came back');
        result = await t.hit(k, rule).catch(() => sleep(50).then(() => undefined));
      }
      expect(result.count).toBe(2); // the refused hit was never counted
      expect(errors.length).toBeGreaterThan(0);
    });
  });
});
