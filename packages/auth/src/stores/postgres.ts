// `@tessera/auth/stores/postgres`: sessions in Postgres through pg (an optional peer dependency, loaded when a
// store is made without a pool of the caller's), and what every SQL store shares. Imports no other driver.

/**
 * Sessions in Postgres through a pg pool that fails fast in an outage.
 * @example const store = postgresStore({ connectionString: 'postgres://localhost/app', schema: 'auth' }); await store.migrate();
 */
export { postgresStore } from './sql/postgres.js';
/**
 * Options of `postgresStore`: a connection string or a pool, the schema and the timeouts.
 * @example const options: PostgresStoreOptions = { pool, schema: 'auth', statementTimeout: 2000 };
 */
export type { PostgresStoreOptions } from './sql/postgres.js';
/**
 * The part of a pg `Pool` that `postgresStore({ pool })` calls; a `pg.Pool` fits.
 * @example const pool: PgPool = new pg.Pool({ connectionString });
 */
export type { PgPool } from './sql/pg-pool.js';
/** What every SQL store shares (see `./sql/index.ts`): the store over a caller's Kysely instance and the types. */
export {
  recordRevocationEvents,
  sqlStore,
  type MigrationSet,
  type NewRevocationEvent,
  type SessionDatabase,
  type SessionsTable,
  type SqlDialectName,
  type SqlSessionStore,
  type SqlStoreOptions,
} from './sql/index.js';
