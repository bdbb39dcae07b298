// Opens the database named by TESSERA_DATABASE_URL: the embedded SQLite file by default, Postgres
// when the URL says so. Sessions, users and keys share one connection (pool) and one migration lock.
import { postgresStore, sqliteStore, type SqlSessionStore } from '@tessera/auth/stores/sql';
import type { Kysely } from 'kysely';
import { SERVER_MIGRATIONS, type ServerDatabase } from './schema.js';

export interface Database {
  readonly store: SqlSessionStore;
  readonly db: Kysely<ServerDatabase>;
  readonly dialect: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

/** A database the server could not open: one sentence saying what is wrong and what to do. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/** Opens the database and brings its tables up to date (safe beside a live server: migrations run under the store's locks). */
export async function openDatabase(url: string): Promise<Database> {
  const dialect = url.startsWith('sqlite:') ? 'sqlite' : 'postgres';
  let store: SqlSessionStore;
  try {
    store = dialect === 'sqlite' ? sqliteStore({ filename: url.slice('sqlite:'.length) }) : postgresStore({ connectionString: url });
  } catch (cause) {
    throw new DatabaseUnavailableError(`Cannot open the database ${redact(url)} (${reason(cause)}): check TESSERA_DATABASE_URL.`, cause);
  }
  try {
    await store.migrate(SERVER_MIGRATIONS);
  } catch (cause) {
    await store.close();
    throw new DatabaseUnavailableError(
      `Cannot reach the database ${redact(url)} (${reason(cause)}): check TESSERA_DATABASE_URL and that the database is running.`,
      cause,
    );
  }
  return { store, db: store.db as Kysely<ServerDatabase>, dialect, close: () => store.close() };
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@/]*@/, '$1:***@');
}

function reason(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length > 0) return reason(cause.errors[0]);
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return String(cause);
}
