import type Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { CAPABILITIES } from './capabilities.js';
import { loadDriver } from '../driver.js';
import { createSqlStore, type SqlSessionStore } from './sql-store.js';
import { cachingStatements } from './statement-cache.js';
import type { SessionDatabase } from './tables.js';

/** Options of `sqliteStore`. */
export interface SqliteStoreOptions {
  /** The database file; a missing directory is created readable by the owner only. `:memory:` for a throwaway one. */
  readonly filename: string;
  /** How long a statement waits for another connection's write lock (the CLI), in ms (default 5000). */
  readonly busyTimeout?: number;
}

/**
 * Creates the directory (0700) and the database, WAL and shared-memory files (0600) before SQLite
 * opens them, so no moment exists where the sessions are readable by others. SQLite gives files it
 * creates later (a new -wal after a clean close) the database file's mode. Existing files are left as they are.
 */
function createPrivateFiles(filename: string): void {
  const path = resolve(filename);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      closeSync(openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/**
 * Sessions in an SQLite file: the embedded default of the server. WAL with synchronous=NORMAL
 * survives a killed process but may lose the last commits in a power cut.
 * @example const store = sqliteStore({ filename: './data/tessera.db' }); await store.migrate();
 */
export function sqliteStore(options: SqliteStoreOptions): SqlSessionStore {
  const { filename } = options;
  const busyTimeout = options.busyTimeout ?? 5000;
  const problems: string[] = [];
  if (typeof filename !== 'string' || filename === '') problems.push('The `filename` option must name the database file.');
  if (!Number.isSafeInteger(busyTimeout) || busyTimeout < 0) problems.push('The `busyTimeout` option must be a whole number of milliseconds.');
  if (problems.length > 0) throw new ConfigError(problems);

  // The driver before any file: a missing one leaves nothing behind.
  const Driver = loadDriver<typeof Database>('better-sqlite3', 'sqliteStore');
  const inMemory = filename === ':memory:';
  if (!inMemory) createPrivateFiles(filename);
  const database = new Driver(filename, { timeout: busyTimeout });
  try {
    // WAL: the CLI reads and writes beside the server; a busy timeout makes a writer wait for the
    // lock instead of failing with SQLITE_BUSY.
    database.pragma(`busy_timeout = ${busyTimeout}`);
    // A new file (no page yet) gives pages back to the file system as the purge frees them; SQLite
    // takes the mode only before the first table (and before WAL writes the header). An existing file
    // keeps its mode: converting it is a full VACUUM, which `tessera db vacuum` runs offline.
    if (database.pragma('page_count', { simple: true }) === 0) database.pragma('auto_vacuum = INCREMENTAL');
    const mode = database.pragma('journal_mode = WAL', { simple: true });
    if (!inMemory && mode !== 'wal') throw new Error(`SQLite refused WAL mode for the session database (it answered ${String(mode)}).`);
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
  } catch (error) {
    database.close();
    throw error;
  }
  const db = new Kysely<SessionDatabase>({ dialect: new SqliteDialect({ database: cachingStatements(database) }) });
  return createSqlStore(db, {
    capabilities: CAPABILITIES.sqlite,
    schema: undefined,
    destroy: () => db.destroy(),
    exec: (statement) => database.exec(statement),
  });
}
