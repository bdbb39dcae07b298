// The SQL session store: one Kysely store for SQLite (better-sqlite3) and Postgres (pg), both optional peers.

/**
 * Sessions in an SQLite file (WAL, owner-only files), the embedded default.
 * @example const store = sqliteStore({ filename: './data/tessera.db' }); await store.migrate();
 */
export { sqliteStore } from './sqlite.js';
/**
 * Options of `sqliteStore`: the file and the busy timeout.
 * @example const options: SqliteStoreOptions = { filename: './data/tessera.db', busyTimeout: 5000 };
 */
export type { SqliteStoreOptions } from './sqlite.js';
/**
 * Sessions in Postgres through a pg pool that fails fast in an outage.
 * @example const store = postgresStore({ connectionString: 'postgres://localhost/app', schema: 'auth' }); await store.migrate();
 */
export { postgresStore } from './postgres.js';
/**
 * Options of `postgresStore`: a connection string or a pool, the schema and the timeouts.
 * @example const options: PostgresStoreOptions = { pool, schema: 'auth', statementTimeout: 2000 };
 */
export type { PostgresStoreOptions } from './postgres.js';
/**
 * The part of a pg `Pool` that `postgresStore({ pool })` calls; a `pg.Pool` fits.
 * @example const pool: PgPool = new pg.Pool({ connectionString });
 */
export type { PgPool } from './pg-pool.js';
/**
 * Sessions over a Kysely instance the caller owns; `close` leaves it open.
 * @example const store = sqlStore(db, { dialect: 'postgres', schema: 'auth' }); await store.migrate();
 */
export { sqlStore } from './sql-store.js';
/**
 * A SessionStore with `migrate()` and a readiness `ping()`.
 * @example const store: SqlSessionStore = sqliteStore({ filename }); await store.ping();
 */
export type { SqlSessionStore } from './sql-store.js';
/**
 * Options of `sqlStore`: the dialect behind the Kysely instance and, for Postgres, the schema.
 * @example const options: SqlStoreOptions = { dialect: 'postgres', schema: 'auth' };
 */
export type { SqlStoreOptions } from './sql-store.js';
/**
 * The store's table as Kysely types, for callers that type their own Kysely instance.
 * @example const db = new Kysely<AppDatabase & SessionDatabase>({ dialect });
 */
export type { SessionDatabase, SessionsTable } from './tables.js';
/**
 * The databases `sqlStore` knows: `'sqlite'` or `'postgres'`.
 * @example const dialect: SqlDialectName = 'postgres';
 */
export type { SqlDialectName } from './capabilities.js';
/** An application's own migrations, run by `store.migrate(set)` under the store's locks. */
export type { MigrationSet } from './migrations.js';
