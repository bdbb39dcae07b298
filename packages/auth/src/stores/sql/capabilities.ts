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
  /**
   * Rows carry an integer `rowid` in storage order (SQLite): the purge walks the table in rowid ranges,
   * reading neighbouring pages; elsewhere it walks the primary key.
   */
  readonly rowids: boolean;
  /** The database is one file with a write-ahead log (SQLite): the purge returns free pages and checkpoints the log. */
  readonly fileMaintenance: boolean;
  /**
   * How long one purge batch should take, in ms; the batch size adapts to it. SQLite has one writer,
   * so every write of the server waits for the batch: a few ms. Postgres locks only the rows deleted.
   */
  readonly purgeBatchMs: number;
}

/** The databases the store is tested on. */
export type SqlDialectName = 'sqlite' | 'postgres';

export const CAPABILITIES: Readonly<Record<SqlDialectName, SqlCapabilities>> = Object.freeze({
  sqlite: Object.freeze({ schemas: false, migrateUnderWriteLock: true, rowids: true, fileMaintenance: true, purgeBatchMs: 4 }),
  // Postgres: Kysely's migrator holds a session advisory lock and runs DDL in a transaction.
  postgres: Object.freeze({ schemas: true, migrateUnderWriteLock: false, rowids: false, fileMaintenance: false, purgeBatchMs: 100 }),
});
