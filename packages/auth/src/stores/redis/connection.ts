// What the Redis stores share: the subset of a node-redis client they call, safe client settings,
// and commands that fail fast. docs/architecture.md "Platform notes": node-redis queues commands through an
// outage unless told not to, its command timeout only covers the wait before a command is
// written, and a client without an 'error' listener crashes the process when Redis goes away.
import type { createClient } from 'redis';
import { StoreUnavailableError } from '../../core/errors.js';
import { loadDriver } from '../driver.js';

/**
 * The part of a node-redis (v6) client that the Redis stores call. Declared structurally (as
 * Kysely declares its drivers) so that a client created with any modules, RESP version or type
 * mapping fits.
 */
export interface RedisClientLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  readonly options?: { readonly socket?: object } | undefined;
  sendCommand(args: readonly string[]): Promise<unknown>;
  duplicate(overrides: ClientOverrides): RedisClientLike;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'ready' | 'end' | 'reconnecting', listener: () => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'ready' | 'end' | 'reconnecting', listener: () => void): unknown;
}

/** The client settings the stores impose on the connections they open. */
interface ClientOverrides {
  disableOfflineQueue: boolean;
  commandOptions: { timeout: number };
  socket: { connectTimeout: number; reconnectStrategy: (retries: number) => number };
}

/** Where the Redis stores connect: a URL (they open and close their own clients) or a client you own. */
export type RedisConnectionOptions =
  | {
      /** `redis[s]://[[user][:password]@]host[:port][/db]`; default `redis://127.0.0.1:6379`. */
      url?: string;
      client?: never;
    }
  | {
      /** A connected node-redis client you own: it is used, never closed. */
      client: RedisClientLike;
      url?: never;
    };

/** Timing of the Redis stores, in milliseconds. */
export interface RedisTimingOptions {
  /** How long a command may take before it is refused (default 1500). */
  commandTimeoutMs?: number;
  /** Told about every Redis error (a lost connection, a refused command); for logs. Default: ignored. */
  onError?: (error: Error) => void;
}

export const DEFAULT_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_COMMAND_TIMEOUT_MS = 1500;
const MAX_BACKOFF_MS = 2000;

/** Exponential backoff with jitter, so that many instances do not reconnect in step. */
export function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 16), MAX_BACKOFF_MS) + Math.floor(Math.random() * 100);
}

/**
 * The settings every connection a store opens gets, including the duplicate of a client you
 * pass, whose socket options (host, port, TLS) are kept: node-redis replaces `socket` whole.
 */
export function clientOverrides(commandTimeoutMs: number, socket: object = {}): ClientOverrides {
  return {
    disableOfflineQueue: true,
    commandOptions: { timeout: commandTimeoutMs },
    socket: { ...socket, connectTimeout: Math.max(commandTimeoutMs, 1000), reconnectStrategy: reconnectDelay },
  };
}

/** Checks the connection options; answers the problems found, each as one sentence. */
export function connectionProblems(options: { url?: unknown; client?: unknown; commandTimeoutMs?: unknown; onError?: unknown }): string[] {
  const problems: string[] = [];
  if (options.url !== undefined && options.client !== undefined) problems.push('Pass either url or client to the Redis store, not both.');
  if (options.url !== undefined && (typeof options.url !== 'string' || !/^(?:redis|rediss|unix):/.test(options.url))) {
    problems.push('url must be a redis://, rediss:// or unix: URL.');
  }
  if (options.client !== undefined) {
    const client = options.client as Partial<RedisClientLike> | null;
    if (typeof client !== 'object' || client === null || typeof client.sendCommand !== 'function' || typeof client.duplicate !== 'function') {
      problems.push('client must be a node-redis client.');
    } else if (client.isOpen !== true) {
      problems.push('client must be connected (call client.connect() first); it stays yours to close.');
    }
  }
  const timeout = options.commandTimeoutMs;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 10 || timeout > 60_000)) {
    problems.push('commandTimeoutMs must be a whole number of milliseconds from 10 to 60000.');
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') problems.push('onError must be a function.');
  return problems;
}

/** Checks a key prefix: bounded, printable, and without braces, which would move every key into one Cluster hash slot. */
export function prefixProblems(prefix: unknown): string[] {
  return typeof prefix === 'string' && /^[\x21-\x7a\x7c\x7e]{1,200}$/.test(prefix)
    ? []
    : ['prefix must be 1 to 200 printable ASCII characters, without spaces or braces.'];
}

