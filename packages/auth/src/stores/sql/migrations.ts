import { Migrator, sql, type DatabaseIntrospector, type Kysely, type Migration, type TableMetadata } from 'kysely';
import type { SqlCapabilities } from './capabilities.js';
import { FIRST_PARTY_CLIENT } from '../../protocol/protocol.js';
import { REVOCATION_EVENTS_TABLE, SESSIONS_TABLE } from './tables.js';

/** The store's own migration bookkeeping, apart from any migrations of the application. */
export const MIGRATION_TABLE = 'tessera_sessions_migrations';
export const MIGRATION_LOCK_TABLE = 'tessera_sessions_migrations_lock';

/** In-code migrations, so a bundled or compiled server needs no migration files on disk. Names sort in order. */
export function sessionMigrations(schema: string | undefined, capabilities: SqlCapabilities): Record<string, Migration> {
  const ddl = (db: Kysely<unknown>) => (schema === undefined ? db.schema : db.schema.withSchema(schema));
  return {
    '0001_sessions': {
      async up(db) {
        // Times are epoch milliseconds in int8: past 2038 and never rounded (docs/architecture.md "Sessions").
        await ddl(db)
          .createTable(SESSIONS_TABLE)
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('current_jti', 'text', (c) => c.notNull())
          .addColumn('previous_jti', 'text')
          .addColumn('rotated_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('absolute_expires_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .addColumn('reason', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint', (c) => c.notNull())
          .addColumn('user_agent', 'text')
          .addColumn('ip', 'text')
          .execute();
        // listByUser and revokeUser: one user's sessions, newest first.
        await ddl(db).createIndex('tessera_sessions_user_idx').on(SESSIONS_TABLE).columns(['user_id', 'created_at']).execute();
        // purge. None on expires_at, which every rotation moves: with it no rotation could be a HOT
        // update on Postgres, each writing every index (bench/sessions: compare-and-set +17 %);
        // purge, hourly, scans for idle sessions instead.
        await ddl(db).createIndex('tessera_sessions_absolute_expires_idx').on(SESSIONS_TABLE).column('absolute_expires_at').execute();
        await ddl(db)
          .createIndex('tessera_sessions_revoked_idx')
          .on(SESSIONS_TABLE)
          .column('revoked_at')
          .where('revoked_at', 'is not', null)
          .execute();
      },
      async down(db) {
        await ddl(db).dropTable(SESSIONS_TABLE).execute();
      },
    },
    '0002_clients': {
      async up(db) {
        // Every session records the OAuth client it was issued to, and the RFC 7638 thumbprint
        // of its DPoP key when bound. Sessions stored before were all the first-party client's, unbound.
        // One column per statement: SQLite's ALTER TABLE adds one at a time. A constant default needs
        // no table rewrite on either database (Postgres 11+ keeps it in the catalogue).
        await ddl(db)
          .alterTable(SESSIONS_TABLE)
          .addColumn('client_id', 'text', (c) => c.notNull().defaultTo(FIRST_PARTY_CLIENT))
          .execute();
        await ddl(db).alterTable(SESSIONS_TABLE).addColumn('jkt', 'text').execute();
      },
      async down(db) {
        await ddl(db).alterTable(SESSIONS_TABLE).dropColumn('jkt').execute();
        await ddl(db).alterTable(SESSIONS_TABLE).dropColumn('client_id').execute();
      },
    },
    '0003_revocation_events': {
      // The revocation feed (docs/resource-server.md): one row per revoked session or withdrawn key,
      // written in the revocation's transaction. The id is the feed's cursor, so it must never be
      // reused once purge deleted the highest rows: AUTOINCREMENT on SQLite (a plain rowid reuses
      // max+1), a sequence on Postgres (bigserial never goes back).
      async up(db) {
        await ddl(db)
          .createTable(REVOCATION_EVENTS_TABLE)
          .addColumn('id', capabilities.schemas ? sql`bigserial` : 'integer', (c) =>
            capabilities.schemas ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('ref', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .execute();
        // purge, and the cold-start snapshot (events since the oldest one that still matters).
        await ddl(db).createIndex('tessera_revocation_events_at_idx').on(REVOCATION_EVENTS_TABLE).column('at').execute();
      },
      async down(db) {
        await ddl(db).dropTable(REVOCATION_EVENTS_TABLE).execute();
      },
    },
  };
}

/** The schema that unqualified names resolve to (the first existing one on the search_path). */
async function currentSchema(db: Kysely<unknown>): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? undefined;
}

export interface MigrateOptions {
  readonly schema: string | undefined;
  readonly capabilities: SqlCapabilities;
  /** Another set of migrations with its own bookkeeping table (an application's tables beside the store's). */
  readonly set?: MigrationSet;
}

/** Migrations of an application's own tables, run by `SqlSessionStore.migrate` under the same locks. */
export interface MigrationSet {
  /** The bookkeeping table of this set (its lock table is named after it). */
  readonly table: string;
  /** In-code migrations, applied in name order. */
  readonly migrations: Readonly<Record<string, Migration>>;
}

/**
 * Kysely's Postgres introspector lists the tables of every schema and names each one back to Postgres
 * (`has_schema_privilege`, `pg_get_serial_sequence`): a schema that another process drops meanwhile fails
 * our migration with `schema "…" does not exist`. Its migrator only asks whether our schema and our two
 * bookkeeping tables exist, so `db` answers that from the catalog for our schema alone.
 */
function introspectingOnly(db: Kysely<unknown>, schema: string): Kysely<unknown> {
  const introspection: DatabaseIntrospector = {
    async getSchemas() {
      const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace where nspname = ${schema}`.execute(db);
      return rows;
    },
    async getTables(): Promise<TableMetadata[]> {
      const { rows } = await sql<{ name: string; view: boolean }>`select c.relname as name, c.relkind = 'v' as view
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = ${schema} and c.relkind in ('r', 'p', 'v')`.execute(db);
      return rows.map((row) => ({ name: row.name, schema, isView: row.view, columns: [] }));
    },
    async getMetadata() {
      return { tables: await introspection.getTables() };
    },
  };
  // Kysely keeps its state in private fields: every other member is the instance's own, bound to it.
  return new Proxy(db, {
    get(target, key) {
      if (key === 'introspection') return introspection;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The migrator of the sessions table (or `set`) in `schema`, looking at no other schema. */
export function sessionMigrator(db: Kysely<unknown>, { schema, capabilities, set }: MigrateOptions): Migrator {
  return new Migrator({
    db: schema !== undefined && capabilities.schemas ? introspectingOnly(db, schema) : db,
    provider: { getMigrations: async () => set?.migrations ?? sessionMigrations(schema, capabilities) },
    migrationTableName: set?.table ?? MIGRATION_TABLE,
    migrationLockTableName: set === undefined ? MIGRATION_LOCK_TABLE : `${set.table}_lock`,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
}

/** Brings the sessions table (or `set`) to the latest version; running it again, or from two processes at once, is safe. */
export async function migrateSessions(db: Kysely<unknown>, { schema: named, capabilities, set }: MigrateOptions): Promise<void> {
  // Kysely's migrator looks for its tables in every schema when given none: one found elsewhere
  // (another tenant, a test run) would pass for ours. Name the schema unqualified statements use.
  const schema = named ?? (capabilities.schemas ? await currentSchema(db) : undefined);
  const run = async (on: Kysely<unknown>): Promise<void> => {
    const { error } = await sessionMigrator(on, { schema, capabilities, ...(set === undefined ? {} : { set }) }).migrateToLatest();
    if (error !== undefined) throw error instanceof Error ? error : new Error('The session store migration failed.', { cause: error });
  };
  if (!capabilities.migrateUnderWriteLock) return run(db);
  // One connection, held for the whole run; only statements on it are awaited inside the transaction.
  await db.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection);
    try {
      await run(connection);
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
    await sql`commit`.execute(connection);
  });
}
