// `@tessera/auth/stores/sqlite`: sessions in an SQLite file through better-sqlite3 (an optional peer dependency,
// loaded when a store is made), and what every SQL store shares. Imports no other driver.

/**
 * Sessions in an SQLite file (WAL, owner-only files), the embedded default.
 * @example const store = sqliteStore({ filename: './data/tessera.db' }); await store.migrate();
 */
export { sqliteStore } from './sql/sqlite.js';
/**
 * Options of `sqliteStore`: the file and the busy timeout.
 * @example const options: SqliteStoreOptions = { filename: './data/tessera.db', busyTimeout: 5000 };
 */
export type { SqliteStoreOptions } from './sql/sqlite.js';
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
