// `tessera clients add|list|remove`: the OAuth clients, on the database alone (no key is loaded, OAuth need not be
// on yet). A confidential client's secret is printed once, here, and never again (docs/oauth.md "Clients").
import { parseArgs } from 'node:util';
import type { Tessera } from '@tessera/auth';
import type { Kysely } from 'kysely';
import { answered } from '../db/connect.js';
import type { ServerDatabase } from '../db/schema.js';
import { BUILT_IN_CLIENT, ClientRegistrationError, ClientStore, type OAuthClient } from './clients.js';

/** The usage of `tessera clients`, for its --help. */
export const CLIENTS_HELP = `Usage: tessera clients <add CLIENT_ID [--public] [--first-party] [--redirect-uri URI]... [--audience AUD]...
                       | list | remove CLIENT_ID>

  add CLIENT_ID     Register an OAuth client. Confidential unless --public: its client_secret (256 random
                    bits) is printed once and stored only as its SHA-256
    --public        A client that keeps no secret (a single-page or native app): it authenticates with
                    its client_id alone and must use PKCE, as every client does
    --first-party   A client of this deployment's own: the sign-in page asks for no consent
    --redirect-uri URI
                    Where /oauth/authorize may send the code, compared exactly (the port of
                    http://127.0.0.1 and http://[::1] aside); https, loopback http or a private-use
                    scheme such as com.example.app:/callback; never a fragment, a wildcard or localhost
    --audience AUD  An audience whose access tokens this (confidential) client may introspect
  list              Show every client, ${BUILT_IN_CLIENT} (built in) first
  remove CLIENT_ID  Remove a client and end every session issued to it: it can no longer sign anyone
                    in, and its refresh tokens stop working (access tokens expire on their own)`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** One line per client: id, kind, party, redirect URIs, audiences. */
function describe(client: OAuthClient): string {
  const kind = client.public ? 'public' : 'confidential';
  const party = client.firstParty ? 'first-party' : 'third-party';
  const uris = client.redirectUris.length === 0 ? '-' : client.redirectUris.join(' ');
  const audiences = client.audiences.length === 0 ? '-' : client.audiences.join(' ');
  return `${client.id}\t${kind}\t${party}\t${client.id === BUILT_IN_CLIENT ? 'built in' : uris}\t${audiences}`;
}

/** The columns of the library's sessions table that `endClientSessions` reads. */
interface SessionRows {
  tessera_sessions: { id: string; client_id: string; revoked_at: number | string | null };
}

/**
 * Ends every live session issued to `clientId`, through the library (so other instances hear of it at once), and
 * answers how many. Run after the client's row is gone: a later `clients add` of the same id revives nothing.
 */
export async function endClientSessions(auth: Pick<Tessera, 'revokeSession'>, db: Kysely<ServerDatabase>, clientId: string): Promise<number> {
  const sessions = db as unknown as Kysely<SessionRows>;
  const rows = await answered(
    sessions.selectFrom('tessera_sessions').select('id').where('client_id', '=', clientId).where('revoked_at', 'is', null).execute(),
  );
  let ended = 0;
  for (const row of rows) if (await auth.revokeSession(row.id, 'admin')) ended++;
  return ended;
}

/**
 * Runs `tessera clients <args>` on `db`; answers the exit code (2: usage or a refused value, 1: nothing to remove).
 * `endSessions` ends the sessions of a removed client (`remove` is refused without it).
 */
export async function clientsCommand(
  args: readonly string[],
  db: Kysely<ServerDatabase>,
  io: Io,
  usage: () => number,
  endSessions?: (clientId: string) => Promise<number>,
  now = Date.now(),
): Promise<number> {
  const [verb, ...rest] = args;
  const clients = new ClientStore(db);
  try {
    switch (verb) {
      case 'add': {
        let parsed;
        try {
          parsed = parseArgs({
            args: [...rest],
            options: {
              public: { type: 'boolean' },
              'first-party': { type: 'boolean' },
              'redirect-uri': { type: 'string', multiple: true },
              audience: { type: 'string', multiple: true },
            },
            allowPositionals: true,
            strict: true,
          });
        } catch (err) {
          // One sentence naming what was wrong (Node's own suggests a positional '--', which is not the point here).
          const option = /'(-[^' ]*)/.exec(err instanceof Error ? err.message : '')?.[1];
          io.err(
            `${option === undefined ? 'Bad arguments' : `Unknown or incomplete option ${option}`}: tessera clients add takes CLIENT_ID and --public, --first-party, --redirect-uri URI, --audience AUD.`,
          );
          return 2;
        }
        const { values, positionals } = parsed;
        if (positionals.length !== 1 || positionals[0] === undefined) return usage();
        const isPublic = values.public === true;
        const redirectUris = values['redirect-uri'] ?? [];
        const audiences = values.audience ?? [];
        if (isPublic && redirectUris.length === 0) {
          io.err('A public client needs at least one --redirect-uri: the authorization code flow is its only way to sign anyone in.');
          return 2;
        }
        if (isPublic && audiences.length > 0) {
          io.err('A public client cannot introspect tokens (RFC 7662 §2.1): --audience is for confidential clients.');
          return 2;
        }
        const { client, secret } = await clients.add({
          id: positionals[0],
          public: isPublic,
          firstParty: values['first-party'] === true,
          redirectUris,
          audiences,
          now,
        });
        io.out(`Added ${client.public ? 'public' : 'confidential'} client ${client.id}.`);
        if (secret !== undefined) {
          io.out(`client_secret: ${secret}`);
          io.out('Keep it now: it is stored only as a hash and never shown again (remove and add the client to get a new one).');
        }
        return 0;
      }
      case 'list': {
        if (rest.length > 0) return usage();
        const list = await clients.list();
        io.out('client_id\ttype\tparty\tredirect_uris\taudiences');
        for (const client of list) io.out(describe(client));
        return 0;
      }
      case 'remove': {
        if (rest.length !== 1 || rest[0] === undefined || endSessions === undefined) return usage();
        if (!(await clients.remove(rest[0]))) {
          io.err(`No client ${JSON.stringify(rest[0])}: see tessera clients list.`);
          return 1;
        }
        const ended = await endSessions(rest[0]);
        io.out(`Removed client ${rest[0]}; ${ended} session(s) ended. Access tokens already issued to it expire on their own.`);
        return 0;
      }
      default:
        return usage();
    }
  } catch (err) {
    if (err instanceof ClientRegistrationError) {
      io.err(err.message);
      return 2;
    }
    throw err;
  }
}
