// Redis as one instance sees it (docs/architecture.md "Scaling out"): beside SQL, never instead. While it cannot
// be reached the instance runs degraded, not down: session checks read SQL, throttling counts in this process's
// memory, and revocations reach the other instances through their one-second trust. This module watches the
// revocation bus's connection, logs one warning when an outage starts and one when it ends (never one per
// request), keeps the `tessera_redis_up` gauge, and counts every call answered without Redis.
import type { BusMessage, RevocationBus } from '@tessera/auth';
import type { Gauge } from 'prom-client';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/** What was answered without Redis: a session check (SQL), a throttle call (memory), a revocation not yet published. */
export type RedisFallback = 'session_check' | 'throttle' | 'publish';

/** How often the bus's connection is looked at, in ms: an outage shows in the gauge and logs within this. */
const WATCH_MS = 250;

/** The state of Redis for one instance, with the bus wrapped so that calls answered without it are counted. */
export class RedisHealth {
  readonly #inner: RevocationBus;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #gauge: Gauge;
  readonly #where: string;
  #up = true;
  #since = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(bus: RevocationBus, options: { log: Logger; metrics: Metrics; where: string }) {
    this.#inner = bus;
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#where = options.where;
    this.#gauge = options.metrics.redisUp();
    this.#gauge.set(1);
  }

  /** Whether Redis answered at the last look. */
  get up(): boolean {
    return this.#up;
  }

  /** Starts watching the connection (the first look is now). */
  watch(): void {
    this.check();
    this.#timer ??= setInterval(() => this.check(), WATCH_MS).unref();
  }

  /** Looks at the connection now; logs and moves the gauge when it changed. */
  check(): boolean {
    const up = this.#inner.connected;
    if (up === this.#up) return up;
    this.#up = up;
    this.#gauge.set(up ? 1 : 0);
    if (!up) {
      this.#since = Date.now();
      this.#log.warn(
        { redis: this.#where },
        'Redis cannot be reached: running degraded. Sessions are checked in SQL, throttling counts in this instance alone, revocations reach other instances within a second',
      );
    } else {
      this.#log.warn(
        { redis: this.#where, outageMs: Date.now() - this.#since },
        'Redis is back: cached session answers dropped, revocations made meanwhile published, throttling shared again',
      );
    }
    return up;
  }

  /** Counts one call answered without Redis. */
  fallback(what: RedisFallback): void {
    this.#metrics.redisFallbacks.inc({ what });
  }

  /** A Redis error, for the log: a warning while Redis is thought up, then quiet (debug) until it is back. */
  report(error: Error): void {
    if (this.#up && !this.check()) return; // the outage warning just said it
    if (this.#up) this.#log.warn({ err: error.message }, 'redis error');
    else this.#log.debug({ err: error.message }, 'redis error during the outage');
  }

  /**
   * The bus the session layer is given. While Redis is down, `isRevoked` answers "ask the store" at
   * once (the store is the truth; no call waits for a timeout), and a failed publish is counted (the
   * session layer keeps the ids and sends them when the bus is back).
   */
  bus(): RevocationBus {
    const inner = this.#inner;
    const fallback = (what: RedisFallback): void => this.fallback(what);
    return {
      get connected() {
        return inner.connected;
      },
      async publish(sessionIds: readonly string[]): Promise<void> {
        try {
          await inner.publish(sessionIds);
        } catch (err) {
          fallback('publish');
          throw err;
        }
      },
      subscribe: (handler: (message: BusMessage) => void) => inner.subscribe(handler),
      async isRevoked(sessionId: string): Promise<boolean> {
        if (inner.isRevoked === undefined) return false;
        if (!inner.connected) {
          fallback('session_check');
          return false;
        }
        try {
          return await inner.isRevoked(sessionId);
        } catch {
          fallback('session_check');
          return false;
        }
      },
      close: async () => {
        clearInterval(this.#timer);
        this.#timer = undefined;
        await inner.close();
      },
    };
  }
}

/** Where Redis is, for the log: host and port only, never a password. */
export function redisWhere(url: string): string {
  try {
    return new URL(url).host || 'a unix socket';
  } catch {
    return 'an unreadable URL';
  }
}
