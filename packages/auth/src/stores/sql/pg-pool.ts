import { createHash } from 'node:crypto';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { isHot } from './hot-statements.js';

/** The part of a pg client the store calls (the Kysely way: declare only what is used). */
export interface PgClient {
  /** With a `name`, the connection parses the text once and runs it by name afterwards. */
  query(config: {
    text: string;
    values: unknown[];
    name?: string;
    query_timeout?: number;
  }): Promise<{ command: string; rowCount: number | null; rows: unknown[] }>;
  /** `release(true)` destroys the connection instead of returning it to the pool. */
  release(destroy?: boolean | Error): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The part of a pg `Pool` the store calls. */
export interface PgPool {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  listenerCount(event: 'error'): number;
}

const ignore = (): void => undefined;

/**
 * An error that Postgres itself sent (a constraint, a statement timeout): the connection is still
 * in step. Anything else (a read timeout, a reset socket) may leave an answer in flight.
 */
function isServerError(error: unknown): boolean {
  return error instanceof Error && 'severity' in error && typeof (error as { code?: unknown }).code === 'string';
}

/**
 * SQLSTATE 0A000, "cached plan must not change result type": a migration changed what a prepared
 * statement returns. The statement stays prepared on that connection, so the connection must go.
 */
const STALE_PLAN = '0A000';

const names = new Map<string, string>();

/**
 * The name a hot statement is prepared under on every connection: from its text, so the same text
 * (the same store, schema included) shares one and a different one never collides.
 */
function statementName(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && isHot(text)) {
    name = `tessera_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * A checked-out client as Kysely sees it. Hot statements run as named prepared statements (parsed
 * once per connection; Postgres may then reuse a generic plan). A connection that failed below SQL,
 * or holds a statement made stale by a migration, is destroyed on release; the pool opens another.
 */
class GuardedClient implements PostgresPoolClient {
  readonly #client: PgClient;
  readonly #queryTimeout: number;
  readonly #release: (broken: boolean) => void;
  #broken = false;

  constructor(client: PgClient, queryTimeout: number, release: (broken: boolean) => void) {
    this.#client = client;
    this.#queryTimeout = queryTimeout;
    this.#release = release;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sql: string | PostgresCursor<R>, parameters: ReadonlyArray<unknown> = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sql !== 'string') throw new TypeError('The session store does not stream.');
    // A client-side limit too: when the network stops answering, the server's statement_timeout
    // never reaches us, and a hung query would hold the caller until TCP gives up.
    const name = statementName(sql);
    const config = { text: sql, values: [...parameters], query_timeout: this.#queryTimeout };
    return this.#client.query(name === undefined ? config : { ...config, name }).then(
      (result) => ({ command: result.command as PostgresQueryResult<R>['command'], rowCount: result.rowCount ?? 0, rows: result.rows as R[] }),
      (error: unknown) => {
        if (!isServerError(error) || (error as { code: string }).code === STALE_PLAN) this.#broken = true;
        throw error;
      },
    );
  }

  release(): void {
    this.#release(this.#broken);
  }
}

/** Guards listened on, so a client is guarded once however often it is checked out. */
const guarded = new WeakSet<PgClient>();

/**
 * Guards every client against the crash pg leaves to its users: a connection that drops while
 * checked out emits 'error', and an EventEmitter's 'error' without a listener is thrown. The
 * failing query rejects anyway, so the listener only has to exist.
 */
function guard(client: PgClient): PgClient {
  if (!guarded.has(client)) {
    client.on('error', ignore);
    guarded.add(client);
  }
  return client;
}

export interface GuardedPoolOptions {
  /** Whether `end` ends the pg pool (the store opened it) or leaves it to its owner. */
  readonly owned: boolean;
  /** Client-side limit of one query, in ms. */
  readonly queryTimeout: number;
  /** Told about errors of idle connections; pg drops those connections and opens new ones. */
  readonly onError: (error: Error) => void;
}

/** A pg pool for Kysely's `PostgresDialect` that fails fast and never crashes the process. */
export class GuardedPool implements PostgresPool {
  readonly #pool: PgPool;
  readonly #options: GuardedPoolOptions;

  constructor(pool: PgPool, options: GuardedPoolOptions) {
    this.#pool = pool;
    this.#options = options;
    // pg-pool re-emits an idle client's error on the pool: a Postgres restart with no listener
    // there is an uncaught exception. A caller's pool that has a listener keeps its own.
    if (options.owned || pool.listenerCount('error') === 0) pool.on('error', options.onError);
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = guard(await this.#pool.connect());
    return new GuardedClient(client, this.#options.queryTimeout, (broken) => client.release(broken || undefined));
  }

  async end(): Promise<void> {
    if (this.#options.owned) await this.#pool.end();
  }

  /**
   * Lends one connection with its own statement timeout (migrations: DDL and waiting for another
   * instance's migration lock take longer than a request may), as a one-connection pool. The
   * connection is destroyed afterwards, so its setting never reaches the request path.
   */
  async session<T>(timeout: number, run: (pool: PostgresPool) => Promise<T>): Promise<T> {
    const client = guard(await this.#pool.connect());
    const queryTimeout = timeout + 1000;
    try {
      await client.query({ text: `set statement_timeout = ${Math.trunc(timeout)}`, values: [], query_timeout: queryTimeout });
      return await run({
        connect: async () => new GuardedClient(client, queryTimeout, ignore),
        end: async () => undefined,
      });
    } finally {
      client.release(true);
    }
  }
}