/**
 * One client a store sends commands through: its own (opened here, closed by `close`) or yours
 * (used, never closed). Commands wait for the first connection up to the timeout, then fail at
 * once while the connection is down, and never wait longer than the timeout for an answer.
 */
export class CommandConnection {
  readonly client: RedisClientLike;
  readonly #owned: boolean;
  readonly #timeoutMs: number;
  readonly #report: (error: Error) => void;
  /** Settles when the connection is first ready; one listener however many commands wait. */
  readonly #firstReady: Promise<void>;
  #everReady: boolean;
  #onReady: () => void = () => undefined;
  #closed = false;

  /** `store` names the store in the sentence that says to install `redis` when it opens its own client without it. */
  constructor(options: RedisConnectionOptions, timeoutMs: number, report: (error: Error) => void, store: 'redisBus' | 'redisThrottle') {
    this.#timeoutMs = timeoutMs;
    this.#report = report;
    if (options.client !== undefined) {
      this.client = options.client;
      this.#owned = false;
    } else {
      // Loaded here, not imported: the entry imports without `redis`, and a client you pass needs none of ours.
      const redis = loadDriver<{ createClient: typeof createClient }>('redis', store);
      this.client = redis.createClient({ url: options.url ?? DEFAULT_URL, ...clientOverrides(timeoutMs) });
      this.#owned = true;
    }
    // Mandatory: without an 'error' listener, a lost connection crashes the process.
    this.client.on('error', report);
    this.#everReady = this.client.isReady;
    this.#firstReady = new Promise<void>((resolve) => {
      this.#onReady = () => {
        this.#everReady = true;
        resolve();
      };
    });
    this.client.on('ready', this.#onReady);
    if (this.#owned) this.client.connect().catch(report);
  }

  /**
   * Sends commands in one write (a pipeline: Redis runs them in this order) and answers their
   * replies; rejects with `store_unavailable` when Redis is down, slow or refuses one of them.
   */
  async send(commands: readonly (readonly string[])[]): Promise<unknown[]> {
    if (this.#closed) throw new Error('The Redis connection is closed.');
    let expired = false;
    const work = async (): Promise<unknown[]> => {
      await this.#whenReady();
      // A call refused while waiting for the first connection must not run once it is up.
      if (expired) throw new Error('Gave up before Redis was connected.');
      return await Promise.all(commands.map((args) => this.client.sendCommand(args)));
    };
    try {
      return await withDeadline(work(), this.#timeoutMs, () => {
        expired = true;
      });
    } catch (cause) {
      throw unavailable(cause);
    }
  }

  /** Closes the client if it is ours; a client you passed is left as it is, only our listeners go. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.client.off('ready', this.#onReady);
    if (this.#owned) await closeClient(this.client, this.#timeoutMs);
    // Only now: closing can still emit errors, and they must not crash the process.
    if (!this.#owned) this.client.off('error', this.#report);
  }

  /** At start, waits (within the deadline) for the first connection; once it was up, an outage fails at once. */
  async #whenReady(): Promise<void> {
    const client = this.client;
    if (client.isReady) return;
    if (this.#everReady || !client.isOpen) throw new Error('Redis is not connected.');
    await this.#firstReady;
  }
}

/** Routes Redis errors to `onError`; a throwing listener must not turn a lost connection into a crash. */
export function reporter(onError: ((error: Error) => void) | undefined): (error: Error) => void {
  return (error) => {
    try {
      onError?.(error);
    } catch {
      // Nothing sensible is left to do with an error about an error.
    }
  };
}

/** Rejects when `promise` has not settled within `ms`; the late answer is dropped, never left unhandled. */
export function withDeadline<T>(promise: Promise<T>, ms: number, onExpire?: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onExpire?.();
      reject(new Error(`Redis did not answer within ${ms} ms.`));
    }, ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A Redis failure as the session layer reports it: `store_unavailable` (503), with the cause kept. */
export function unavailable(cause: unknown): StoreUnavailableError {
  return cause instanceof StoreUnavailableError ? cause : new StoreUnavailableError({ message: 'Redis cannot be reached', cause });
}

/** Closes gracefully within the deadline, then by force: a hung connection must not hang shutdown. */
export async function closeClient(client: RedisClientLike, timeoutMs: number): Promise<void> {
  try {
    await withDeadline(client.close(), timeoutMs);
  } catch {
    client.destroy();
  }
}
