// The purge of ended sessions, in short batches (docs/architecture.md "Sessions"): one DELETE over the
// whole table would hold SQLite's only write lock (or run into Postgres' statement timeout) for as long
// as the table is large.
import { sql, type Kysely } from 'kysely';
import type { PurgeOptions } from '../../core/sessions/store.js';
import { BatchedRun, tuning, type Batch } from './batches.js';
import type { SqlCapabilities } from './capabilities.js';
import { purgeRevocationEventsBatch } from './revocation-events.js';
import { SESSIONS_TABLE, type SessionDatabase } from './tables.js';

/** What the purge works on: the store's Kysely instance (schema applied) and its database's flags. */
export interface PurgeTarget {
  readonly db: Kysely<SessionDatabase>;
  readonly capabilities: SqlCapabilities;
  /**
   * Runs an SQLite statement to its end on the store's own connection: `incremental_vacuum` frees one
   * page per step, and Kysely's driver takes only the first step of a statement that returns no rows.
   * Absent (a caller's own Kysely instance), the purge leaves free pages for SQLite to reuse.
   */
  readonly exec?: (statement: string) => void;
}

/** A fixed batch size instead of the adapting one: tests see several batches in a small table. */
export interface PurgeTuning {
  readonly batchSize?: number;
}

/**
 * Deletes sessions whose absolute expiry has passed, revoked ones older than `before` and idle ones
 * (refresh expiry) older than `before`, then feed events older than `eventsBefore`; answers how many
 * sessions went. Ended and revoked rows are found through their indexes. Idle ones have no index
 * (every rotation moves `expires_at`: on Postgres an index on it would end HOT updates), so the table
 * is walked in key ranges, each range one short statement.
 */
export async function purgeSessionRows(
  target: PurgeTarget,
  now: number,
  before: number,
  eventsBefore: number,
  options?: PurgeOptions,
  test?: PurgeTuning,
): Promise<number> {
  const { db, capabilities } = target;
  const run = new BatchedRun(options, tuning(capabilities.purgeBatchMs, test?.batchSize));
  // The key a batch deletes by: SQLite's rowid avoids a lookup through the primary key's index.
  const key = capabilities.rowids ? 'rowid' : 'id';
  const byIndex =
    (column: 'absolute_expires_at' | 'revoked_at', op: '<=' | '<', bound: number): Batch =>
    async (size) => {
      const result = await db
        .deleteFrom(SESSIONS_TABLE)
        .where(sql.ref(key), 'in', db.selectFrom(SESSIONS_TABLE).select(sql.ref(key).as('k')).where(column, op, bound).orderBy(column).limit(size))
        .executeTakeFirst();
      const deleted = Number(result.numDeletedRows);
      return { deleted, more: deleted >= size };
    };
  // SQLite: a smaller automatic checkpoint while the purge runs. At the default 1000 pages, a commit that
  // crosses it copies 4 MB of log back into the file at once, on the event loop, inside one batch.
  // Two purges at once on one connection restore the setting the first one found, once both are done.
  let shared = capabilities.fileMaintenance ? purging.get(db) : undefined;
  if (capabilities.fileMaintenance && shared === undefined) {
    shared = { running: 0, pages: walAutocheckpoint(db) };
    purging.set(db, shared);
  }
  if (shared !== undefined) shared.running++;
  let deleted = 0;
  try {
    if (shared?.running === 1) {
      await shared.pages;
      await walAutocheckpoint(db, PURGE_CHECKPOINT_PAGES);
    }
    deleted += await run.repeat(byIndex('absolute_expires_at', '<=', now));
    deleted += await run.repeat(byIndex('revoked_at', '<', before));
    deleted += await run.repeat(capabilities.rowids ? idleByRowid(db, before) : idleByKey(db, before));
    await run.repeat(purgeRevocationEventsBatch(db, eventsBefore));
  } finally {
    if (shared !== undefined && --shared.running === 0) {
      purging.delete(db);
      await walAutocheckpoint(db, await shared.pages);
    }
  }
  if (capabilities.fileMaintenance && !run.stopped) await reclaimSpace(target, run);
  return deleted;
}

