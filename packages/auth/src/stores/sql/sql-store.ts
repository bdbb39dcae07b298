import { sql, type Kysely } from 'kysely';
import { ConfigError, StoreUnavailableError } from '../../core/errors.js';
import type { RotateResult, RotationInput, SessionStore } from '../../core/sessions/store.js';
import { REVOCATION_EVENTS_MIN_KEEP_MS, rotationRefusal } from '../../core/sessions/store.js';
import { CAPABILITIES, type SqlCapabilities, type SqlDialectName } from './capabilities.js';
import { migrateSessions, type MigrationSet } from './migrations.js';
import { prepareQuery } from './prepared-query.js';
import { purgeSessionRows } from './purge.js';
import { insertRevocationEvents, lockRevocationEvents, readRevocationEvents, readRevocationSnapshot } from './revocation-events.js';
import { SESSION_COLUMNS, SESSIONS_TABLE, toRecord, toRow, type SessionDatabase, type SessionRow } from './tables.js';

/** A session store over SQL: the `SessionStore` verbs, migrations and a readiness probe. */
export interface SqlSessionStore extends SessionStore {
  /**
   * Creates or upgrades the sessions table, then the application's own `sets` of migrations (with
   * the same locking); safe to run again and from several processes at once.
   */
  migrate(...sets: readonly MigrationSet[]): Promise<void>;
  /** The Kysely instance behind the store, for an application's own tables beside the sessions. */
  readonly db: Kysely<unknown>;
  /** Resolves when the database answers (readiness); rejects otherwise. */
  ping(): Promise<void>;
}

/** Options of `sqlStore` for a Kysely instance the caller brings. */
export interface SqlStoreOptions {
  /** Which database is behind the Kysely instance; it selects the capability flags. */
  readonly dialect: SqlDialectName;
  /** Postgres only: the schema that holds the tables (default: the connection's search_path). */
  readonly schema?: string;
}

/** What a factory adds for a database it opened itself. */
export interface SqlStoreParts {
  readonly capabilities: SqlCapabilities;
  readonly schema: string | undefined;
  /** Runs the migrations on a connection fit for DDL (Postgres: a longer statement timeout); default `db`. */
  readonly withMigrationDb?: (run: (db: Kysely<unknown>) => Promise<void>) => Promise<void>;
  /** Releases what the factory opened. Without it, `close` leaves the caller's Kysely instance open. */
  readonly destroy?: () => Promise<void>;
  /** SQLite: runs a statement to its end on the store's connection (the purge's incremental vacuum, stores/sql/purge.ts). */
  readonly exec?: (statement: string) => void;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Checks a schema option once, at construction (a mistake there is the programmer's, not a request's). */
export function checkSchema(schema: string | undefined, capabilities: SqlCapabilities): string | undefined {
  if (schema === undefined) return undefined;
  if (!capabilities.schemas) throw new ConfigError(['This database has no schemas: leave the `schema` option unset.']);
  if (!SCHEMA_NAME.test(schema)) throw new ConfigError(['The `schema` option must be a plain SQL identifier (letters, digits and _, at most 63).']);
  return schema;
}

/**
 * Sessions in a SQL database through a Kysely instance the caller owns (its tables may sit beside
 * the application's own); `close` leaves that instance open.
 * @example const store = sqlStore(db, { dialect: 'postgres' }); await store.migrate();
 */
export function sqlStore<DB>(db: Kysely<DB>, options: SqlStoreOptions): SqlSessionStore {
  const capabilities = CAPABILITIES[options.dialect];
  if (capabilities === undefined) throw new ConfigError(['The `dialect` option must be "sqlite" or "postgres".']);
  // The store names only its own table; the caller's database type need not declare it.
  return createSqlStore(db as unknown as Kysely<SessionDatabase>, { capabilities, schema: checkSchema(options.schema, capabilities) });
}

/**
 * The store itself. Every verb is one statement, so it is atomic on its own in both databases,
 * except the revocations: each is one short transaction with its revocation-feed events
 * (stores/sql/revocation-events.ts), in which only its own statements are awaited.
 */
export function createSqlStore(db: Kysely<SessionDatabase>, parts: SqlStoreParts): SqlSessionStore {
  const { capabilities, schema } = parts;
  const q = schema === undefined ? db : db.withSchema(schema);
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error('The SQL session store is closed.');
  };

  // The verbs of every refresh and liveness check are compiled once; the others, rare, as they come.
  // Their columns are listed: they stay prepared on Postgres connections (stores/sql/pg-pool.ts).
  const selectById = prepareQuery<{ id: string }, SessionRow>(q as Kysely<unknown>, (p) =>
    q.selectFrom(SESSIONS_TABLE).select(SESSION_COLUMNS).where('id', '=', p.id),
  );
  const compareAndSet = prepareQuery<{ id: string; expectedJti: string } & RotationInput, SessionRow>(q as Kysely<unknown>, (p) =>
    // The compare-and-set: one UPDATE whose WHERE is the whole precondition. Every SET
    // expression sees the row as it was, so previous_jti takes the old current_jti.
    q
      .updateTable(SESSIONS_TABLE)
      .set((eb) => ({
        previous_jti: eb.ref('current_jti'),
        current_jti: p.jti,
        rotated_at: p.rotatedAt,
        // min(next, absolute) without LEAST/min(), which the two databases spell differently.
        expires_at: sql<number>`case when ${p.expiresAt} < ${sql.ref('absolute_expires_at')} then ${p.expiresAt} else ${sql.ref('absolute_expires_at')} end`,
        last_used_at: p.now,
      }))
      .where('id', '=', p.id)
      .where('current_jti', '=', p.expectedJti)
      .where('revoked_at', 'is', null)
      .where('absolute_expires_at', '>', p.now)
      .where('expires_at', '>', p.now)
      .returning(SESSION_COLUMNS),
  );

