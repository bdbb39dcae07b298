// The server's own tables beside the library's sessions table: users, signing keys, OAuth. Written
// once over Kysely for SQLite and Postgres; times are epoch milliseconds in int8.
import type { MigrationSet } from '@tessera/auth/stores/sqlite';
import { sql, type ColumnType, type Kysely, type Migration } from 'kysely';
import { usernameKey, usernameSkeleton } from '../users/username/index.js';

type EpochMs = ColumnType<number | string, number, number>;
type MaybeEpochMs = ColumnType<number | string | null, number | null, number | null>;

export interface UsersTable {
  id: string;
  /** The name as stored when the account was made or renamed: the username key since 0002, the legacy form before; unique. */
  username: string;
  /** The username key (NFKC, full case fold, NFKC): what login looks up after the stored form. */
  username_key: string;
  /** The UTS #39 skeleton of the key: unique among users, so look-alike names cannot coexist. */
  username_skeleton: string;
  /** 1 for rows that shared a skeleton when 0002 ran: left out of the unique index until one is renamed. */
  username_collides: ColumnType<number, number | undefined, number>;
  password_hash: string;
  /** JSON array of role names. */
  roles: string;
  disabled_at: MaybeEpochMs;
  created_at: EpochMs;
  password_changed_at: EpochMs;
  /**
   * Bumped in the same statement as every change that must cut off logins in flight (a new
   * password hash, a disable, a logout-all); a login compares it before and after storing its
   * session (docs/security.md). A counter, never a time: instances' clocks differ.
   */
  credential_version: ColumnType<number, number | undefined, number>;
  /**
   * The account's key in the stack it was imported from (its primary key or `sub`, as text): unique,
   * NULL for accounts made here. Legacy tokens name their user by it (docs/migration.md).
   */
  legacy_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** 1 when the user must choose a new password: an imported one that fails today's policy. */
  password_change_required: ColumnType<number, number | undefined, number>;
}

export interface KeysTable {
  kid: string;
  alg: string;
  /** `access` (signs access tokens, published when asymmetric) or `refresh` (never published). */
  purpose: string;
  /** `next` (published, not signing yet), `current` (signing), `retired` (verify-only), `revoked` (gone). */
  status: string;
  /** Private JWK JSON, sealed when TESSERA_KEYS_SECRET is set. */
  private_jwk: string;
  created_at: EpochMs;
  activated_at: MaybeEpochMs;
  retired_at: MaybeEpochMs;
  /** When a retired key has verified its last token and may be dropped. */
  expires_at: MaybeEpochMs;
  /**
   * Seconds: the longest access lifetime plus leeway of any instance that signed with this key (each
   * raises it when it starts signing), so retirement keeps the key as long as its tokens live. 0: unknown.
   */
  max_token_life: ColumnType<number, number | undefined, number>;
  /** A `next` key scheduled by `keys rotate`: instances promote it once this time has passed. */
  activates_at: MaybeEpochMs;
}

/** Ids (`jti`) of tokens the stack Tessera replaced had revoked: never exchanged nor accepted. */
export interface LegacyRevokedTable {
  jti: string;
  revoked_at: MaybeEpochMs;
}

/** Each legacy refresh token exchanged for a session, once: the primary key refuses a second exchange. */
export interface LegacyExchangesTable {
  jti: string;
  session_id: string;
  user_id: string;
  exchanged_at: EpochMs;
}

/**
 * An OAuth client registered with `tessera clients add` (docs/oauth.md "Clients"). The built-in `tessera-web`
 * is never a row.
 */
export interface OAuthClientsTable {
  client_id: string;
  /** Hex SHA-256 of the secret of a confidential client (256 random bits); NULL for a public one. */
  secret_hash: string | null;
  /** 1 for a public client (authenticates with `none`), 0 for a confidential one. */
  public: number;
  /** 1 for a client of this deployment's own: no consent step. */
  first_party: number;
  /** JSON array of the redirect URIs, each compared exactly (the port of a loopback one aside, RFC 8252 §7.3). */
  redirect_uris: string;
  /** JSON array of the audiences whose tokens it may introspect. */
  audiences: string;
  created_at: EpochMs;
}

/** Authorization codes (RFC 6749 §4.1), stored hashed, single-use, bound to their client, redirect URI and PKCE challenge. */
export interface OAuthCodesTable {
  /** Hex SHA-256 of the code: the code itself is never stored. */
  code_hash: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  user_id: string;
  scope: string | null;
  /** The `dpop_jkt` the authorization request named (RFC 9449 §10), when it named one. */
  jkt: string | null;
  created_at: EpochMs;
  expires_at: EpochMs;
  used_at: MaybeEpochMs;
  /** The session the code was exchanged for: a reused code revokes it (RFC 6749 §4.1.2). */
  session_id: string | null;
  /** The user's credential version read with the password at sign-in: the token request checks it still stands (docs/security.md). */
  credential_version: ColumnType<number | string | null, number | null | undefined, number | null>;
}

/** DPoP proofs seen by the token endpoints, by key thumbprint and `jti`, until their `iat` window ends (RFC 9449 §11.1). */
export interface DpopProofsTable {
  jkt: string;
  jti: string;
  expires_at: EpochMs;
}

