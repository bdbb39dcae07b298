// `tessera db copy --to URL`: every row of Tessera's tables (users, keys, sessions, and any table a
// later migration adds) from the database of TESSERA_DATABASE_URL into another, SQLite or Postgres
// either way. Tables (tessera_*, never an application's own beside them) and columns are read from
// the databases, never listed here, so new migrations need nothing of this module. The target is migrated first and must be empty; its rows go in one
// transaction (a failed copy leaves it empty), read from one snapshot of the source.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { DatabaseUnavailableError, openDatabase, redact, type Database } from './connect.js';

type Dialect = Database['dialect'];
type Row = Record<string, unknown>;

/** Rows per statement; fewer for wide tables, under both databases' bound-parameter limits. */
const BATCH = 1000;
const MAX_PARAMETERS = 30_000;

/** Tables copied first, in this order (a later table may refer to an earlier one); any other follows by name. */
const FIRST = ['tessera_users', 'tessera_keys', 'tessera_sessions'];

/** A copy that left the target without rows (refused, or rolled back): one sentence saying why. */
export class CopyRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyRefusedError';
  }
}

export interface CopiedTable {
  readonly table: string;
  readonly rows: number;
}

interface Column {
  readonly name: string;
  /** The declared type, lower case (`bigint`, `text`, `boolean`, `jsonb`…). */
  readonly type: string;
}

