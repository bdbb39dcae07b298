// The population every database of bench/scale holds, as pure functions of an index, so the SQLite builder (rows made
// here) and the Postgres builder (the same rows made by SQL) agree, and the measurements can name sessions and users
// without reading them back. Session i belongs to user i mod U (U odd, so each user gets live and ended ones); even
// sessions are live, odd ones ended: revoked a month ago (beyond the 7-day retention) or expired a month ago.
import { createHash } from 'node:crypto';

const DAY = 86_400_000;
/** The library's default retention of ended sessions (sessions.retention): the purge deletes what ended before it. */
export const RETENTION_MS = 7 * DAY;
export const PASSWORD = 'correct horse battery staple';
/** Users with no filler sessions, for the logins of the load (each stays under the server's 10 live sessions a user). */
export const LOGIN_USERS = 8;

/** An opaque 22-character id like the library's (128 bits, base64url), derived from a label so both builders agree. */
export function idOf(label: string): string {
  return createHash('md5').update(label).digest('base64url');
}

/** The same id in Postgres SQL, for a text expression `label`. */
export function idSql(label: string): string {
  return `rtrim(translate(encode(decode(md5(${label}), 'hex'), 'base64'), '+/', '-_'), '=')`;
}

export interface Population {
  /** Sessions in the table after the build. */
  readonly sessions: number;
  /** Users owning filler sessions (odd); the login users come after them. */
  readonly users: number;
  /** The "now" every time is relative to (the build's start). */
  readonly now: number;
}

export function population(sessions: number, now: number): Population {
  const users = Math.max(1, Math.ceil(sessions / 5)) | 1;
  return { sessions, users, now };
}

export const userId = (u: number): string => idOf(`u${u}`);
export const userName = (u: number): string => `scale${u}`;
/** The login users' indices: after the filler users. */
export const loginUser = (p: Population, k: number): number => p.users + k;

export type SessionKind = 'live' | 'revoked' | 'expired';

export function kindOf(i: number): SessionKind {
  return i % 2 === 0 ? 'live' : i % 4 === 1 ? 'revoked' : 'expired';
}

/** A spread of 0..range-1 for index i (Knuth's multiplicative hash), so times are not sorted by insertion order. */
function spread(i: number, range: number): number {
  return Number((BigInt(i) * 2654435761n) % BigInt(range));
}

/** One session's row in the store's field names (SessionRecord), derived from its index. */
export interface SessionFields {
  readonly id: string;
  readonly userId: string;
  readonly currentJti: string;
  readonly rotatedAt: number;
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly revokedAt: number | null;
  readonly reason: 'logout' | null;
  readonly createdAt: number;
  readonly lastUsedAt: number;
}

export function sessionAt(p: Population, i: number): SessionFields {
  const kind = kindOf(i);
  const id = idOf(`s${i}`);
  const currentJti = idOf(`j${i}`);
  const user = userId(i % p.users);
  const jitter = spread(i, DAY);
  if (kind === 'live') {
    // Created in the last six days, refreshed since, expiring within the week, absolute end in a month.
    const createdAt = p.now - spread(i, 6 * DAY) - 1000;
    const rotatedAt = Math.min(p.now - 1000, createdAt + jitter);
    return {
      id,
      userId: user,
      currentJti,
      rotatedAt,
      expiresAt: rotatedAt + 7 * DAY,
      absoluteExpiresAt: createdAt + 30 * DAY,
      revokedAt: null,
      reason: null,
      createdAt,
      lastUsedAt: rotatedAt,
    };
  }
  const createdAt = p.now - 40 * DAY - jitter;
  const rotatedAt = createdAt + DAY;
  return {
    id,
    userId: user,
    currentJti,
    rotatedAt,
    expiresAt: kind === 'revoked' ? p.now + DAY : rotatedAt + 7 * DAY - 10 * DAY,
    absoluteExpiresAt: kind === 'revoked' ? p.now + 10 * DAY : createdAt + 30 * DAY,
    revokedAt: kind === 'revoked' ? createdAt + 2 * DAY : null,
    reason: kind === 'revoked' ? 'logout' : null,
    createdAt,
    lastUsedAt: rotatedAt,
  };
}

/** Distinct indices of sessions of one kind, spread over the table (deterministic, no repeats). */
export function sampleIndices(p: Population, count: number, accept: (i: number) => boolean, salt: number): number[] {
  const picked = new Set<number>();
  let k = salt;
  const limit = count * 20 + 1000;
  for (let tries = 0; picked.size < count && tries < limit; tries++, k++) {
    const i = spread(k * 7919 + 1, p.sessions);
    if (accept(i)) picked.add(i);
  }
  return [...picked];
}
