// @tessera/auth/client/legacy: during a cut-over from another stack, the refresh token that app left in
// storage becomes a Tessera session once, through POST /auth/exchange, and is deleted. Users who were
// signed in stay signed in; nothing of the base client changes, and it costs nothing to apps without it.
import type { TesseraClient } from './client.js';
import { defaultStorage, type TokenStorage } from './platform.js';
import type { Transport } from '../protocol/protocol.js';
import type { SessionState } from './session.js';

/** Where the old app kept its refresh token, and how to ask for the session. */
export interface LegacyExchangeOptions {
  /** The storage key the old app used, e.g. `'refresh'` or `'refresh_token'`. */
  key: string;
  /** Where it is: default `localStorage` in a page (in Node, pass a `TokenStorage`). */
  storage?: TokenStorage;
  /**
   * The refresh token inside the stored text, for apps that kept a JSON object there, e.g.
   * `(text) => JSON.parse(text).refresh`. Default: the text itself.
   */
  read?: (stored: string) => string | undefined;
  /** The transport to ask for (in a page, `'hybrid'` keeps the refresh token out of reach of scripts); default the server's. */
  transport?: Transport;
}

/**
 * Exchanges the old app's refresh token, if one is stored, for a session of `client`. The stored item is
 * deleted before the request, so it is sent once, by one tab: the server ends both sessions of a token
 * exchanged twice. Resolves to the new session, or undefined when nothing was stored; rejects with the
 * server's `ClientError` (e.g. `legacy_token_reused`, `token_expired`, `legacy_cutover_ended`) when the
 * token is refused, and the user signs in as usual.
 * @example
 * const client = createClient({ baseUrl: '/' });
 * const session = (await exchangeLegacyToken(client, { key: 'refresh', transport: 'hybrid' }).catch(() => undefined)) ?? (await client.restore());
 */
export async function exchangeLegacyToken(client: TesseraClient, options: LegacyExchangeOptions): Promise<SessionState | undefined> {
  const storage = options.storage ?? defaultStorage();
  const stored = take(storage, options.key);
  if (stored === undefined) return undefined;
  let token: string | undefined;
  try {
    token = options.read === undefined ? stored : options.read(stored);
  } catch {
    token = undefined;
  }
  if (typeof token !== 'string' || token === '') return undefined;
  const body = JSON.stringify(options.transport === undefined ? { refresh_token: token } : { refresh_token: token, transport: options.transport });
  return client.signInWith(
    (send) => send('auth/exchange', { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body }),
    'exchange',
  );
}

/** Reads and deletes the item; storage that throws (a private window, a full quota) holds nothing. */
function take(storage: TokenStorage | undefined, key: string): string | undefined {
  try {
    const value = storage?.getItem(key) ?? null;
    if (value !== null) storage?.removeItem(key);
    return value ?? undefined;
  } catch {
    return undefined;
  }
}
