// What the SQLite and Postgres entries share: the store over a Kysely instance the caller owns, and the types of
// the store, its table and its migrations. Loads no driver; `@tessera/auth/stores/sqlite` and
// `@tessera/auth/stores/postgres` re-export it beside their own factory.

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
/**
 * Writes revocation-feed events inside an application's own transaction (the server's key withdrawals).
 * @example await recordRevocationEvents(trx, 'sqlite', [{ kind: 'key', ref: kid, at: Date.now() }]);
 */
export { recordRevocationEvents, type NewRevocationEvent } from './revocation-events.js';
