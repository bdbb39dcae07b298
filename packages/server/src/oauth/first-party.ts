// Account management belongs to first-party clients. A third-party client holds an access token the user consented
// to for an API; that consent never covers reading the user's devices, ending their sessions or changing their
// password (docs/oauth.md "Clients").
import { clientIdOf, FIRST_PARTY_CLIENT, InsufficientScopeError, type TokenClaims } from '@tessera/auth';
import type { Kysely } from 'kysely';
import type { ServerDatabase } from '../db/schema.js';
import { ClientStore } from './clients.js';

/** Answers whether a token's client is first party: the built-in client, or one registered `--first-party`. */
export class FirstPartyCheck {
  readonly #clients: ClientStore;

  constructor(db: Kysely<ServerDatabase>) {
    // Asked even with OAuth off: tokens issued while it was on stay valid until they expire.
    this.#clients = new ClientStore(db);
  }

  async isFirstParty(claims: TokenClaims): Promise<boolean> {
    const id = clientIdOf(claims);
    if (id === FIRST_PARTY_CLIENT) return true;
    return (await this.#clients.get(id))?.firstParty === true;
  }

  /** Throws 403 `insufficient_scope` unless the token is a first-party client's. */
  async require(claims: TokenClaims): Promise<void> {
    if (await this.isFirstParty(claims)) return;
    throw new InsufficientScopeError({ message: 'Only first-party clients may manage the account; this token was issued to a third-party client' });
  }
}
