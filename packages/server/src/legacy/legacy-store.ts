// The rows a cut-over reads and writes: users by their old key, the old stack's revoked token ids, and
// the legacy tokens exchanged, each once (the primary key on `jti` decides between two exchanges).
import type { Kysely } from 'kysely';
import { answered, DatabaseUnavailableError } from '../db/connect.js';
import type { ServerDatabase } from '../db/schema.js';

/** An imported user as a legacy token sees it. */
export interface LegacyUser {
  readonly id: string;
  readonly roles: readonly string[];
  readonly disabled: boolean;
  /** 0 until a password change, a disable or a logout-all here (imports write 0; a rehash at login keeps it). */
  readonly credentialVersion: number;
}

/** Who took a legacy token first: the Tessera session its exchange opened. */
export type Claim = { readonly won: true } | { readonly won: false; readonly sessionId: string };

export class LegacyStore {
  readonly #db: Kysely<ServerDatabase>;

  constructor(db: Kysely<ServerDatabase>) {
    this.#db = db;
  }

  /** The user whose `legacy_id` is `legacyId` (the string form of the old key). */
  async userByLegacyId(legacyId: string): Promise<LegacyUser | undefined> {
    const row = await answered(
      this.#db
        .selectFrom('tessera_users')
        .select(['id', 'roles', 'disabled_at', 'credential_version'])
        .where('legacy_id', '=', legacyId)
        .executeTakeFirst(),
    );
    if (row === undefined) return undefined;
    const roles: unknown = JSON.parse(row.roles);
    return {
      id: row.id,
      roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [],
      disabled: row.disabled_at !== null,
      credentialVersion: Number(row.credential_version),
    };
  }

  /** Whether the old stack had revoked this token (`tessera users import --revoked`). */
  async isRevoked(jti: string): Promise<boolean> {
    const row = await answered(this.#db.selectFrom('tessera_legacy_revoked').select('jti').where('jti', '=', jti).executeTakeFirst());
    return row !== undefined;
  }

  /** The session an earlier exchange of this token opened, if it was exchanged. */
  async exchangedInto(jti: string): Promise<string | undefined> {
    const row = await answered(this.#db.selectFrom('tessera_legacy_exchanges').select('session_id').where('jti', '=', jti).executeTakeFirst());
    return row?.session_id;
  }

  /**
   * Takes the token for `sessionId`: one INSERT under the primary key, so of two exchanges at once exactly
   * one inserts; the other learns which session won.
   */
  async claim(input: { jti: string; sessionId: string; userId: string; now: number }): Promise<Claim> {
    const inserted = await answered(
      this.#db
        .insertInto('tessera_legacy_exchanges')
        .values({ jti: input.jti, session_id: input.sessionId, user_id: input.userId, exchanged_at: input.now })
        .onConflict((c) => c.column('jti').doNothing())
        .returning('jti')
        .executeTakeFirst(),
    );
    if (inserted !== undefined) return { won: true };
    const sessionId = await this.exchangedInto(input.jti);
    // The row cannot vanish (nothing deletes exchanges), so a lost insert always finds its winner.
    if (sessionId === undefined) throw new DatabaseUnavailableError('A legacy exchange row was not found after its insert lost.', undefined);
    return { won: false, sessionId };
  }
}