export interface ServerDatabase {
  tessera_users: UsersTable;
  tessera_keys: KeysTable;
  tessera_legacy_revoked: LegacyRevokedTable;
  tessera_legacy_exchanges: LegacyExchangesTable;
  tessera_oauth_clients: OAuthClientsTable;
  tessera_oauth_codes: OAuthCodesTable;
  tessera_dpop_proofs: DpopProofsTable;
}

const MIGRATIONS: Record<string, Migration> = {
  '0001_users_and_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tessera_users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('password_changed_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tessera_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activated_at', 'bigint')
        .addColumn('retired_at', 'bigint')
        .addColumn('expires_at', 'bigint')
        .execute();
      // One signing key per purpose, enforced by the database: when several instances start on an
      // empty database at once, exactly one generated key becomes current (docs/architecture.md "Keys").
      await db.schema
        .createIndex('tessera_keys_one_current')
        .on('tessera_keys')
        .column('purpose')
        .unique()
        .where(sql.ref('status'), '=', 'current')
        .execute();
    },
  },
  '0002_username_skeletons': {
    // Keys and skeletons of existing users (docs/security.md "Usernames"): rows whose skeletons
    // collide are all kept and marked, and stay out of the unique index until an operator renames one.
    async up(db: Kysely<unknown>) {
      for (const column of ['username_key', 'username_skeleton']) await db.schema.alterTable('tessera_users').addColumn(column, 'text').execute();
      await db.schema
        .alterTable('tessera_users')
        .addColumn('username_collides', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      const users = db as unknown as Kysely<ServerDatabase>;
      const rows = await users.selectFrom('tessera_users').select(['id', 'username']).execute();
      const keyed = rows.map((row) => ({ id: row.id, key: usernameKey(row.username), skeleton: '' }));
      const seen = new Map<string, number>();
      for (const row of keyed) {
        row.skeleton = usernameSkeleton(row.key);
        seen.set(row.skeleton, (seen.get(row.skeleton) ?? 0) + 1);
      }
      for (const row of keyed)
        await users
          .updateTable('tessera_users')
          .set({ username_key: row.key, username_skeleton: row.skeleton, username_collides: (seen.get(row.skeleton) ?? 0) > 1 ? 1 : 0 })
          .where('id', '=', row.id)
          .execute();
      await db.schema.createIndex('tessera_users_key').on('tessera_users').column('username_key').execute();
      await db.schema
        .createIndex('tessera_users_one_skeleton')
        .on('tessera_users')
        .column('username_skeleton')
        .unique()
        .where(sql.ref('username_collides'), '=', 0)
        .execute();
    },
  },
  '0003_credential_version': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('tessera_users')
        .addColumn('credential_version', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0004_key_lifetimes': {
    // Rotation that never cuts a live token (docs/architecture.md "Keys"): each key records how long
    // the tokens it signed live, and a staged key when it starts signing.
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('tessera_keys')
        .addColumn('max_token_life', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('tessera_keys').addColumn('activates_at', 'bigint').execute();
    },
  },
  '0005_legacy_import': {
    // Users imported from another stack, and that stack's tokens during the cut-over (docs/migration.md).
    // A unique index lets NULL repeat on both databases: accounts made here have no legacy id.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('tessera_users').addColumn('legacy_id', 'text').execute();
      await db.schema
        .alterTable('tessera_users')
        .addColumn('password_change_required', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('tessera_users_legacy_id').on('tessera_users').column('legacy_id').unique().execute();
      await db.schema
        .createTable('tessera_legacy_revoked')
        .addColumn('jti', 'text', (c) => c.primaryKey())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema
        .createTable('tessera_legacy_exchanges')
        .addColumn('jti', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('exchanged_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0006_oauth': {
    // OAuth clients, authorization codes and the DPoP replay store (docs/oauth.md). Booleans are integers,
    // lists JSON text, times epoch milliseconds: the same columns on SQLite and Postgres.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tessera_oauth_clients')
        .addColumn('client_id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text')
        .addColumn('public', 'integer', (c) => c.notNull())
        .addColumn('first_party', 'integer', (c) => c.notNull())
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('audiences', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tessera_oauth_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('code_challenge', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text')
        .addColumn('jkt', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('session_id', 'text')
        .addColumn('credential_version', 'bigint')
        .execute();
      // Expired codes are purged by time.
      await db.schema.createIndex('tessera_oauth_codes_expires').on('tessera_oauth_codes').column('expires_at').execute();
      await db.schema
        .createTable('tessera_dpop_proofs')
        .addColumn('jkt', 'text', (c) => c.notNull())
        .addColumn('jti', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tessera_dpop_proofs_pk', ['jkt', 'jti'])
        .execute();
      await db.schema.createIndex('tessera_dpop_proofs_expires').on('tessera_dpop_proofs').column('expires_at').execute();
    },
  },
};

/** The server's migrations, run by the session store's `migrate` under the same locks. */
export const SERVER_MIGRATIONS: MigrationSet = { table: 'tessera_server_migrations', migrations: MIGRATIONS };

/** Reads an int8 time that pg may answer as text. */
export function ms(value: number | string): number;
export function ms(value: number | string | null): number | null;
export function ms(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}
