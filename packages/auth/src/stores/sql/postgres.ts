import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { ConfigError } from '../../core/errors.js';
import { CAPABILITIES } from './capabilities.js';
import { loadDriver } from '../driver.js';
import { GuardedPool, type PgPool } from './pg-pool.js';
import { checkSchema, createSqlStore, type SqlSessionStore } from './sql-store.js';
import type { SessionDatabase } from './tables.js';

interface PostgresStoreCommon {
  /** The schema that holds the tables, created by `migrate` (default: the connection's search_path). */
  readonly schema?: string;
  /** Connections of the pool this store opens (default 10). */
  readonly max?: number;
  /** How long to wait for a connection, new or from the pool, in ms (default 2000). */
  readonly connectTimeout?: number;
  /**
   * How long a statement may run, in ms (default 2500): the server cancels it then, and the client
   * gives up 500 ms later if the network no longer answers. A caller's `pool` keeps its own server setting.
   */
  readonly statementTimeout?: number;
  /** The statement timeout of migrations, in ms (default 60000). */
  readonly migrationTimeout?: number;
  /** Told about errors of idle connections (a Postgres restart); the pool then opens new ones. */
  readonly onError?: (error: Error) => void;
}

/** Options of `postgresStore`: a connection string, or a pg pool the caller owns (left open on `close`). */
export type PostgresStoreOptions = PostgresStoreCommon &
  ({ readonly connectionString: string; readonly pool?: never } | { readonly pool: PgPool; readonly connectionString?: never });

const INT8_OID = 20;

/** int8 as a number (epoch ms and counts are far below 2^53); anything larger stays a string, never rounded. */
function parseInt8(value: string): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

/** Parsers for this pool's clients only: a global `types.setTypeParser` would change every pg user in the process. */
function poolTypes(driver: typeof pg): { getTypeParser: typeof pg.types.getTypeParser } {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID && format !== 'binary' ? parseInt8 : driver.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
}

function positive(problems: string[], name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) problems.push(`The \`${name}\` option must be a positive whole number.`);
  return value;
}

/** A pg pool of the driver with this store's int8 parsers. */
function newPool(driver: typeof pg, config: pg.PoolConfig): PgPool {
  return new driver.Pool({ ...config, types: poolTypes(driver) });
}

/**
 * Sessions in Postgres: the truth shared by every server instance (docs/architecture.md "Scaling out").
 * An outage turns every verb into a rejection within about three seconds, never a hang.
 * @example const store = postgresStore({ connectionString: process.env.DATABASE_URL! }); await store.migrate();
 */
export function postgresStore(options: PostgresStoreOptions): SqlSessionStore {
  const capabilities = CAPABILITIES.postgres;
  const problems: string[] = [];
  const max = positive(problems, 'max', options.max, 10);
  const connectTimeout = positive(problems, 'connectTimeout', options.connectTimeout, 2000);
  const statementTimeout = positive(problems, 'statementTimeout', options.statementTimeout, 2500);
  const migrationTimeout = positive(problems, 'migrationTimeout', options.migrationTimeout, 60_000);
  if ((options.pool === undefined) === (options.connectionString === undefined))
    problems.push('Give `postgresStore` either `connectionString` or `pool`.');
  if (problems.length > 0) throw new ConfigError(problems);
  const schema = checkSchema(options.schema, capabilities);

  const owned = options.pool === undefined;
  const pool: PgPool =
    options.pool ??
    newPool(loadDriver<typeof pg>('pg', 'postgresStore'), {
      connectionString: options.connectionString,
      max,
      connectionTimeoutMillis: connectTimeout,
      statement_timeout: statementTimeout,
      keepAlive: true,
      application_name: 'tessera',
    });
  const guarded = new GuardedPool(pool, { owned, queryTimeout: statementTimeout + 500, onError: options.onError ?? (() => undefined) });
  const db = new Kysely<SessionDatabase>({ dialect: new PostgresDialect({ pool: guarded }) });

  return createSqlStore(db, {
    capabilities,
    schema,
    withMigrationDb: (run) =>
      guarded.session(migrationTimeout, async (session) => {
        const migrationDb = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: session }) });
        try {
          await run(migrationDb);
        } finally {
          await migrationDb.destroy();
        }
      }),
    destroy: () => db.destroy(),
  });
}
