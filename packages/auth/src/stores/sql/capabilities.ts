/**
 * What the SQL session store needs to know about a database, as flags (the Kysely way): the
 * queries are written once, and a flag, never a dialect name, decides where the two differ.
 */
export interface SqlCapabilities {
  /** Tables may live in a named schema, and `current_schema()` names the default one (Postgres); an SQLite file has one namespace. */
  readonly schemas: boolean;
  /**
   * Kysely's migrator takes no lock across processes here (its SQLite adapter relies on the one
   * connection of its own process), so the store runs the migrations inside `BEGIN IMMEDIATE`:
   * a CLI and a server starting at once then migrate one after the other.
   */
  readonly migrateUnderWriteLock: boolean;
}

/** The databases the store is tested on. */
export type SqlDialectName = 'sqlite' | 'postgres';

export const CAPABILITIES: Readonly<Record<SqlDialectName, SqlCapabilities>> = Object.freeze({
  sqlite: Object.freeze({ schemas: false, migrateUnderWriteLock: true }),
  // Postgres: Kysely's migrator holds a session advisory lock and runs DDL in a transaction.
  postgres: Object.freeze({ schemas: true, migrateUnderWriteLock: false }),
});
