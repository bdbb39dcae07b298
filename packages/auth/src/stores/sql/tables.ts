import type { ColumnType, Insertable, Selectable } from 'kysely';
import type { RevokeReason, SessionRecord } from '../../core/sessions/store.js';

/** The sessions table. */
export const SESSIONS_TABLE = 'tessera_sessions';

/**
 * Epoch milliseconds in an `int8`/`integer` column. pg answers `int8` as a string unless a parser
 * is set, and a caller may bring a pool without one, so reads accept a string and are converted.
 */
type EpochMs = ColumnType<number | string, number, number>;

/** `tessera_sessions`: one column per field of `SessionRecord`, in snake_case. */
export interface SessionsTable {
  id: string;
  user_id: string;
  current_jti: string;
  previous_jti: string | null;
  rotated_at: EpochMs;
  expires_at: EpochMs;
  absolute_expires_at: EpochMs;
  revoked_at: ColumnType<number | string | null, number | null, number | null>;
  reason: string | null;
  created_at: EpochMs;
  last_used_at: EpochMs;
  user_agent: string | null;
  ip: string | null;
  /** Migration 0002_clients: rows older than it read `'tessera-web'`, the first-party client. */
  client_id: ColumnType<string, string | undefined, string>;
  jkt: string | null;
}

/** A record, not a list, so that a column added to `SessionsTable` and not here fails to compile. */
const SESSION_COLUMN_SET: Record<keyof SessionsTable, true> = {
  id: true,
  user_id: true,
  current_jti: true,
  previous_jti: true,
  rotated_at: true,
  expires_at: true,
  absolute_expires_at: true,
  revoked_at: true,
  reason: true,
  created_at: true,
  last_used_at: true,
  user_agent: true,
  ip: true,
  client_id: true,
  jkt: true,
};

/**
 * Every column of `tessera_sessions`, for statements kept prepared: `*` there would change its
 * meaning when a migration adds a column, and Postgres refuses a prepared plan whose result changed.
 */
export const SESSION_COLUMNS = Object.keys(SESSION_COLUMN_SET) as readonly (keyof SessionsTable)[];

/** The tables the store reads and writes, for callers that type their own Kysely instance. */
export interface SessionDatabase {
  tessera_sessions: SessionsTable;
  tessera_revocation_events: RevocationEventsTable;
}

/** The revocation feed's table (migration 0003). */
export const REVOCATION_EVENTS_TABLE = 'tessera_revocation_events';

/** `tessera_revocation_events`: one row per revoked session or withdrawn key, ids increasing. */
export interface RevocationEventsTable {
  id: ColumnType<number | string, never, never>;
  kind: string;
  ref: string;
  at: EpochMs;
}

export type SessionRow = Selectable<SessionsTable>;

function epochMs(value: number | string): number {
  const ms = typeof value === 'number' ? value : Number(value);
  // Never hand back a rounded time: a lost millisecond could move an expiry.
  if (!Number.isSafeInteger(ms)) throw new TypeError('A session time in the database is not an integer number of milliseconds.');
  return ms;
}

export function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    currentJti: row.current_jti,
    previousJti: row.previous_jti,
    rotatedAt: epochMs(row.rotated_at),
    expiresAt: epochMs(row.expires_at),
    absoluteExpiresAt: epochMs(row.absolute_expires_at),
    revokedAt: row.revoked_at === null ? null : epochMs(row.revoked_at),
    // Written only from a RevokeReason by this store.
    reason: row.reason as RevokeReason | null,
    createdAt: epochMs(row.created_at),
    lastUsedAt: epochMs(row.last_used_at),
    userAgent: row.user_agent,
    ip: row.ip,
    clientId: row.client_id,
    jkt: row.jkt,
  };
}

export function toRow(session: SessionRecord): Insertable<SessionsTable> {
  return {
    id: session.id,
    user_id: session.userId,
    current_jti: session.currentJti,
    previous_jti: session.previousJti,
    rotated_at: session.rotatedAt,
    expires_at: session.expiresAt,
    absolute_expires_at: session.absoluteExpiresAt,
    revoked_at: session.revokedAt,
    reason: session.reason,
    created_at: session.createdAt,
    last_used_at: session.lastUsedAt,
    user_agent: session.userAgent,
    ip: session.ip,
    client_id: session.clientId,
    jkt: session.jkt,
  };
}
