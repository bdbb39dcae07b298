/**
 * The session store contract. Every verb is one atomic step in the store (one statement or one
 * script), so no interleaving of two instances can leave a half-made change: `rotate` is a single
 * compare-and-set, never read-then-write. Times are epoch milliseconds. Implementations: memory,
 * SQL (SQLite and Postgres through one Kysely store); one conformance suite runs against all.
 */
export interface SessionStore {
  /** Stores a new session. Ids are random (128 bits); a duplicate id is a programming error. */
  create(session: SessionRecord): Promise<void>;
  /** The session, revoked or not, or undefined when there is none. */
  get(id: string): Promise<SessionRecord | undefined>;
  /**
   * Compare-and-set: when the session exists, is not revoked, has not expired at `next.now`
   * (neither its refresh expiry nor its absolute one) and its `currentJti` is `expectedJti`, moves
   * `currentJti` to `previousJti`, writes `next.jti`, `next.rotatedAt`, `lastUsedAt = next.now` and
   * `expiresAt = min(next.expiresAt, absoluteExpiresAt)`, and answers the updated session.
   * Otherwise changes nothing and answers why, with the session as it stands when there is one.
   */
  rotate(id: string, expectedJti: string, next: RotationInput): Promise<RotateResult>;
  /** Revokes one session if it is not revoked yet; answers whether this call revoked it. */
  revoke(id: string, reason: RevokeReason, at: number): Promise<boolean>;
  /** Revokes every live session of a user (except `except`); answers the ids this call revoked. */
  revokeUser(userId: string, reason: RevokeReason, at: number, except?: string): Promise<string[]>;
  /** The user's sessions that are neither revoked nor expired at `now`, newest first. */
  listByUser(userId: string, now: number): Promise<SessionRecord[]>;
  /**
   * Deletes sessions whose absolute expiry has passed, and revoked or refresh-expired ones older
   * than `before`; answers how many were deleted. A store may delete in several short batches;
   * `options.signal` stops it between two (what was deleted stays deleted).
   */
  purge(now: number, before: number, options?: PurgeOptions): Promise<number>;
  /**
   * The revocation feed (docs/resource-server.md): events with an id above `afterId`, oldest first, at
   * most `limit`. Every revocation writes its events atomically with it, and an id never becomes
   * visible before a smaller one (writers are serialised), so a reader that remembers the last id
   * it saw misses nothing. Optional: a store without it serves no feed.
   */
  revocationEvents?(afterId: number, limit: number): Promise<RevocationEvent[]>;
  /**
   * What a reader starting cold needs: the events at or after `since` (those that still matter), and
   * the cursor to continue from with `revocationEvents` (the highest id when read; 0 for none).
   */
  revocationSnapshot?(since: number): Promise<RevocationSnapshot>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** Options of `SessionStore.purge` and `Tessera.purgeSessions`. */
export interface PurgeOptions {
  /** Stops the purge between two batches (a server closing); it then answers what it deleted so far. */
  readonly signal?: AbortSignal;
  /** Told after each batch: rows it deleted and how long it held the database, in ms (for the purge's log line). */
  readonly onBatch?: (batch: PurgeBatch) => void;
}

/** One batch of a purge, as `PurgeOptions.onBatch` hears of it. */
export interface PurgeBatch {
  readonly deleted: number;
  readonly ms: number;
}

/** One row of the revocation feed: a revoked session id or a withdrawn signing key id. */
export interface RevocationEvent {
  /** Increasing; the feed's cursor (`Last-Event-ID`), valid on every instance of one database. */
  readonly id: number;
  readonly kind: 'session' | 'key';
  /** The session id (`sid`) or the key id (`kid`): opaque ids only. */
  readonly ref: string;
  /** When it was revoked, epoch ms. */
  readonly at: number;
}

/**
 * `purge` deletes revocation events older than its `before`, but never younger than a day: a feed
 * reader needs an event for as long as an access token of that session may live, and a sessions
 * retention shorter than that lifetime must not cut it short.
 */
export const REVOCATION_EVENTS_MIN_KEEP_MS = 86_400_000;

/** The answer of `revocationSnapshot`. */
export interface RevocationSnapshot {
  readonly events: readonly RevocationEvent[];
  readonly lastId: number;
}

/** Why a session was revoked. */
export type RevokeReason = 'logout' | 'logout_all' | 'reuse' | 'password_change' | 'user_disabled' | 'device_revoked' | 'session_limit' | 'admin';

/** One login: a refresh-token family (docs/architecture.md "Sessions"). */
export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  /** The `jti` of the one refresh token that rotates. */
  readonly currentJti: string;
  /** The `jti` it replaced: honoured only inside the reuse grace window. */
  readonly previousJti: string | null;
  /** When `currentJti` was issued (its `iat`, in ms). */
  readonly rotatedAt: number;
  /** When the current refresh token expires. */
  readonly expiresAt: number;
  /** The session's absolute end; rotation never moves it. */
  readonly absoluteExpiresAt: number;
  readonly revokedAt: number | null;
  readonly reason: RevokeReason | null;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  readonly userAgent: string | null;
  readonly ip: string | null;
  /**
   * The OAuth client the session was issued to (`'tessera-web'` for the first-party API, and for
   * sessions stored before clients were recorded); a refresh by any other client is refused.
   */
  readonly clientId: string;
  /** The RFC 7638 thumbprint of the DPoP key the session is bound to (RFC 9449), fixed at login; null when unbound. */
  readonly jkt: string | null;
}

/** What a rotation writes. */
export interface RotationInput {
  readonly jti: string;
  readonly rotatedAt: number;
  readonly expiresAt: number;
  readonly now: number;
}

/** The answer of `rotate`. */
export type RotateResult =
  | { readonly ok: true; readonly session: SessionRecord }
  | { readonly ok: false; readonly reason: 'not_found' }
  | { readonly ok: false; readonly reason: 'revoked' | 'expired' | 'jti_mismatch'; readonly session: SessionRecord };

/** Why a rotation did not happen, from the session as it stands (shared by every store). */
export function rotationRefusal(session: SessionRecord, expectedJti: string, now: number): 'revoked' | 'expired' | 'jti_mismatch' | undefined {
  if (session.revokedAt !== null) return 'revoked';
  if (session.absoluteExpiresAt <= now || session.expiresAt <= now) return 'expired';
  if (session.currentJti !== expectedJti) return 'jti_mismatch';
  return undefined;
}

/**
 * Tells every instance that sessions were revoked, so cached "live" answers are dropped. A
 * transport that may lose messages (a Redis reconnect) calls the handler with `{ type: 'reset' }`
 * so that every cached answer is dropped instead.
 */
export interface RevocationBus {
  publish(sessionIds: readonly string[]): Promise<void>;
  subscribe(handler: (message: BusMessage) => void): Promise<void>;
  /**
   * Optional shared memory of revoked sessions (Redis): a `true` is trusted without asking the
   * store; `false` means "ask the store", since a cache may have lost entries.
   */
  isRevoked?(sessionId: string): Promise<boolean>;
  /** Whether messages are being delivered now; while not, cached "live" answers last only a moment. */
  readonly connected: boolean;
  close(): Promise<void>;
}

export type BusMessage = { readonly type: 'revoked'; readonly sessionIds: readonly string[] } | { readonly type: 'reset' };
