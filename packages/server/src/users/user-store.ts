// Users in the server database. Usernames arrive canonical (credentials.ts); uniqueness is the
// database's unique index, so two simultaneous registrations cannot both succeed.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { DatabaseUnavailableError } from '../db/connect.js';
import { ms, type ServerDatabase } from '../db/schema.js';

export interface User {
  readonly id: string;
  readonly username: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly disabledAt: number | null;
  readonly createdAt: number;
  readonly passwordChangedAt: number;
}

/**
 * How long a user read for a guarded request is reused. Changes made here (disable, password)
 * drop it at once; changes by another process (the CLI, another instance) reach this one within
 * this time, as revocations do without Redis (docs/architecture.md: within one second on every other instance).
 */
const RECENT_MS = 1000;
const RECENT_MAX = 10_000;

export class UserStore {
  readonly #db: Kysely<ServerDatabase>;
  readonly #recent = new Map<string, { user: User; at: number }>();
  /** Bumped by every change made here: a read that overlapped one is not kept (it may predate it). */
  #changes = 0;

  constructor(db: Kysely<ServerDatabase>) {
    this.#db = db;
  }

  /**
   * The user behind a guarded request: a read less than a second old is reused, so that a busy
   * route costs no query per request. Never answers for a user disabled through this store.
   */
  async recentById(id: string, now: number): Promise<User | undefined> {
    const seen = this.#recent.get(id);
    if (seen !== undefined && now - seen.at < RECENT_MS && now >= seen.at) return seen.user;
    const changes = this.#changes;
    const user = await this.byId(id);
    this.#recent.delete(id);
    if (user !== undefined && changes === this.#changes) {
      if (this.#recent.size >= RECENT_MAX) this.#recent.delete(this.#recent.keys().next().value as string);
      this.#recent.set(id, { user, at: now });
    }
    return user;
  }

  /** Creates a user, or answers undefined when the username is taken. */
  async create(input: { username: string; passwordHash: string; roles?: readonly string[]; now: number }): Promise<User | undefined> {
    const user: User = {
      id: randomBytes(12).toString('base64url'),
      username: input.username,
      passwordHash: input.passwordHash,
      roles: [...(input.roles ?? [])],
      disabledAt: null,
      createdAt: input.now,
      passwordChangedAt: input.now,
    };
    const inserted = await answer(
      this.#db
        .insertInto('tessera_users')
        .values({
          id: user.id,
          username: user.username,
          password_hash: user.passwordHash,
          roles: JSON.stringify(user.roles),
          disabled_at: null,
          created_at: user.createdAt,
          password_changed_at: user.passwordChangedAt,
        })
        .onConflict((c) => c.column('username').doNothing())
        .returning('id')
        .executeTakeFirst(),
    );
    return inserted === undefined ? undefined : user;
  }

  async byUsername(username: string): Promise<User | undefined> {
    return toUser(await answer(this.#db.selectFrom('tessera_users').selectAll().where('username', '=', username).executeTakeFirst()));
  }

  async byId(id: string): Promise<User | undefined> {
    return toUser(await answer(this.#db.selectFrom('tessera_users').selectAll().where('id', '=', id).executeTakeFirst()));
  }

  async setPassword(id: string, passwordHash: string, now: number): Promise<void> {
    this.#forget(id);
    await answer(this.#db.updateTable('tessera_users').set({ password_hash: passwordHash, password_changed_at: now }).where('id', '=', id).execute());
    this.#forget(id);
  }

  /** Disables a user; answers whether this call disabled them. */
  async disable(id: string, now: number): Promise<boolean> {
    this.#forget(id);
    const row = await answer(
      this.#db
        .updateTable('tessera_users')
        .set({ disabled_at: now })
        .where('id', '=', id)
        .where('disabled_at', 'is', null)
        .returning('id')
        .executeTakeFirst(),
    );
    this.#forget(id);
    return row !== undefined;
  }

  /** Drops a cached user, before and after a change: a read overlapping the change is not kept either. */
  #forget(id: string): void {
    this.#changes++;
    this.#recent.delete(id);
  }

  async list(): Promise<User[]> {
    const rows = await answer(this.#db.selectFrom('tessera_users').selectAll().orderBy('created_at').execute());
    return rows.map((r) => toUser(r) as User);
  }
}

/**
 * Runs a query; a database that does not answer becomes DatabaseUnavailableError, which the error
 * handler turns into 503 store_unavailable (docs/architecture.md), never a 500.
 */
async function answer<T>(query: Promise<T>): Promise<T> {
  try {
    return await query;
  } catch (cause) {
    throw new DatabaseUnavailableError('The user database did not answer.', cause);
  }
}

function toUser(
  row:
    | {
        id: string;
        username: string;
        password_hash: string;
        roles: string;
        disabled_at: number | string | null;
        created_at: number | string;
        password_changed_at: number | string;
      }
    | undefined,
): User | undefined {
  if (row === undefined) return undefined;
  const roles: unknown = JSON.parse(row.roles);
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [],
    disabledAt: ms(row.disabled_at),
    createdAt: ms(row.created_at),
    passwordChangedAt: ms(row.password_changed_at),
  };
}
