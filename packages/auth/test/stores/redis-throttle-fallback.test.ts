// The Redis throttle with a fallback: while Redis is cut off (a TCP proxy; the shared Redis is never stopped),
// the fallback counts at the same rules, so an outage is neither a 503 nor a free pass; Redis counts again after.
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysUnder, redisPrefixes, REDIS_PORT, REDIS_URL, sleep, startTcpProxy, type TcpProxy } from '@tessera/test-kit';
import { ConfigError } from '../../src/core/errors.js';
import { redisThrottle, type RedisThrottleOptions } from '../../src/stores/redis/index.js';
import { memoryThrottle, type Throttle, type ThrottleResult } from '../../src/stores/throttle.js';

const prefixes = redisPrefixes('tessera:fallback');
const key = (): string => `login:${randomBytes(8).toString('hex')}`;
const admin = createClient({ url: REDIS_URL });
admin.on('error', () => undefined);
let proxy: TcpProxy;
const opened: Throttle[] = [];

beforeAll(async () => {
  await admin.connect();
  proxy = await startTcpProxy(REDIS_PORT);
});

afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
  await proxy.close();
  await deleteKeysUnder(admin, prefixes.run);
  await admin.close();
});

function throttle(onFallback: () => void): Throttle {
  const t = redisThrottle({
    url: `redis://127.0.0.1:${proxy.port}`,
    prefix: prefixes.next(),
    fallback: memoryThrottle(),
    onFallback,
    onError: () => undefined,
  });
  opened.push(t);
  return t;
}

async function untilRedisCounts(t: Throttle, k: string, rule: { limit: number; windowMs: number }, fallbacks: () => number): Promise<ThrottleResult> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const before = fallbacks();
    const result = await t.hit(k, rule);
    if (fallbacks() === before) return result;
    if (Date.now() > deadline) throw new Error('Redis never came back');
    await sleep(100);
  }
}

describe('redisThrottle with a fallback', () => {
  it('counts in the fallback at the same limit while Redis is cut off, fast, and in Redis again once it is back', async () => {
    let fallbacks = 0;
    const t = throttle(() => fallbacks++);
    const rule = { limit: 3, windowMs: 60_000 };
    const k = key();
    expect((await t.hit(k, rule)).count).toBe(1);
    proxy.cut();
    const start = performance.now();
    const during = [];
    for (let i = 0; i < 4; i++) during.push(await t.hit(k, rule));
    expect(performance.now() - start).toBeLessThan(2000);
    expect(during.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(during[3]?.retryAfterMs).toBeGreaterThan(0);
    expect(fallbacks).toBe(4);
    proxy.restore();
    // Redis kept its own count (1) through the outage.
    const after = await untilRedisCounts(t, k, rule, () => fallbacks);
    expect(after.count).toBe(2);
  });

  it('resets a key in both, and refunds in the fallback while Redis is down', async () => {
    let fallbacks = 0;
    const t = throttle(() => fallbacks++);
    const rule = { limit: 2, windowMs: 60_000 };
    const k = key();
    await t.hit(k, rule);
    proxy.cut();
    await t.hit(k, rule);
    await t.hit(k, rule);
    expect((await t.hit(k, rule)).allowed).toBe(false);
    await t.refund(k);
    await t.refund(k);
    expect((await t.hit(k, rule)).allowed).toBe(true);
    await t.reset(k);
    expect((await t.hit(k, rule)).count).toBe(1);
    proxy.restore();
    await untilRedisCounts(t, key(), rule, () => fallbacks);
  });

  it('refuses a fallback that is not a throttle', () => {
    expect(() => redisThrottle({ fallback: {} as Throttle })).toThrow(ConfigError);
    expect(() => redisThrottle({ onFallback: 1 } as unknown as RedisThrottleOptions)).toThrow(ConfigError);
  });
});
