// The Redis stores of @tessera/auth (`@tessera/auth/stores/redis`): the revocation bus and the
// throttle counters. `redis` (node-redis) is an optional peer dependency, needed only here.
export { redisBus, type RedisBusOptions } from './redis-bus.js';
export { redisThrottle, type RedisThrottleOptions } from './redis-throttle.js';
export type { RedisClientLike, RedisConnectionOptions, RedisTimingOptions } from './connection.js';
export type { Throttle, ThrottleResult, ThrottleRule } from '../throttle.js';
