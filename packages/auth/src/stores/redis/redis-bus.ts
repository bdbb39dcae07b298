import { DEFAULTS } from '../../core/config/defaults.js';
import { parseDuration, type Duration } from '../../core/config/duration.js';
import { ConfigError } from '../../core/errors.js';
import type { BusMessage, RevocationBus } from '../../core/sessions/store.js';
import {
  clientOverrides,
  closeClient,
  CommandConnection,
  connectionProblems,
  DEFAULT_COMMAND_TIMEOUT_MS,
  prefixProblems,
  reporter,
  withDeadline,
  type RedisClientLike,
  type RedisConnectionOptions,
  type RedisTimingOptions,
} from './connection.js';

/** Options of `redisBus`. */
export type RedisBusOptions = RedisConnectionOptions &
  RedisTimingOptions & {
    /** Put before every key and channel, so that apps and test runs sharing a Redis stay apart (default `'tessera:'`). */
    prefix?: string;
    /**
     * How long Redis remembers a revoked session for `isRevoked` (default: the default access-token
     * lifetime, 15 minutes). Set it to your `accessTtl`: after that no access token of the session
     * is valid anyway, and a forgotten entry only means asking the session store.
     */
    revokedTtl?: Duration;
    /** How often the subscriber connection is pinged, so that a hung network is noticed (default 2000; 0: never). */
    heartbeatMs?: number;
  };

type Handler = (message: BusMessage) => void;

/**
 * The revocation bus over Redis (docs/architecture.md "Scaling out"): revoked sessions are remembered under
 * `${prefix}revoked:{sid}` and announced on `${prefix}revocations`. Publishing and `isRevoked` use
 * one connection and fail fast during an outage; delivery uses a second one (pub/sub needs its
 * own), which reconnects with backoff and sends `{ type: 'reset' }` when it comes back, since
 * messages may have been missed meanwhile.
 */
class RedisBus implements RevocationBus {
  readonly #commands: CommandConnection;
  readonly #timeoutMs: number;
  readonly #heartbeatMs: number;
  readonly #report: (error: Error) => void;
  readonly #keyPrefix: string;
  readonly #channel: string;
  readonly #revokedTtlMs: string;
  readonly #handlers = new Set<Handler>();
  #subscriber: RedisClientLike | undefined;
  /** SUBSCRIBE was confirmed on the current subscriber; node-redis renews it after each reconnect. */
  #subscribed = false;
  #subscribing = false;
  /** Messages may have been missed: send a reset once delivery works again. */
  #missed = false;
  readonly #waiters = new Set<() => void>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #beating = false;
  #closed = false;

  constructor(
    options: RedisConnectionOptions,
    settings: { prefix: string; revokedTtlMs: number; timeoutMs: number; heartbeatMs: number; report: (error: Error) => void },
  ) {
    this.#timeoutMs = settings.timeoutMs;
    this.#heartbeatMs = settings.heartbeatMs;
    this.#report = settings.report;
    this.#keyPrefix = `${settings.prefix}revoked:`;
    this.#channel = `${settings.prefix}revocations`;
    this.#revokedTtlMs = String(settings.revokedTtlMs);
    this.#commands = new CommandConnection(options, settings.timeoutMs, settings.report, 'redisBus');
  }

  /** True only while the subscriber connection is up and subscribed, so that messages arrive. */
  get connected(): boolean {
    return !this.#closed && this.#subscribed && this.#subscriber?.isReady === true;
  }

