import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';

/** The rule a hit is counted against: at most `limit` hits per fixed window of `windowMs`. */
export interface ThrottleRule {
  readonly limit: number;
  readonly windowMs: number;
}

/** The answer of a hit: `count` includes this hit; `retryAfterMs` is 0 when allowed, else the time until the window ends. */
export interface ThrottleResult {
  readonly allowed: boolean;
  readonly count: number;
  readonly retryAfterMs: number;
}

/**
 * Counters for throttling (logins, registrations, password changes; per account and per client
 * address). Fixed windows: a key's window starts at its first hit and every hit in it counts,
 * refused ones too, so that hammering does not earn new attempts. Each hit is one atomic step,
 * so concurrent hits from several instances count exactly.
 */
export interface Throttle {
  /** Counts one hit on `key` and answers whether it is within the rule. */
  hit(key: string, rule: ThrottleRule): Promise<ThrottleResult>;
  /** Forgets `key` (e.g. after a successful login). */
  reset(key: string): Promise<void>;
  /** Releases what the throttle holds. */
  close(): Promise<void>;
}

/** Longest window accepted: beyond a day, a throttle is a lockout and belongs in the user store. */
const MAX_WINDOW_MS = 86_400_000;

/**
 * Checks a hit's arguments; throws on a programming mistake. Shared with the Redis throttle, not
 * part of the public API.
 */
export function checkHit(key: unknown, rule: ThrottleRule): void {
  checkKey(key);
  if (!Number.isInteger(rule.limit) || rule.limit < 1 || rule.limit > 1_000_000_000)
    throw new RangeError('A throttle limit must be a whole number from 1 to 1e9.');
  if (!Number.isInteger(rule.windowMs) || rule.windowMs < 1 || rule.windowMs > MAX_WINDOW_MS) {
    throw new RangeError(`A throttle window must be a whole number of milliseconds from 1 to ${MAX_WINDOW_MS}.`);
  }
}

/** Throws unless `key` is a string. Shared with the Redis throttle, not part of the public API. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError('A throttle key must be a string.');
}

/**
 * The stored form of a key: its SHA-256, so that an attacker-chosen username of any length makes
 * a 43-character key, and no stored key reveals the username it counts. Shared with the Redis
 * throttle, not part of the public API.
 */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('base64url');
}

/** Options of `memoryThrottle`. */
export interface MemoryThrottleOptions {
  /** The source of time (default: the system clock). */
  clock?: Clock;
  /**
   * Keys remembered at once (default 100000). Past it, the key whose window began first is
   * forgotten: usually an expired one, since windows end in roughly the order they began.
   */
  maxKeys?: number;
}

/**
 * Throttle counters in this process's memory: for a single instance and for tests. Several
 * instances need the Redis throttle, or each would allow the limit on its own.
 * @example const throttle = memoryThrottle(); const { allowed } = await throttle.hit(`login:${username}`, { limit: 5, windowMs: 60_000 });
 */
export function memoryThrottle(options: MemoryThrottleOptions = {}): Throttle {
  const clock = options.clock ?? systemClock;
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError('maxKeys must be a whole number of at least 1.');
  // Insertion order is the order windows began in: the first entries are the first to expire.
  const windows = new Map<string, { count: number; endsAt: number }>();
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error('The memory throttle is closed.');
  };

  const makeRoom = (): void => {
    for (const id of windows.keys()) {
      if (windows.size < maxKeys) return;
      windows.delete(id);
    }
  };

  return {
    async hit(key, rule) {
      open();
      checkHit(key, rule);
      const id = hashKey(key);
      const now = clock.now();
      let window = windows.get(id);
      if (window === undefined || window.endsAt <= now) {
        windows.delete(id);
        makeRoom();
        window = { count: 0, endsAt: now + rule.windowMs };
        windows.set(id, window);
      }
      window.count++;
      const allowed = window.count <= rule.limit;
      return { allowed, count: window.count, retryAfterMs: allowed ? 0 : window.endsAt - now };
    },
    async reset(key) {
      open();
      checkKey(key);
      windows.delete(hashKey(key));
    },
    async close() {
      closed = true;
      windows.clear();
    },
  };
}
