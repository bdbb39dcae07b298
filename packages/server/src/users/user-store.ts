// Users in the server database. New usernames arrive checked (username/), with their key and
// skeleton; uniqueness of the skeleton is the database's unique index, so two simultaneous
// registrations of look-alike names cannot both succeed.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { answered, DatabaseUnavailableError } from '../db/connect.js';
import { ms, type ServerDatabase } from '../db/schema.js';
import { lookupKeys, type NewUsername } from './username/index.js';

/** A username that passed the rules for new names: the key it is stored under and its skeleton. */
export type CheckedUsername = Extract<NewUsername, { ok: true }>;

export interface User {
  readonly id: string;
  readonly username: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly disabledAt: number | null;
  readonly createdAt: number;
  readonly passwordChangedAt: number;
  /** Read with the hash at login; see `credentialVersion`. */
  readonly credentialVersion: number;
  /** The account's id in the stack it was imported from (`tessera users import`), as text; null for accounts made here. */
  readonly legacyId: string | null;
  /** The user must choose a new password: an imported one that today's policy refuses (set at its first login). */
  readonly passwordChangeRequired: boolean;
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

  /** Creates a user, or answers undefined when the username, or one that looks like it, is taken. */
  async create(input: { username: CheckedUsername; passwordHash: string; roles?: readonly string[]; now: number }): Promise<User | undefined> {
    const { key, skeleton } = input.username;
    // Rows marked as colliding are outside the unique index: look for them here (the index still
    // settles two registrations racing each other).
    if (await this.#skeletonTaken(skeleton)) return undefined;
    const user: User = {
      id: randomBytes(12).toString('base64url'),
      username: key,
      passwordHash: input.passwordHash,
      roles: [...(input.roles ?? [])],
      disabledAt: null,
      createdAt: input.now,
      passwordChangedAt: input.now,
      credentialVersion: 0,
      legacyId: null,
      passwordChangeRequired: false,
    };
    const inserted = await answer(
      this.#db
        .insertInto('tessera_users')
        .values({
          id: user.id,
          username: key,
          username_key: key,
          username_skeleton: skeleton,
          password_hash: user.passwordHash,
          roles: JSON.stringify(user.roles),
          disabled_at: null,
          created_at: user.createdAt,
          password_changed_at: user.passwordChangedAt,
        })
        .onConflict((c) => c.doNothing())
        .returning('id')
        .executeTakeFirst(),
    );
    return inserted === undefined ? undefined : user;
  }

  /**
   * The user a login names: the stored form first (rows from before the username key keep their
   * legacy form), then the key. No rule for new names applies here. A key shared by rows that
   * collide names nobody: the stored form of each still finds it. One query whether or not the user
   * exists, so the lookup's cost says nothing about which names are taken.
   */
  async byUsername(input: unknown): Promise<User | undefined> {
    const [stored, key = stored] = lookupKeys(input);
    if (stored === undefined || key === undefined) return undefined;
    // A stored form is unique, and a key is shared only by the few rows of a group that collided before 0002.
    const rows = await answer(
      this.#db
        .selectFrom('tessera_users')
        .selectAll()
        .where((eb) => eb.or([eb('username', '=', stored), eb('username_key', '=', key)]))
        .execute(),
    );
    const byKey = rows.filter((row) => row.username_key === key);
    return toUser(rows.find((row) => row.username === stored) ?? (byKey.length === 1 ? byKey[0] : undefined));
  }

  /**
   * Gives a user a new name (an operator's `tessera users rename`); answers false when the name,
   * or one that looks like it, belongs to someone else. A row that no longer collides with anyone
   * goes back under the unique index.
   */
  async rename(id: string, username: CheckedUsername): Promise<boolean> {
    const { key, skeleton } = username;
    const before = await answer(this.#db.selectFrom('tessera_users').select('username_skeleton').where('id', '=', id).executeTakeFirst());
    if (before === undefined || (await this.#skeletonTaken(skeleton, id))) return false;
    this.#forget(id);
    try {
      await this.#db
        .updateTable('tessera_users')
        .set({ username: key, username_key: key, username_skeleton: skeleton, username_collides: 0 })
        .where('id', '=', id)
        .execute();
    } catch (cause) {
      // The unique index: another row took a look-alike name at the same moment.
      if (await this.#skeletonTaken(skeleton, id)) return false;
      throw new DatabaseUnavailableError('The user database did not answer.', cause);
    } finally {
      this.#forget(id);
    }
    await this.#settle(before.username_skeleton);
    return true;
  }

  /** Users whose names looked alike when usernames got skeletons, grouped by skeleton: each group awaits a rename. */
  async collisions(): Promise<User[][]> {
    const rows = await answer(
      this.#db
        .selectFrom('tessera_users')
        .selectAll()
        .where('username_collides', '=', 1)
        .orderBy('username_skeleton')
        .orderBy('created_at')
        .execute(),
    );
    const groups = new Map<string, User[]>();
    for (const row of rows) {
      const group = groups.get(row.username_skeleton) ?? [];
      group.push(toUser(row) as User);
      groups.set(row.username_skeleton, group);
    }
    return [...groups.values()];
  }

  /** Whether a user's name has this skeleton, i.e. looks like the name it was made from. */
  async skeletonTaken(skeleton: string): Promise<boolean> {
    return this.#skeletonTaken(skeleton);
  }

  async #skeletonTaken(skeleton: string, except?: string): Promise<boolean> {
    let query = this.#db.selectFrom('tessera_users').select('id').where('username_skeleton', '=', skeleton);
    if (except !== undefined) query = query.where('id', '!=', except);
    return (await answer(query.limit(1).executeTakeFirst())) !== undefined;
  }

  /** After a rename: the last row left of a colliding group rejoins the unique index. */
  async #settle(skeleton: string): Promise<void> {
    const rows = await answer(
      this.#db.selectFrom('tessera_users').select(['id', 'username_collides']).where('username_skeleton', '=', skeleton).execute(),
    );
    const [only] = rows;
    if (rows.length === 1 && only !== undefined && only.username_collides === 1)
      await answer(this.#db.updateTable('tessera_users').set({ username_collides: 0 }).where('id', '=', only.id).execute());
  }

  /** The user imported under this id of the stack Tessera replaced (`tessera users import`). */
  async byLegacyId(legacyId: string): Promise<User | undefined> {
    return toUser(await answer(this.#db.selectFrom('tessera_users').selectAll().where('legacy_id', '=', legacyId).executeTakeFirst()));
  }

  async byId(id: string): Promise<User | undefined> {
    return toUser(await answer(this.#db.selectFrom('tessera_users').selectAll().where('id', '=', id).executeTakeFirst()));
  }

  /**
   * Writes a new password hash and bumps the credential version in the same statement; answers the
   * version written, or undefined when there is no such user or (with `expected`) its version is no
   * longer `expected`, since the old password was checked. The caller revokes the user's sessions after.
   */
  async setPassword(id: string, passwordHash: string, now: number, expected?: number): Promise<number | undefined> {
    this.#forget(id);
    let query = this.#db
      .updateTable('tessera_users')
      .set((eb) => ({
        password_hash: passwordHash,
        password_changed_at: now,
        password_change_required: 0,
        credential_version: eb('credential_version', '+', 1),
      }))
      .where('id', '=', id);
    if (expected !== undefined) query = query.where('credential_version', '=', expected);
    const row = await answer(query.returning('credential_version').executeTakeFirst());
    this.#forget(id);
    return row === undefined ? undefined : Number(row.credential_version);
  }

  /**
   * Replaces a hash that verified at login by today's argon2id of the same password (an imported
   * hash, or argon2 with other parameters): the password is unchanged, so neither the credential
   * version nor the password's time moves, and no session ends. Only over the hash that was checked:
   * a password change that landed meanwhile wins. `changeRequired` marks a password that today's
   * policy refuses, so the user is asked to choose another. Answers whether the hash was replaced.
   */
  async upgradePasswordHash(id: string, checked: string, passwordHash: string, changeRequired: boolean): Promise<boolean> {
    this.#forget(id);
    const row = await answer(
      this.#db
        .updateTable('tessera_users')
        .set({ password_hash: passwordHash, ...(changeRequired ? { password_change_required: 1 } : {}) })
        .where('id', '=', id)
        .where('password_hash', '=', checked)
        .returning('id')
        .executeTakeFirst(),
    );
    this.#forget(id);
    return row !== undefined;
  }

  /** Disables a user, bumping the credential version in the same statement; answers whether this call disabled them. */
  async disable(id: string, now: number): Promise<boolean> {
    this.#forget(id);
    const row = await answer(
      this.#db
        .updateTable('tessera_users')
        .set((eb) => ({ disabled_at: now, credential_version: eb('credential_version', '+', 1) }))
        .where('id', '=', id)
        .where('disabled_at', 'is', null)
        .returning('id')
        .executeTakeFirst(),
    );
    this.#forget(id);
    return row !== undefined;
  }

  /** Bumps the credential version alone (logout-all): logins in flight then end their own sessions. */
  async bumpCredentialVersion(id: string): Promise<void> {
    await answer(
      this.#db
        .updateTable('tessera_users')
        .set((eb) => ({ credential_version: eb('credential_version', '+', 1) }))
        .where('id', '=', id)
        .execute(),
    );
  }

  /**
   * The user's credential version now, read from the database (never the recent-read cache);
   * undefined when the user is gone. A login compares it, once its session is stored, with the
   * version it read with the hash: a change in between means a password change, a disable or a
   * logout-all ran while it did, and its session must end (docs/security.md).
   */
  async credentialVersion(id: string): Promise<number | undefined> {
    const row = await answer(this.#db.selectFrom('tessera_users').select('credential_version').where('id', '=', id).executeTakeFirst());
    return row === undefined ? undefined : Number(row.credential_version);
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
function answer<T>(query: Promise<T>): Promise<T> {
  return answered(query, 'The user database');
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
        credential_version: number | string;
        legacy_id: string | null;
        password_change_required: number | string;
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
    credentialVersion: Number(row.credential_version),
    legacyId: row.legacy_id,
    passwordChangeRequired: Number(row.password_change_required) === 1,
  };
}
