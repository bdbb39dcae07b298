// Opens the database named by TESSERA_DATABASE_URL: the embedded SQLite file by default, Postgres
// when the URL says so. Sessions, users and keys share one connection (pool) and one migration lock.
import { postgresStore } from '@tessera/auth/stores/postgres';
import { sqliteStore, type SqlSessionStore } from '@tessera/auth/stores/sqlite';
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

/** `query`'s answer, or, when the database does not answer, a DatabaseUnavailableError (503 `store_unavailable`) saying which. */
export async function answered<T>(query: Promise<T>, what = 'The database'): Promise<T> {
  try {
    return await query;
  } catch (cause) {
    throw new DatabaseUnavailableError(`${what} did not answer.`, cause);
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

/**
 * A database failure as one sentence for the log, naming its cause (docs/architecture.md "Errors"): the driver's
 * code never reaches a client, who gets 503 `store_unavailable`. Undefined when nothing in the error (or its
 * causes) is a database failure this recognises.
 */
export function databaseProblem(err: unknown): string | undefined {
  for (const cause of causes(err)) {
    const sentence = sentenceOf(cause as DriverError);
    if (sentence !== undefined) return sentence;
  }
  return undefined;
}

/** The shape of a `pg`, `net` or `better-sqlite3` error, as far as `databaseProblem` reads it. */
interface DriverError {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
}

/** The error, its `cause` chain and the errors of an AggregateError (a connect to several addresses). */
function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  const queue = [err];
  while (queue.length > 0 && out.length < 16) {
    const next = queue.shift();
    if (typeof next !== 'object' || next === null || out.includes(next)) continue;
    out.push(next);
    if (next instanceof AggregateError) queue.push(...(next.errors as unknown[]));
    queue.push((next as { cause?: unknown }).cause);
  }
  return out;
}

function sentenceOf(err: DriverError): string | undefined {
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : '';
  const at = typeof err.address === 'string' ? ` at ${err.address}${typeof err.port === 'number' ? `:${err.port}` : ''}` : '';
  switch (code) {
    case 'ECONNREFUSED':
      return `Postgres${at} refused the connection: is it running, and is TESSERA_DATABASE_URL right?`;
    case 'ETIMEDOUT':
      return `Postgres${at} did not accept the connection in time (a network or firewall problem).`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `Postgres${at} dropped the connection (a restart, a network cut or a proxy).`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'The Postgres host name could not be resolved: check TESSERA_DATABASE_URL and DNS.';
    case '57014':
      return 'Postgres cancelled a statement that ran past the statement timeout (a slow query or a lock held too long).';
    case '57P01':
    case '57P02':
    case '57P03':
      return `Postgres is shutting down or starting (${code}): it ended the connection or refused a new one.`;
    case '53300':
      return 'Postgres has no connection slot left (too many connections): lower the pool size or raise max_connections.';
    case '40001':
      return 'Postgres refused a transaction as a serialization failure (a concurrent update); the client may retry.';
    case '40P01':
      return 'Postgres broke a deadlock by cancelling a transaction; the client may retry.';
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return 'The SQLite file stayed locked past the busy timeout (another process holds a write lock).';
  }
  if (code.startsWith('08')) return `Postgres reported a connection failure (${code}).`;
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_FULL' || code === 'SQLITE_READONLY')
    return `SQLite could not write its file (${code}): check the disk and the file's permissions.`;
  if (/Connection terminated due to connection timeout|timeout exceeded when trying to connect/i.test(message))
    return 'Postgres did not accept a connection within the connect timeout (2 s).';
  if (/Connection terminated unexpectedly|Client has encountered a connection error/i.test(message))
    return 'Postgres ended the connection unexpectedly (a restart, a network cut or a proxy).';
  if (/Query read timeout/i.test(message)) return 'Postgres did not answer a query within the client-side timeout.';
  return undefined;
}
