// The auth server's DPoP replay store (RFC 9449 §11.1): every (jkt, jti) a token endpoint accepted, in the
// database every instance shares, kept until the proof's `iat` window ends. Each process also keeps its own
// bounded set in memory (the library's); this one catches a proof replayed to another instance.
import type { Kysely } from 'kysely';
import { answered } from '../db/connect.js';
import type { ServerDatabase } from '../db/schema.js';

/** The library's `DpopReplayStore` contract, over `tessera_dpop_proofs`. */
export class SqlDpopReplayStore {
  constructor(private readonly db: Kysely<ServerDatabase>) {}

  /**
   * Records the proof `jti` of the key `jkt` until `expiresAt` (epoch milliseconds); true when it was not seen
   * before. One insert that the primary key refuses for a repeat, so two instances racing get one true.
   */
  async claim(jkt: string, jti: string, expiresAt: number): Promise<boolean> {
    const result = await answered(
      this.db
        .insertInto('tessera_dpop_proofs')
        .values({ jkt, jti, expires_at: Math.ceil(expiresAt) })
        .onConflict((oc) => oc.columns(['jkt', 'jti']).doNothing())
        .executeTakeFirst(),
    );
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}
