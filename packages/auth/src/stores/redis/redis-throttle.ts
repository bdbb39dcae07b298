import { ConfigError, StoreUnavailableError } from '../../core/errors.js';
import { checkHit, checkKey, hashKey, type Throttle, type ThrottleResult, type ThrottleRule } from '../throttle.js';
import {
  CommandConnection,
  connectionProblems,
  DEFAULT_COMMAND_TIMEOUT_MS,
  prefixProblems,
  reporter,
  type RedisConnectionOptions,
  type RedisTimingOptions,
} from './connection.js';

/** Options of `redisThrottle`. */
export type RedisThrottleOptions = RedisConnectionOptions &
  RedisTimingOptions & {
    /** Put before every key (default `'tessera:'`); counters live under `${prefix}throttle:`. */
    prefix?: string;
    /**
     * Counts in its place while Redis cannot be reached (e.g. `memoryThrottle()`), at the same rules:
     * a refusal is never a free pass, and an outage is not a 503 either. Each instance then counts on
     * its own, so the effective limit is multiplied by the number of instances until Redis is back.
     * Default: none, and a hit during an outage rejects with `store_unavailable`.
     */
    fallback?: Throttle;
    /** Told of every call the fallback answered (for a metric); an error it throws is ignored. The fallback is closed with this throttle. */
    onFallback?: () => void;
  };

/**
 * One fixed-window hit as one script, so that concurrent hits from any number of instances count
 * exactly: the first hit of a window starts its expiry; a counter found without one (written by
 * something else) gets one, so it cannot block a key forever.
 */
const HIT = `local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

/**
 * One refund as one script, atomic like HIT: a counter above 0 goes down by one and keeps its
 * expiry (DECR does not touch it); a missing counter is not created, so nothing without an expiry
 * is ever left behind.
 */
const REFUND = `local count = tonumber(redis.call('GET', KEYS[1]))
if count ~= nil and count > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0`;

/**
 * Throttle counters in Redis, shared by every server instance: one round trip per hit. When
 * Redis cannot be reached, `hit` is answered by the `fallback` throttle when there is one, else
 * rejects with `store_unavailable` within the command timeout.
 * @example const throttle = redisThrottle({ url: process.env.REDIS_URL }); const { allowed, retryAfterMs } = await throttle.hit(`login:${username}`, { limit: 5, windowMs: 60_000 });
 */
export function redisThrottle(options: RedisThrottleOptions = {}): Throttle {
  const prefix = options.prefix ?? 'tessera:';
  const problems = [...connectionProblems(options), ...prefixProblems(prefix)];
  const { fallback, onFallback } = options;
  if (fallback !== undefined && (typeof fallback !== 'object' || fallback === null || typeof fallback.hit !== 'function')) {
    problems.push('fallback must be a throttle (e.g. memoryThrottle()).');
  }
  if (onFallback !== undefined && typeof onFallback !== 'function') problems.push('onFallback must be a function.');
  if (problems.length > 0) throw new ConfigError(problems);
  const connection = new CommandConnection(
    options,
    options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    reporter(options.onError),
    'redisThrottle',
  );
  const keyOf = (key: string): string => `${prefix}throttle:${hashKey(key)}`;
  /** Sends to Redis; when it cannot be reached and a fallback is set, answers from the fallback instead. */
  const orFallback = async <T>(send: () => Promise<T>, instead: (other: Throttle) => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (err) {
      if (fallback === undefined || !(err instanceof StoreUnavailableError)) throw err;
      try {
        onFallback?.();
      } catch {
        // A metric must not turn into a refused login.
      }
      return instead(fallback);
    }
  };

  return {
    async hit(key, rule): Promise<ThrottleResult> {
      checkHit(key, rule);
      return orFallback(
        () => redisHit(key, rule),
        (other) => other.hit(key, rule),
      );
    },
    async refund(key) {
      checkKey(key);
      await orFallback(
        async () => void (await connection.send([['EVAL', REFUND, '1', keyOf(key)]])),
        (other) => other.refund(key),
      );
    },
    async reset(key) {
      checkKey(key);
      // The fallback forgets the key too, so a count from an earlier outage does not linger into the next.
      await fallback?.reset(key);
      await orFallback(
        async () => void (await connection.send([['DEL', keyOf(key)]])),
        async () => undefined,
      );
    },
    close: async () => {
      await Promise.all([connection.close(), fallback?.close()]);
    },
  };

  async function redisHit(key: string, rule: ThrottleRule): Promise<ThrottleResult> {
    const [reply] = await connection.send([['EVAL', HIT, '1', keyOf(key), String(rule.windowMs)]]);
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
      throw new Error('Redis answered the throttle script with something other than two integers.');
    }
    const count = reply[0];
    const allowed = count <= rule.limit;
    return { allowed, count, retryAfterMs: allowed ? 0 : Math.max(1, reply[1]) };
  }
}
