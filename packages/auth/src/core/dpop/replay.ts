import { createHash } from 'node:crypto';

/**
 * Where an auth server records the DPoP proofs it has seen, shared by every instance (the server keeps
 * them in its database). `claim` answers true when (jkt, jti) was not seen before and is now recorded
 * until `expiresAt` (epoch milliseconds), false when it was: a replay (RFC 9449 §11.1).
 */
export interface DpopReplayStore {
  claim(jkt: string, jti: string, expiresAt: number): Promise<boolean>;
}

/** How many proofs one process remembers. */
export const REPLAY_CACHE_SIZE = 100_000;

/**
 * The proofs this process has seen within the `iat` window, as a bounded set of (jkt, jti). Entries are
 * kept in insertion order, which is nearly expiry order since every `iat` lies within the window, so the
 * oldest go first: expired ones on every insert, and past `capacity`, the oldest live one (a flood of
 * proofs can push a proof out before its window ends; the auth server's `DpopReplayStore` still has it).
 * @example const seen = new ReplayCache(); seen.claim(jkt, jti, Date.now() + 120_000, Date.now()) // true, then false
 */
export class ReplayCache {
  readonly #entries = new Map<string, number>();
  readonly #capacity: number;

  constructor(capacity: number = REPLAY_CACHE_SIZE) {
    this.#capacity = capacity;
  }

  /** True when (jkt, jti) is new and is now remembered until `expiresAt`; false for a replay. */
  claim(jkt: string, jti: string, expiresAt: number, nowMs: number): boolean {
    // A fixed-size digest, not the pair itself: a jti may be 256 characters, and anyone can send proofs, so the
    // memory of a full cache stays near 10 MB. jkt is base64url (no spaces): a space cannot make two pairs collide.
    const id = createHash('sha256').update(`${jkt} ${jti}`).digest('base64url');
    const until = this.#entries.get(id);
    if (until !== undefined && until > nowMs) return false;
    if (until !== undefined) this.#entries.delete(id);
    this.#sweep(nowMs);
    this.#entries.set(id, expiresAt);
    return true;
  }

  /** The number of proofs remembered. */
  get size(): number {
    return this.#entries.size;
  }

  #sweep(nowMs: number): void {
    for (const [id, until] of this.#entries) {
      if (until > nowMs && this.#entries.size < this.#capacity) break;
      this.#entries.delete(id);
    }
  }
}