  async publish(sessionIds: readonly string[]): Promise<void> {
    this.#open();
    if (sessionIds.length === 0) return;
    // The keys first, then the message, in one pipeline: whoever drops a cached answer on the
    // message and asks `isRevoked` finds the key already set.
    const commands = sessionIds.map((sid) => ['SET', this.#key(sid), '1', 'PX', this.#revokedTtlMs]);
    commands.push(['PUBLISH', this.#channel, JSON.stringify(sessionIds)]);
    await this.#commands.send(commands);
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    this.#open();
    const [reply] = await this.#commands.send([['EXISTS', this.#key(sessionId)]]);
    if (reply !== 0 && reply !== 1) throw new Error('Redis answered EXISTS with something other than 0 or 1.');
    return reply === 1;
  }

  /**
   * Registers the handler and waits (up to the command timeout) for the subscription. When Redis
   * cannot be reached it still resolves, with `connected` false: the subscriber keeps trying,
   * and the handler gets a reset once it is through.
   */
  async subscribe(handler: Handler): Promise<void> {
    this.#open();
    this.#handlers.add(handler);
    if (this.#subscriber === undefined) this.#openSubscriber();
    else this.#ensureSubscribed();
    if (this.connected) return;
    let wake: () => void = () => undefined;
    const live = await withDeadline(new Promise<boolean>((resolve) => this.#waiters.add((wake = () => resolve(true)))), this.#timeoutMs).catch(
      () => false,
    );
    this.#waiters.delete(wake);
    if (!live && !this.#closed && !this.connected) this.#missed = true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    clearInterval(this.#heartbeat);
    this.#wake();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    await Promise.all([subscriber === undefined ? undefined : closeClient(subscriber, this.#timeoutMs), this.#commands.close()]);
  }

  #key(sid: string): string {
    // The hash tag keeps each session's key in one Cluster slot of its own choosing.
    return `${this.#keyPrefix}{${sid}}`;
  }

  #open(): void {
    if (this.#closed) throw new Error('The Redis bus is closed.');
  }

  #openSubscriber(): void {
    const source = this.#commands.client;
    const subscriber = source.duplicate(clientOverrides(this.#timeoutMs, source.options?.socket));
    this.#subscriber = subscriber;
    this.#subscribed = false;
    subscriber.on('error', (error) => {
      this.#lost(subscriber);
      this.#report(error);
    });
    subscriber.on('end', () => this.#lost(subscriber));
    subscriber.on('reconnecting', () => this.#lost(subscriber));
    subscriber.on('ready', () => {
      if (subscriber !== this.#subscriber) return;
      // After a reconnect node-redis has renewed the subscription before 'ready'.
      if (this.#subscribed) this.#live();
      else this.#ensureSubscribed();
    });
    subscriber.connect().catch((error: Error) => {
      if (subscriber === this.#subscriber) this.#report(error);
    });
    if (this.#heartbeat === undefined && this.#heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => this.#beat(), this.#heartbeatMs);
      this.#heartbeat.unref();
    }
  }

  #ensureSubscribed(): void {
    const subscriber = this.#subscriber;
    if (subscriber === undefined || !subscriber.isReady || this.#subscribed || this.#subscribing || this.#handlers.size === 0) return;
    this.#subscribing = true;
    subscriber
      .subscribe(this.#channel, this.#onMessage)
      .then(
        () => {
          if (subscriber !== this.#subscriber) return;
          this.#subscribed = true;
          if (subscriber.isReady) this.#live();
        },
        // The connection went down meanwhile: the next 'ready' subscribes again.
        (error: Error) => this.#report(error),
      )
      .finally(() => {
        this.#subscribing = false;
      });
  }

  #lost(subscriber: RedisClientLike): void {
    if (subscriber !== this.#subscriber || subscriber.isReady) return;
    if (this.#subscribed) this.#missed = true;
  }

  #live(): void {
    this.#wake();
    if (!this.#missed) return;
    this.#missed = false;
    this.#deliver({ type: 'reset' });
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /**
   * A connection whose network hangs stays "ready" until TCP gives up, minutes later. A PING
   * that goes unanswered past the deadline replaces the subscriber, so `connected` turns false
   * now, and a reset follows when delivery is back.
   */
  #beat(): void {
    const subscriber = this.#subscriber;
    if (subscriber === undefined || !subscriber.isReady || this.#beating) return;
    this.#beating = true;
    withDeadline(subscriber.sendCommand(['PING']), this.#timeoutMs)
      .catch((error: Error) => {
        if (subscriber !== this.#subscriber || !subscriber.isReady) return; // already reconnecting
        this.#report(error);
        if (this.#subscribed) this.#missed = true;
        this.#subscriber = undefined;
        subscriber.destroy();
        this.#openSubscriber();
      })
      .finally(() => {
        this.#beating = false;
      });
  }

  readonly #onMessage = (raw: string): void => {
    if (this.#closed) return;
    const sessionIds = parseIds(raw);
    if (sessionIds === undefined) {
      this.#report(new Error(`Ignored a malformed message on ${this.#channel}.`));
      return;
    }
    this.#deliver({ type: 'revoked', sessionIds });
  };

  #deliver(message: BusMessage): void {
    for (const handler of [...this.#handlers]) {
      try {
        handler(message);
      } catch (error) {
        // One failing handler must not keep the message from the others.
        this.#report(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}

/** The ids of a revocation message: a non-empty JSON array of non-empty strings, or undefined. */
function parseIds(raw: unknown): string[] | undefined {
  if (typeof raw !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.every((id): id is string => typeof id === 'string' && id.length > 0) ? value : undefined;
}

/**
 * A revocation bus over Redis pub/sub, with a shared memory of revoked sessions (`isRevoked`).
 * @example const auth = createTessera({ keys, refreshKey, sessions: { store, bus: redisBus({ url: process.env.REDIS_URL, revokedTtl: '15m' }) } });
 */
export function redisBus(options: RedisBusOptions = {}): RevocationBus {
  const prefix = options.prefix ?? 'tessera:';
  const revokedTtl = parseDuration(options.revokedTtl ?? DEFAULTS.accessTtl.value);
  const heartbeatMs = options.heartbeatMs ?? 2000;
  const problems = [...connectionProblems(options), ...prefixProblems(prefix)];
  if (revokedTtl === undefined || revokedTtl < 1) problems.push('revokedTtl must be a duration of at least 1 second.');
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 0) problems.push('heartbeatMs must be a whole number of milliseconds (0 turns it off).');
  if (problems.length > 0 || revokedTtl === undefined) throw new ConfigError(problems);
  return new RedisBus(options, {
    prefix,
    revokedTtlMs: revokedTtl * 1000,
    timeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    heartbeatMs,
    report: reporter(options.onError),
  });
}
