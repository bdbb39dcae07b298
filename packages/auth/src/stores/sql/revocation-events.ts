// The revocation feed's table (docs/resource-server.md "The revocation feed"): written in the same
// transaction as each revocation, read by the feed in id order.
import { sql, type Kysely, type QueryExecutorProvider } from 'kysely';
import type { RevocationEvent, RevocationSnapshot } from '../../core/sessions/store.js';
import type { Batch } from './batches.js';
import { CAPABILITIES, type SqlCapabilities, type SqlDialectName } from './capabilities.js';
import { REVOCATION_EVENTS_TABLE, type SessionDatabase } from './tables.js';

/** An event to write; the database gives its id. */
export interface NewRevocationEvent {
  readonly kind: 'session' | 'key';
  readonly ref: string;
  readonly at: number;
}

/**
 * Writes events inside the caller's transaction `trx`, after serialising the writers (Postgres).
 *
 * Why serialise rather than serve only events older than a settle delay: a reader remembers the last
 * id it saw, so an id that commits after a larger one would be skipped for good. Postgres hands out
 * sequence values at insert time, not at commit, so two concurrent transactions can commit out of id
 * order. A transaction-scoped advisory lock on the table's name (held until commit) makes writers take
 * turns before they draw an id, so ids commit in order; reads are not blocked, and a revocation is rare
 * enough that taking turns costs little (16 writers: ~1,100 revocations/s). An advisory lock rather than
 * `LOCK TABLE … EXCLUSIVE`: that one also waits on autovacuum of the table (up to `deadlock_timeout`, and
 * for all of an anti-wraparound vacuum), which would stall logouts. Every writer goes through this function. A settle delay would instead
 * add its length to every logout's latency and still depend on how long a transaction may stay open
 * after drawing its id, which nothing bounds. SQLite has one writer at a time already.
 * Call it first in the transaction, before the revocation's own UPDATE, so every writer takes the
 * turn lock before any row lock (no deadlock with a writer holding it).
 */
export async function lockRevocationEvents(trx: QueryExecutorProvider, capabilities: SqlCapabilities, schema: string | undefined): Promise<void> {
  if (!capabilities.schemas) return;
  // One lock per schema's table: current_schema() when the store names none, as unqualified statements resolve.
  const name = schema === undefined ? sql`current_schema()` : sql`${schema}`;
  await sql`select pg_advisory_xact_lock(hashtext(${name} || '.' || ${REVOCATION_EVENTS_TABLE}))`.execute(trx);
}

/** Inserts `events` (after `lockRevocationEvents` in the same transaction). */
export async function insertRevocationEvents(trx: Kysely<SessionDatabase>, events: readonly NewRevocationEvent[]): Promise<void> {
  if (events.length === 0) return;
  await trx
    .insertInto(REVOCATION_EVENTS_TABLE)
    .values(events.map((event) => ({ kind: event.kind, ref: event.ref, at: event.at })))
    .execute();
}

function toEvent(row: { id: number | string; kind: string; ref: string; at: number | string }): RevocationEvent {
  return { id: Number(row.id), kind: row.kind === 'key' ? 'key' : 'session', ref: row.ref, at: Number(row.at) };
}

/** Events above `afterId`, oldest first. */
export async function readRevocationEvents(db: Kysely<SessionDatabase>, afterId: number, limit: number): Promise<RevocationEvent[]> {
  const rows = await db.selectFrom(REVOCATION_EVENTS_TABLE).selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map(toEvent);
}

/**
 * The cursor first, then the events up to it: any event committed between the two reads has a
 * larger id (writers take turns) and is served after the snapshot, from the cursor.
 */
export async function readRevocationSnapshot(db: Kysely<SessionDatabase>, since: number): Promise<RevocationSnapshot> {
  const top = await db
    .selectFrom(REVOCATION_EVENTS_TABLE)
    .select((eb) => eb.fn.max('id').as('last'))
    .executeTakeFirst();
  const lastId = top?.last === null || top?.last === undefined ? 0 : Number(top.last);
  const rows = await db.selectFrom(REVOCATION_EVENTS_TABLE).selectAll().where('id', '<=', lastId).where('at', '>=', since).orderBy('id').execute();
  return { events: rows.map(toEvent), lastId };
}

/** One batch of the purge (stores/sql/purge.ts): the oldest events before `before`, through the index on `at`. */
export function purgeRevocationEventsBatch(db: Kysely<SessionDatabase>, before: number): Batch {
  return async (size) => {
    const result = await db
      .deleteFrom(REVOCATION_EVENTS_TABLE)
      .where('id', 'in', db.selectFrom(REVOCATION_EVENTS_TABLE).select('id').where('at', '<', before).orderBy('at').limit(size))
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    return { deleted, more: deleted >= size };
  };
}

/**
 * For an application's own revocations beside the store's (the server's key withdrawals): writes
 * `events` inside the caller's transaction `trx`, taking turns with every other writer as the store does.
 * @example await db.transaction().execute(async (trx) => { await withdraw(trx); await recordRevocationEvents(trx, 'postgres', [{ kind: 'key', ref: kid, at: now }]); });
 */
export async function recordRevocationEvents(
  trx: QueryExecutorProvider,
  dialect: SqlDialectName,
  events: readonly NewRevocationEvent[],
  schema?: string,
): Promise<void> {
  const capabilities = CAPABILITIES[dialect];
  await lockRevocationEvents(trx, capabilities, schema);
  // Any Kysely instance or transaction: the table is the store's, whatever the caller's database type.
  const on = trx as unknown as Kysely<SessionDatabase>;
  await insertRevocationEvents(schema === undefined ? on : on.withSchema(schema), events);
}
