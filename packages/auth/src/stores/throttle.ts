import { createHash, createHmac, randomBytes } from 'node:crypto';
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
 * refused ones too, so that hammering does not earn new attempts. Each hit and each refund is one
 * atomic step, so concurrent calls from several instances count exactly.
 */
export interface Throttle {
  /** Counts one hit on `key` and answers whether it is within the rule. */
  hit(key: string, rule: ThrottleRule): Promise<ThrottleResult>;
  /**
   * Takes back one hit on `key` in its current window, never going below 0 and never moving the
   * window's end (e.g. an address's hit for an attempt that succeeded). A key without a window is
   * left alone. Refund only keys you hit.
   */
  refund(key: string): Promise<void>;
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
   * Keys counted one by one (default 100000). A key whose window is still running is never
   * forgotten to make room: only ended windows are. While every slot holds a running window, new
   * keys are counted in the shared overflow buckets instead.
   */
  maxKeys?: number;
  /** Shared counters for the keys that find no slot (default 1024). */
  overflowBuckets?: number;
  /** Told of every hit counted in an overflow bucket (for a metric); an error it throws is ignored. */
  onOverflow?: () => void;
}

/** One fixed window: its count and when it ends. */
interface Window {
  count: number;
  endsAt: number;
}

/** A key's own window remembers its length, to find the key in its queue. */
interface Slot extends Window {
  readonly windowMs: number;
}

/** A bucket's window also remembers when it began, to lengthen it for a longer rule. */
interface Bucket extends Window {
  readonly startedAt: number;
}

/**
 * Throttle counters in this process's memory: for a single instance and for tests. Several
 * instances need the Redis throttle, or each would allow the limit on its own.
 *
 * At most `maxKeys` keys are counted one by one, and a running window is never dropped: dropping
 * one would let a flood of new keys wipe a locked key's count. Past that, a new key is counted in
 * one of `overflowBuckets` shared windows chosen by a keyed hash (secret per instance, so nobody
 * can aim at the bucket of a given key): a bucket counts at least every hit of each key in it, so
 * it errs towards refusing, only for keys that arrive during a flood, and only until its window ends.
 * @example const throttle = memoryThrottle(); const { allowed } = await throttle.hit(`login:${username}`, { limit: 5, windowMs: 60_000 });
 */
export function memoryThrottle(options: MemoryThrottleOptions = {}): Throttle {
  const clock = options.clock ?? systemClock;
  const maxKeys = options.maxKeys ?? 100_000;
  const bucketCount = options.overflowBuckets ?? 1024;
  const onOverflow = options.onOverflow;
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError('maxKeys must be a whole number of at least 1.');
  if (!Number.isInteger(bucketCount) || bucketCount < 1 || bucketCount > 1_000_000)
    throw new RangeError('overflowBuckets must be a whole number from 1 to 1000000.');
  if (onOverflow !== undefined && typeof onOverflow !== 'function') throw new TypeError('onOverflow must be a function.');

  const windows = new Map<string, Slot>();
  // Per window length, the keys in the order their windows began, which is the order they end in:
  // ended windows are always at the front, so dropping them costs nothing per key still running.
  const queues = new Map<number, Set<string>>();
  const buckets: (Bucket | undefined)[] = new Array<Bucket | undefined>(bucketCount);
  const salt = randomBytes(32);
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error('The memory throttle is closed.');
  };

  const bucketOf = (id: string): number => createHmac('sha256', salt).update(id).digest().readUInt32BE(0) % bucketCount;

  const forget = (id: string): void => {
    const slot = windows.get(id);
    if (slot === undefined) return;
    windows.delete(id);
    const queue = queues.get(slot.windowMs);
    if (queue?.delete(id) === true && queue.size === 0) queues.delete(slot.windowMs);
  };

  const dropEnded = (now: number): void => {
    for (const [length, queue] of queues) {
      for (const id of queue) {
        const slot = windows.get(id);
        if (slot !== undefined && slot.endsAt > now) break;
        queue.delete(id);
        windows.delete(id);
      }
      if (queue.size === 0) queues.delete(length);
    }
  };

  const count = (window: Window, rule: ThrottleRule, now: number): ThrottleResult => {
    window.count++;
    const allowed = window.count <= rule.limit;
    return { allowed, count: window.count, retryAfterMs: allowed ? 0 : window.endsAt - now };
  };

  const countInBucket = (id: string, rule: ThrottleRule, now: number): ThrottleResult => {
    const index = bucketOf(id);
    let bucket = buckets[index];
    if (bucket === undefined || bucket.endsAt <= now) {
      bucket = { count: 0, startedAt: now, endsAt: now + rule.windowMs };
      buckets[index] = bucket;
    } else {
      // Keys of several rules share a bucket: it lasts as long as the longest, so none is cut short.
      bucket.endsAt = Math.max(bucket.endsAt, bucket.startedAt + rule.windowMs);
    }
    try {
      onOverflow?.();
    } catch {
      // A metric must not turn into a refused login.
    }
    return count(bucket, rule, now);
  };

  return {
    async hit(key, rule) {
      open();
      checkHit(key, rule);
      const id = hashKey(key);
      const now = clock.now();
      let slot = windows.get(id);
      if (slot !== undefined && slot.endsAt <= now) {
        forget(id);
        slot = undefined;
      }
      if (slot === undefined) {
        if (windows.size >= maxKeys) dropEnded(now);
        if (windows.size >= maxKeys) return countInBucket(id, rule, now);
        slot = { count: 0, endsAt: now + rule.windowMs, windowMs: rule.windowMs };
        windows.set(id, slot);
        let queue = queues.get(rule.windowMs);
        if (queue === undefined) queues.set(rule.windowMs, (queue = new Set()));
        queue.add(id);
      }
      return count(slot, rule, now);
    },
    async refund(key) {
      open();
      checkKey(key);
      const id = hashKey(key);
      const now = clock.now();
      // A key without a slot was counted in its bucket (the table was full at its hit).
      const window = windows.get(id) ?? buckets[bucketOf(id)];
      if (window !== undefined && window.endsAt > now && window.count > 0) window.count--;
    },
    async reset(key) {
      open();
      checkKey(key);
      // A key counted in a shared bucket is not reset: the bucket's other keys would go free too.
      forget(hashKey(key));
    },
    async close() {
      closed = true;
      windows.clear();
      queues.clear();
      buckets.fill(undefined);
    },
  };
}
