// Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3): which client
// is calling, proven by its secret for a confidential client (`client_secret_basic`, `client_secret_post`),
// named only for a public one (`none`). One method per request; every failure is 401 `invalid_client`.
import { InvalidClientError, InvalidRequestError } from '@tessera/auth';
import type { FormParams } from './form.js';

/** What authentication needs of a client record (oauth/clients.ts `OAuthClient`). */
export interface AuthenticatingClient {
  readonly id: string;
  readonly public: boolean;
}

/** The lookups authentication needs (oauth/clients.ts `ClientStore`): the client by id, and its secret checked in constant time. */
export interface ClientLookup<Client extends AuthenticatingClient> {
  get(id: string): Promise<Client | undefined> | Client | undefined;
  verifySecret(client: Client, secret: string): boolean;
}

/** The parts of a request client authentication reads. */
export interface ClientAuthRequest {
  /** Every header as received, flat as Node's `rawHeaders`: two `Authorization` lines must be seen to be refused. */
  readonly headers: readonly string[];
  /** The form parameters (`client_id`, `client_secret`). */
  readonly params: FormParams;
}

/** How the client authenticated (the metadata's `token_endpoint_auth_methods_supported`). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** The credentials a request carries, before the client is looked up. */
interface Presented {
  readonly method: ClientAuthMethod;
  readonly id: string;
  readonly secret?: string;
}

/**
 * Authenticates the calling client, or throws: 401 `invalid_client` for an unknown client, a wrong or
 * missing secret of a confidential client, a secret sent by a public client, or a malformed Basic header
 * (its refusal says `basic`, so the answer carries a Basic challenge); 400 `invalid_request` for two
 * methods at once (RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request").
 * @example const client = await authenticateClient({ headers: request.raw.rawHeaders, params }, oauth.clients);
 */
export async function authenticateClient<Client extends AuthenticatingClient>(
  request: ClientAuthRequest,
  clients: ClientLookup<Client>,
): Promise<Client> {
  const presented = presentedCredentials(request);
  const basic = presented.method === 'client_secret_basic';
  const client = await clients.get(presented.id);
  if (client === undefined) throw new InvalidClientError({ message: 'Unknown client', basic });
  if (client.public) {
    // A public client has no secret (RFC 6749 §2.1); one that sends a secret is not who it says it is.
    if (presented.secret !== undefined) throw new InvalidClientError({ message: 'A public client authenticates with no secret', basic });
    return client;
  }
  if (presented.secret === undefined) throw new InvalidClientError({ message: 'This client must authenticate with its secret' });
  // Constant time over the stored SHA-256 (oauth/clients.ts), so the comparison leaks nothing of the secret.
  if (!clients.verifySecret(client, presented.secret)) throw new InvalidClientError({ message: 'The client secret is wrong', basic });
  return client;
}

/** The method and credentials a request presents, or the refusal of a malformed or ambiguous one. */
function presentedCredentials(request: ClientAuthRequest): Presented {
  const authorization = headerValues(request.headers, 'authorization');
  const bodyId = request.params.get('client_id');
  const bodySecret = request.params.get('client_secret');
  if (authorization.length > 1) throw new InvalidRequestError({ message: 'Send one Authorization header' });
  const header = authorization[0];
  if (header !== undefined) {
    const basic = parseBasic(header);
    if (bodySecret !== undefined)
      throw new InvalidRequestError({ message: 'Authenticate the client one way: HTTP Basic or client_secret, not both' });
    // A client_id beside Basic is allowed (some clients send it), but it must name the same client.
    if (bodyId !== undefined && bodyId !== basic.id)
      throw new InvalidClientError({ message: 'client_id differs from the client in the Authorization header', basic: true });
    return basic;
  }
  if (bodyId === undefined) throw new InvalidClientError({ message: 'Name the client: client_id, or HTTP Basic' });
  return bodySecret === undefined ? { method: 'none', id: bodyId } : { method: 'client_secret_post', id: bodyId, secret: bodySecret };
}

/**
 * `Authorization: Basic` with the client id and secret each form-urlencoded before they are joined by
 * a colon (RFC 6749 §2.3.1, which RFC 7617 alone would not say): so an id or secret may hold `:`.
 */
function parseBasic(header: string): Presented & { secret: string } {
  const refused = (message: string): InvalidClientError => new InvalidClientError({ message, basic: true });
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (match === null) throw refused('Authenticate the client with HTTP Basic (client_secret_basic) or in the form');
  const encoded = match[1] as string;
  if (encoded.length % 4 !== 0) throw refused('The Basic credentials are not valid base64');
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64'));
  } catch {
    throw refused('The Basic credentials are not UTF-8');
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) throw refused('The Basic credentials need a colon between client id and secret');
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (id === undefined || secret === undefined) throw refused('The Basic credentials are not form-urlencoded (RFC 6749 §2.3.1)');
  if (id === '') throw refused('The Basic credentials name no client');
  if (secret === '') throw refused('The Basic credentials carry no secret');
  return { method: 'client_secret_basic', id, secret };
}

/** `application/x-www-form-urlencoded` decoding of one value: `+` is a space, then percent-decoding; undefined when malformed. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The values of one header in a raw header list (names compared case-insensitively). */
export function headerValues(headers: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) if ((headers[i] as string).toLowerCase() === name) values.push(headers[i + 1] as string);
  return values;
}
