// The OAuth clients (docs/oauth.md "Clients"): the built-in public first-party `tessera-web`, which the /auth/*
// API, the demo page and the client library use, and the clients `tessera clients add` registered. A confidential
// client's secret is 256 random bits, shown once and stored as its SHA-256, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { FIRST_PARTY_CLIENT } from '@tessera/auth';
import type { Kysely, Selectable } from 'kysely';
import { answered } from '../db/connect.js';
import { ms, type OAuthClientsTable, type ServerDatabase } from '../db/schema.js';
import { redirectUriProblem } from './redirect-uri.js';

/**
 * The built-in client: public, first party, no redirect URIs (it signs in through /auth/login, never through
 * /oauth/authorize). The same text as the library's `FIRST_PARTY_CLIENT`, which sessions default to.
 */
export const BUILT_IN_CLIENT = FIRST_PARTY_CLIENT;

/** A client as the OAuth endpoints see it. Its secret's hash stays inside the store. */
export interface OAuthClient {
  readonly id: string;
  /** Authenticates with `none` (RFC 6749 §2.1); a confidential client with its secret. */
  readonly public: boolean;
  /** A client of this deployment's own: the sign-in page asks for no consent. */
  readonly firstParty: boolean;
  readonly redirectUris: readonly string[];
  /** The audiences whose access tokens it may introspect (RFC 7662 §4). */
  readonly audiences: readonly string[];
  /** Epoch milliseconds; 0 for the built-in client. */
  readonly createdAt: number;
}

/** What `clients add` registers. */
export interface NewClient {
  readonly id: string;
  readonly public?: boolean;
  readonly firstParty?: boolean;
  readonly redirectUris?: readonly string[];
  readonly audiences?: readonly string[];
  /** Epoch milliseconds. */
  readonly now: number;
}

/** A client that cannot be registered or removed, with one sentence saying why. */
export class ClientRegistrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientRegistrationError';
  }
}

/** Client ids: printable, no spaces or separators that Basic authentication or a form would mangle (RFC 6749 §2.2, Appendix A.1). */
const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._~:-]{0,127}$/;
/** Audiences are compared exactly with `aud` claims: printable text without spaces. */
const AUDIENCE = /^[\x21-\x7e]{1,512}$/;

const builtIn: OAuthClient = Object.freeze({
  id: BUILT_IN_CLIENT,
  public: true,
  firstParty: true,
  redirectUris: Object.freeze([]),
  audiences: Object.freeze([]),
  createdAt: 0,
});

/** The hex SHA-256 of a secret: what is stored, and what a presented secret is compared by. */
function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The clients: the built-in one, and the rows of `tessera_oauth_clients`. */
export class ClientStore {
  /** The stored hash of each client object this store answered, so `verifySecret` needs no second read. */
  readonly #hashes = new WeakMap<OAuthClient, string>();

  constructor(private readonly db: Kysely<ServerDatabase>) {}

  /** The client `id`, or undefined. A database that does not answer is 503 `store_unavailable`. */
  async get(id: string): Promise<OAuthClient | undefined> {
    if (id === BUILT_IN_CLIENT) return builtIn;
    if (!CLIENT_ID.test(id)) return undefined;
    const row = await answered(this.db.selectFrom('tessera_oauth_clients').selectAll().where('client_id', '=', id).executeTakeFirst());
    return row === undefined ? undefined : this.#client(row);
  }

  /** Every client, the built-in one first, then by id. */
  async list(): Promise<OAuthClient[]> {
    const rows = await answered(this.db.selectFrom('tessera_oauth_clients').selectAll().orderBy('client_id').execute());
    return [builtIn, ...rows.map((row) => this.#client(row))];
  }

  /**
   * Registers a client; for a confidential one, answers its secret, which is never stored or shown again. Throws a
   * ClientRegistrationError for an id that is taken or malformed, or a redirect URI or audience that is refused.
   */
  async add(input: NewClient): Promise<{ client: OAuthClient; secret?: string }> {
    if (input.id === BUILT_IN_CLIENT) throw new ClientRegistrationError(`${BUILT_IN_CLIENT} is built in: choose another client id.`);
    if (!CLIENT_ID.test(input.id))
      throw new ClientRegistrationError(
        `The client id ${JSON.stringify(input.id)} must be 1 to 128 letters, digits or . _ ~ : - and start with a letter or digit.`,
      );
    const redirectUris = [...new Set(input.redirectUris ?? [])];
    for (const uri of redirectUris) {
      const problem = redirectUriProblem(uri);
      if (problem !== undefined) throw new ClientRegistrationError(problem);
    }
    const audiences = [...new Set(input.audiences ?? [])];
    for (const audience of audiences)
      if (!AUDIENCE.test(audience))
        throw new ClientRegistrationError(`The audience ${JSON.stringify(audience)} must be 1 to 512 printable characters without spaces.`);
    const isPublic = input.public === true;
    // 256 random bits (RFC 6749 §10.10 asks for a guess probability of at most 2^-128).
    const secret = isPublic ? undefined : randomBytes(32).toString('base64url');
    const row = {
      client_id: input.id,
      secret_hash: secret === undefined ? null : secretHash(secret),
      public: isPublic ? 1 : 0,
      first_party: input.firstParty === true ? 1 : 0,
      redirect_uris: JSON.stringify(redirectUris),
      audiences: JSON.stringify(audiences),
      created_at: input.now,
    };
    const inserted = await answered(
      this.db
        .insertInto('tessera_oauth_clients')
        .values(row)
        .onConflict((oc) => oc.column('client_id').doNothing())
        .executeTakeFirst(),
    );
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0)
      throw new ClientRegistrationError(`The client id ${input.id} is taken: see tessera clients list.`);
    const client = this.#client(row);
    return secret === undefined ? { client } : { client, secret };
  }

  /** Removes the client `id`; false when there is none. The built-in client cannot be removed. */
  async remove(id: string): Promise<boolean> {
    if (id === BUILT_IN_CLIENT) throw new ClientRegistrationError(`${BUILT_IN_CLIENT} is built in and cannot be removed.`);
    const deleted = await answered(this.db.deleteFrom('tessera_oauth_clients').where('client_id', '=', id).executeTakeFirst());
    return Number(deleted.numDeletedRows) > 0;
  }

  /**
   * Whether `secret` is the secret of `client`: SHA-256 of both, compared in constant time, so the comparison
   * takes as long for any wrong secret. Always false for a public client.
   */
  verifySecret(client: OAuthClient, secret: string): boolean {
    const stored = this.#hashes.get(client);
    if (stored === undefined || client.public) return false;
    return timingSafeEqual(Buffer.from(secretHash(secret), 'hex'), Buffer.from(stored, 'hex'));
  }

  #client(row: Selectable<OAuthClientsTable> | (Omit<Selectable<OAuthClientsTable>, 'created_at'> & { created_at: number })): OAuthClient {
    const client: OAuthClient = Object.freeze({
      id: row.client_id,
      public: Number(row.public) === 1,
      firstParty: Number(row.first_party) === 1,
      redirectUris: Object.freeze(stringList(row.redirect_uris)),
      audiences: Object.freeze(stringList(row.audiences)),
      createdAt: ms(row.created_at),
    });
    if (row.secret_hash !== null && /^[0-9a-f]{64}$/.test(row.secret_hash)) this.#hashes.set(client, row.secret_hash);
    return client;
  }
}

/** A JSON array of strings from a column; anything else reads as none (a hand-edited row never throws here). */
function stringList(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}