/** The log size (pages) at which a commit checkpoints, while a purge runs; small enough for a few ms. */
const PURGE_CHECKPOINT_PAGES = 200;

/** The purges running on each SQLite connection, and its own automatic checkpoint size to restore after them. */
const purging = new WeakMap<Kysely<SessionDatabase>, { running: number; pages: Promise<number> }>();

/** Reads `wal_autocheckpoint`, or sets it when `pages` is given (a setting of this connection only). */
async function walAutocheckpoint(db: Kysely<SessionDatabase>, pages?: number): Promise<number> {
  if (pages !== undefined) await sql.raw(`pragma wal_autocheckpoint = ${Math.floor(pages)}`).execute(db);
  const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
  return Number(rows[0]?.wal_autocheckpoint);
}

/** Idle sessions, rowid range by rowid range up to the largest rowid when the walk began. */
function idleByRowid(db: Kysely<SessionDatabase>, before: number): Batch {
  let from = 0;
  let last: number | undefined;
  return async (size) => {
    if (last === undefined) {
      const top = await db
        .selectFrom(SESSIONS_TABLE)
        .select(sql<number | null>`max(rowid)`.as('last'))
        .executeTakeFirst();
      last = Number(top?.last ?? 0);
    }
    const to = from + size;
    const result = await db
      .deleteFrom(SESSIONS_TABLE)
      .where(sql.ref('rowid'), '>', from)
      .where(sql.ref('rowid'), '<=', to)
      .where('expires_at', '<', before)
      .executeTakeFirst();
    from = to;
    return { deleted: Number(result.numDeletedRows), more: to < last };
  };
}

/** Idle sessions, primary-key range by range: the end of each range is read first, then the range deleted. */
function idleByKey(db: Kysely<SessionDatabase>, before: number): Batch {
  let from: string | undefined;
  return async (size) => {
    let next = db
      .selectFrom(SESSIONS_TABLE)
      .select('id')
      .orderBy('id')
      .offset(size - 1)
      .limit(1);
    if (from !== undefined) next = next.where('id', '>', from);
    const to = (await next.executeTakeFirst())?.id;
    let range = db.deleteFrom(SESSIONS_TABLE).where('expires_at', '<', before);
    if (from !== undefined) range = range.where('id', '>', from);
    if (to !== undefined) range = range.where('id', '<=', to);
    const result = await range.executeTakeFirst();
    from = to;
    return { deleted: Number(result.numDeletedRows), more: to !== undefined };
  };
}

/**
 * SQLite: gives free pages back in small steps when the file is in incremental auto-vacuum mode (new
 * databases are), then a passive checkpoint, which copies the log into the file without waiting for
 * readers. A file in another mode keeps its free pages for reuse (`tessera db vacuum` converts it).
 */
async function reclaimSpace(target: PurgeTarget, run: BatchedRun): Promise<void> {
  const { db, exec } = target;
  const { rows } = await sql<{ auto_vacuum: number }>`pragma auto_vacuum`.execute(db);
  if (exec !== undefined && Number(rows[0]?.auto_vacuum) === INCREMENTAL) {
    let before = Number.POSITIVE_INFINITY;
    await run.repeat(async (size) => {
      // On the connection Kysely hands out, so the step never lands inside another caller's transaction.
      const free = await db.connection().execute(async (connection) => {
        exec(`pragma incremental_vacuum(${Math.floor(size)})`);
        const { rows: left } = await sql<{ freelist_count: number }>`pragma freelist_count`.execute(connection);
        return Number(left[0]?.freelist_count ?? 0);
      });
      // Until none is left, or a step gave nothing back (another writer freeing pages as fast).
      const more = free > 0 && free < before;
      before = free;
      return { deleted: 0, more };
    });
  }
  if (!run.stopped) await sql`pragma wal_checkpoint(PASSIVE)`.execute(db);
}

/** `PRAGMA auto_vacuum`'s answer for INCREMENTAL. */
export const INCREMENTAL = 2;
