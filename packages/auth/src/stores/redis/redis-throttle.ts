import { ConfigError } from '../../core/errors.js';
import { checkHit, checkKey, hashKey, type Throttle, type ThrottleResult } from '../throttle.js';
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
 * Redis cannot be reached, `hit` rejects with `store_unavailable` within the command timeout.
 * @example const throttle = redisThrottle({ url: process.env.REDIS_URL }); const { allowed, retryAfterMs } = await throttle.hit(`login:${username}`, { limit: 5, windowMs: 60_000 });
 */
export function redisThrottle(options: RedisThrottleOptions = {}): Throttle {
  const prefix = options.prefix ?? 'tessera:';
  const problems = [...connectionProblems(options), ...prefixProblems(prefix)];
  if (problems.length > 0) throw new ConfigError(problems);
  const connection = new CommandConnection(options, options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, reporter(options.onError));
  const keyOf = (key: string): string => `${prefix}throttle:${hashKey(key)}`;

  return {
    async hit(key, rule): Promise<ThrottleResult> {
      checkHit(key, rule);
      const [reply] = await connection.send([['EVAL', HIT, '1', keyOf(key), String(rule.windowMs)]]);
      if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
        throw new Error('Redis answered the throttle script with something other than two integers.');
      }
      const count = reply[0];
      const allowed = count <= rule.limit;
      return { allowed, count, retryAfterMs: allowed ? 0 : Math.max(1, reply[1]) };
    },
    async refund(key) {
      checkKey(key);
      await connection.send([['EVAL', REFUND, '1', keyOf(key)]]);
    },
    async reset(key) {
      checkKey(key);
      await connection.send([['DEL', keyOf(key)]]);
    },
    close: () => connection.close(),
  };
}