/** Copies every row of Tessera's tables from `sourceUrl` into the empty database at `targetUrl` (migrated first). */
export async function copyDatabase(sourceUrl: string, targetUrl: string): Promise<CopiedTable[]> {
  if (sameDatabase(sourceUrl, targetUrl)) throw new CopyRefusedError('The target is the source database: name another one with --to.');
  const source = await openDatabase(sourceUrl);
  try {
    const target = await openDatabase(targetUrl).catch((err: unknown) => {
      // connect.ts names TESSERA_DATABASE_URL, which is the source here.
      throw err instanceof DatabaseUnavailableError ? new CopyRefusedError(err.message.replace('TESSERA_DATABASE_URL', 'the --to URL')) : err;
    });
    try {
      return await copyRows(source, target);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

async function copyRows(source: Database, target: Database): Promise<CopiedTable[]> {
  const from = source.db as unknown as Kysely<unknown>;
  const to = target.db as unknown as Kysely<unknown>;
  const tables = order(await tablesOf(from, source.dialect));
  // Refused before the transactions: nothing is written to a database that has rows.
  for (const table of order(await tablesOf(to, target.dialect)))
    if (await hasRows(to, table))
      throw new CopyRefusedError(`The target database already has rows in ${table}: db copy only fills an empty database.`);
  // Postgres: one repeatable-read snapshot of the source; SQLite: a read transaction is one snapshot in WAL.
  const reading =
    source.dialect === 'postgres' ? from.transaction().setIsolationLevel('repeatable read').setAccessMode('read only') : from.transaction();
  const copy = reading.execute((src) =>
    to.transaction().execute(async (dst) => {
      const copied: CopiedTable[] = [];
      for (const table of tables) {
        const columns = await columnsOf(src, source.dialect, table);
        const targetColumns = new Map((await columnsOf(dst, target.dialect, table)).map((c) => [c.name, c]));
        const types = columns.map((c) => {
          const on = targetColumns.get(c.name);
          if (on === undefined)
            throw new CopyRefusedError(`The target database has no column ${table}.${c.name}: run the same Tessera version on both.`);
          return on.type;
        });
        const key = await primaryKeyOf(src, source.dialect, table);
        const orderBy = sql.join((key.length > 0 ? key : columns.map((c) => c.name)).map((name) => sql.ref(name)));
        const names = sql.join(columns.map((c) => sql.ref(c.name)));
        const batch = Math.max(1, Math.min(BATCH, Math.floor(MAX_PARAMETERS / columns.length)));
        let rows = 0;
        for (;;) {
          const { rows: page } = await sql<Row>`select ${names} from ${sql.table(table)} order by ${orderBy} limit ${batch} offset ${rows}`.execute(
            src,
          );
          if (page.length === 0) break;
          const values = page.map((row) => sql`(${sql.join(columns.map((c, i) => convert(row[c.name], types[i] ?? '', target.dialect)))})`);
          await sql`insert into ${sql.table(table)} (${names}) values ${sql.join(values)}`.execute(dst);
          rows += page.length;
          if (page.length < batch) break;
        }
        // A serial column (the revocation feed's ids, its cursor) counts on from the copied rows and never reuses one
        // (SQLite's AUTOINCREMENT follows explicit ids by itself).
        if (target.dialect === 'postgres' && rows > 0)
          for (const column of columns) {
            const { rows: serial } = await sql<{ seq: string | null }>`select pg_get_serial_sequence(${table}, ${column.name}) as seq`.execute(dst);
            const seq = serial[0]?.seq;
            if (seq !== null && seq !== undefined)
              await sql`select setval(${seq}::regclass, (select max(${sql.ref(column.name)}) from ${sql.table(table)})::bigint)`.execute(dst);
          }
        copied.push({ table, rows });
      }
      return copied;
    }),
  );
  return copy.catch((err: unknown) => {
    if (err instanceof CopyRefusedError) throw err;
    // The target's transaction rolled back: nothing was written. The database's reason may quote a
    // value that did not fit a column's type; secrets sit in text columns, which take any value.
    throw new CopyRefusedError(`The copy stopped and the target is left empty (${err instanceof Error ? err.message : String(err)}).`);
  });
}

/** Tessera's tables, without the migrations' bookkeeping (the target has its own from being migrated). */
async function tablesOf(db: Kysely<unknown>, dialect: Dialect): Promise<string[]> {
  const query: RawBuilder<{ name: string }> =
    dialect === 'sqlite'
      ? sql`select name from sqlite_master where type = 'table'`
      : sql`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`;
  const { rows } = await query.execute(db);
  return rows.map((r) => r.name).filter((name) => name.startsWith('tessera_') && !/_migrations(_lock)?$/.test(name));
}

function order(tables: readonly string[]): string[] {
  const rank = (t: string): number => (FIRST.includes(t) ? FIRST.indexOf(t) : FIRST.length);
  return [...tables].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

async function hasRows(db: Kysely<unknown>, table: string): Promise<boolean> {
  const { rows } = await sql<{ one: number }>`select 1 as one from ${sql.table(table)} limit 1`.execute(db);
  return rows.length > 0;
}

async function columnsOf(db: Kysely<unknown>, dialect: Dialect, table: string): Promise<Column[]> {
  const query: RawBuilder<Column> =
    dialect === 'sqlite'
      ? sql`select name, lower(type) as type from pragma_table_info(${table}) order by cid`
      : sql`select column_name as name, lower(data_type) as type from information_schema.columns
            where table_schema = current_schema() and table_name = ${table} order by ordinal_position`;
  return (await query.execute(db)).rows;
}

/** The primary key's columns in order, for a stable paging order (none: every column). */
async function primaryKeyOf(db: Kysely<unknown>, dialect: Dialect, table: string): Promise<string[]> {
  const query: RawBuilder<{ name: string }> =
    dialect === 'sqlite'
      ? sql`select name from pragma_table_info(${table}) where pk > 0 order by pk`
      : sql`select k.column_name as name from information_schema.table_constraints c
            join information_schema.key_column_usage k
              on k.constraint_name = c.constraint_name and k.table_schema = c.table_schema and k.table_name = c.table_name
            where c.constraint_type = 'PRIMARY KEY' and c.table_schema = current_schema() and c.table_name = ${table}
            order by k.ordinal_position`;
  return (await query.execute(db)).rows.map((r) => r.name);
}

/**
 * A value as the target column takes it. Integers: pg answers int8 as text when it is not a safe
 * integer (see `ms()` in schema.ts), and safe ones become numbers. SQLite has no booleans, JSON or
 * timestamps: 1/0, JSON text, ISO text. Postgres: 1/0 into a boolean, JSON text into json(b).
 */
export function convert(value: unknown, type: string, to: Dialect): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (type.includes('int') && typeof value === 'string' && /^-?\d+$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  if (to === 'sqlite') {
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'object' && !Buffer.isBuffer(value)) return JSON.stringify(value);
    return value;
  }
  if (type === 'boolean' && typeof value === 'number') return value !== 0;
  if ((type === 'json' || type === 'jsonb') && typeof value !== 'string') return JSON.stringify(value);
  return value;
}

/** Two URLs naming one SQLite file, or the very same Postgres URL. */
function sameDatabase(a: string, b: string): boolean {
  const file = (url: string): string | undefined => (url.startsWith('sqlite:') ? resolve(url.slice('sqlite:'.length)) : undefined);
  return a === b || (file(a) !== undefined && file(a) === file(b));
}

/** `tessera db copy --to URL`: the copy, its report, and an exit code (2 for a usage error, 1 for a refusal). */
export async function copyCommand(
  args: readonly string[],
  sourceUrl: string,
  io: { out: (s: string) => void; err: (s: string) => void },
  usage: () => number,
): Promise<number> {
  let to: string | undefined;
  try {
    to = parseArgs({ args: [...args], options: { to: { type: 'string' } }, strict: true }).values.to;
  } catch {
    return usage();
  }
  if (to === undefined || to === '') return usage();
  let copied: CopiedTable[];
  try {
    copied = await copyDatabase(sourceUrl, to);
  } catch (err) {
    io.err(err instanceof Error ? err.message : String(err));
    return 1;
  }
  io.out(`Copied ${redact(sourceUrl)} into ${redact(to)}:`);
  const width = Math.max(...copied.map((c) => c.table.length));
  for (const { table, rows } of copied) io.out(`  ${table.padEnd(width)}  ${rows} row(s)`);
  io.out(
    'Private keys were copied as they are (sealed when TESSERA_KEYS_SECRET is set): start the server on the target with the same TESSERA_KEYS_SECRET.',
  );
  return 0;
}
