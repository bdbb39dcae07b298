// The server's own tables beside the library's sessions table: users and signing keys. Written
// once over Kysely for SQLite and Postgres; times are epoch milliseconds in int8.
import type { MigrationSet } from '@tessera/auth/stores/sql';
import { sql, type ColumnType, type Kysely, type Migration } from 'kysely';

type EpochMs = ColumnType<number | string, number, number>;
type MaybeEpochMs = ColumnType<number | string | null, number | null, number | null>;

export interface UsersTable {
  id: string;
  /** Canonical (NFKC, case-folded); unique. */
  username: string;
  password_hash: string;
  /** JSON array of role names. */
  roles: string;
  disabled_at: MaybeEpochMs;
  created_at: EpochMs;
  password_changed_at: EpochMs;
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
}

export interface ServerDatabase {
  tessera_users: UsersTable;
  tessera_keys: KeysTable;
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
};

/** The server's migrations, run by the session store's `migrate` under the same locks. */
export const SERVER_MIGRATIONS: MigrationSet = { table: 'tessera_server_migrations', migrations: MIGRATIONS };

/** Reads an int8 time that pg may answer as text. */
export function ms(value: number | string): number;
export function ms(value: number | string | null): number | null;
export function ms(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}
