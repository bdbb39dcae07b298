// `tessera db vacuum`: gives the space of deleted rows back (docs/operations.md "Purge and disk space").
// SQLite: a full VACUUM, which holds the database's exclusive lock for its whole run (stop the server),
// converting an older file to incremental auto-vacuum on the way, then a TRUNCATE checkpoint.
// Postgres: a plain VACUUM (ANALYZE) of the tables, which runs beside the server; never FULL.
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import pg from 'pg';
import { redact } from './connect.js';

interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

const AUTO_VACUUM = ['none', 'full', 'incremental'] as const;

/** The database file and its write-ahead log, in bytes. */
function sizeOf(path: string): number {
  return [path, `${path}-wal`].reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
}

const megabytes = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;

export async function vacuumCommand(url: string, io: Io): Promise<number> {
  return url.startsWith('sqlite:') ? vacuumSqlite(url.slice('sqlite:'.length), io) : vacuumPostgres(url, io);
}

function vacuumSqlite(path: string, io: Io): number {
  if (path === ':memory:' || !existsSync(path)) {
    io.err(`No database file at ${path}: nothing to vacuum.`);
    return 1;
  }
  const before = sizeOf(path);
  // A short busy timeout: a running server holds the file, and waiting for it would only delay the same answer.
  const db = new Database(path, { timeout: 1000 });
  try {
    const mode = AUTO_VACUUM[Number(db.pragma('auto_vacuum', { simple: true }))] ?? 'none';
    // The mode changes with the VACUUM that rebuilds the file, not before.
    if (mode !== 'incremental') db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
    const after = sizeOf(path);
    io.out(`Vacuumed ${path}: ${megabytes(before)} before, ${megabytes(after)} after (file and write-ahead log).`);
    if (mode !== 'incremental') io.out(`auto_vacuum is now incremental (it was ${mode}): the purge gives freed pages back from now on.`);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      io.err('The database is in use: stop the server (and any other tessera command) before `tessera db vacuum`.');
    else io.err(`VACUUM failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    db.close();
  }
}

async function vacuumPostgres(url: string, io: Io): Promise<number> {
  // Its own connection without a statement timeout: VACUUM of a large table takes longer than the store's.
  const client = new pg.Client({ connectionString: url, statement_timeout: 0, application_name: 'tessera db vacuum' });
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string }>(
      "select quote_ident(tablename) as name from pg_tables where schemaname = current_schema() and tablename like 'tessera\\_%' order by tablename",
    );
    if (rows.length === 0) {
      io.err(`No Tessera tables in ${redact(url)}: nothing to vacuum.`);
      return 1;
    }
    await client.query(`vacuum (analyze) ${rows.map((r) => r.name).join(', ')}`);
    io.out(
      `VACUUM (ANALYZE) of ${rows.length} table(s) done: the space of deleted rows is free for reuse within each table ` +
        'and the statistics are fresh. The files keep their size (VACUUM FULL would shrink them, under an exclusive lock; this command never runs it).',
    );
    return 0;
  } catch (err) {
    io.err(`VACUUM failed on ${redact(url)}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}