  const get = async (id: string) => {
    const [row] = await selectById({ id });
    return row === undefined ? undefined : toRecord(row);
  };

  const store: SqlSessionStore = {
    async create(session) {
      open();
      // A duplicate id violates the primary key and rejects.
      await q.insertInto(SESSIONS_TABLE).values(toRow(session)).execute();
    },

    async get(id) {
      open();
      return get(id);
    },

    async rotate(id, expectedJti, next): Promise<RotateResult> {
      open();
      const [row] = await compareAndSet({ id, expectedJti, ...next });
      if (row !== undefined) return { ok: true, session: toRecord(row) };
      // Nothing changed; read the row only to say why. If it now looks rotatable, another
      // rotation won between the two statements: the caller's jti is no longer the current one.
      const session = await get(id);
      if (session === undefined) return { ok: false, reason: 'not_found' };
      return { ok: false, reason: rotationRefusal(session, expectedJti, next.now) ?? 'jti_mismatch', session };
    },

    // Revocations write their feed events in the same transaction (docs/resource-server.md): both or
    // neither. Only statements are awaited inside (SQLite's one connection waits behind its mutex).
    async revoke(id, reason, at) {
      open();
      return q.transaction().execute(async (trx) => {
        await lockRevocationEvents(trx, capabilities, schema);
        const rows = await trx
          .updateTable(SESSIONS_TABLE)
          .set({ revoked_at: at, reason })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .returning('id')
          .execute();
        await insertRevocationEvents(
          trx,
          rows.map((r) => ({ kind: 'session', ref: r.id, at })),
        );
        return rows.length > 0;
      });
    },

    async revokeUser(userId, reason, at, except) {
      open();
      return q.transaction().execute(async (trx) => {
        await lockRevocationEvents(trx, capabilities, schema);
        let update = trx.updateTable(SESSIONS_TABLE).set({ revoked_at: at, reason }).where('user_id', '=', userId).where('revoked_at', 'is', null);
        if (except !== undefined) update = update.where('id', '<>', except);
        const rows = await update.returning('id').execute();
        await insertRevocationEvents(
          trx,
          rows.map((r) => ({ kind: 'session', ref: r.id, at })),
        );
        return rows.map((r) => r.id);
      });
    },

    async revocationEvents(afterId, limit) {
      open();
      return readRevocationEvents(q, afterId, limit);
    },

    async revocationSnapshot(since) {
      open();
      return readRevocationSnapshot(q, since);
    },

    async listByUser(userId, now) {
      open();
      const rows = await q
        .selectFrom(SESSIONS_TABLE)
        .selectAll()
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('absolute_expires_at', '>', now)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'asc')
        .execute();
      return rows.map(toRecord);
    },

    // In short batches, yielding between them (stores/sql/purge.ts). Feed events that no longer matter
    // go with the sessions (kept at least a day: core/sessions/store.ts).
    async purge(now, before, options) {
      open();
      const target = { db: q, capabilities, ...(parts.exec === undefined ? {} : { exec: parts.exec }) };
      return purgeSessionRows(target, now, before, Math.min(before, now - REVOCATION_EVENTS_MIN_KEEP_MS), options);
    },

    async migrate(...sets) {
      open();
      for (const set of [undefined, ...sets]) {
        const run = (on: Kysely<unknown>) => migrateSessions(on, { schema, capabilities, ...(set === undefined ? {} : { set }) });
        await (parts.withMigrationDb === undefined ? run(db as unknown as Kysely<unknown>) : parts.withMigrationDb(run));
      }
    },

    db: db as unknown as Kysely<unknown>,

    async ping() {
      open();
      await sql`select 1`.execute(db);
    },

    async close() {
      if (closed) return;
      closed = true;
      await parts.destroy?.();
    },
  };
  const verbs = store as unknown as Record<(typeof SESSION_VERBS)[number], (...args: unknown[]) => Promise<unknown>>;
  for (const verb of SESSION_VERBS) verbs[verb] = explainMissingTables(verbs[verb]);
  return store;
}

/** The verbs that read or write the sessions table. */
const SESSION_VERBS = ['create', 'get', 'rotate', 'revoke', 'revokeUser', 'listByUser', 'purge', 'revocationEvents', 'revocationSnapshot'] as const;

/**
 * A database without the sessions table answers 503 saying how to create it, not "cannot be reached":
 * SQLite says "no such table", Postgres SQLSTATE 42P01 (undefined_table).
 */
function explainMissingTables<A extends unknown[], R>(verb: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await verb(...args);
    } catch (cause) {
      if (!isMissingTable(cause)) throw cause;
      throw new StoreUnavailableError({
        message: 'The session store has no tables yet: run `tessera db migrate` (or `store.migrate()`) before serving',
        cause,
      });
    }
  };
}

function isMissingTable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return code === '42P01' || (code === 'SQLITE_ERROR' && typeof message === 'string' && message.startsWith('no such table'));
}
