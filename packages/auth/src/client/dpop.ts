// @tessera/auth/client/dpop: tokens bound to a key the browser cannot give away (RFC 9449). It wraps the
// `fetch` the client is given, the per-request add-on hook (README "Add-ons"): every login, refresh and
// OAuth token request carries a DPoP proof, so the server binds what it issues to the key (`cnf.jkt`,
// `token_type: DPoP`), and every request that carries such an access token sends it as
// `Authorization: DPoP <token>` with a proof of its own. A stolen token, refresh or access, is useless
// without the private key, which WebCrypto keeps non-extractable. Nothing of the base client changes.
import { forgetDpopKey, loadDpopKey, type DpopAlgorithm, type DpopKeyPair } from './dpop-key.js';
import { proofSigner, type ProofSigner } from './dpop-proof.js';
import type { FetchLike } from './options.js';

export type { DpopAlgorithm, DpopCryptoKey, DpopKeyPair } from './dpop-key.js';

/** Options of `createDpop`. */
export interface DpopBindingOptions {
  /** The `fetch` to wrap (default the platform's). */
  fetch?: FetchLike;
  /**
   * The algorithm of a new key: `'ES256'` (P-256, the default, in every browser) or `'EdDSA'` (Ed25519;
   * falls back to ES256 where WebCrypto lacks it). A stored key keeps the algorithm it was made with.
   */
  algorithm?: DpopAlgorithm;
  /** The key's name in IndexedDB (database `tessera-dpop`), one key per name; default `'default'`. */
  name?: string;
}

/** The DPoP binding: a `fetch` for `createClient`, and the key it signs with. */
export interface DpopBinding {
  /** Pass it as `createClient({ fetch })`: adds proofs, sends bound tokens as `DPoP`, answers nonce challenges. */
  readonly fetch: FetchLike;
  /** The JWK thumbprint of the key (RFC 7638): the `jkt` of bound tokens, and OAuth's `dpop_jkt` (RFC 9449 §10). */
  thumbprint(): Promise<string>;
  /** A proof for a request made some other way (`accessToken` adds `ath`); the origin's last nonce is included. */
  proof(method: string, url: string | URL, accessToken?: string): Promise<string>;
  /** The key pair (its private key non-extractable), e.g. for oauth4webapi's `DPoP(client, keyPair)`. */
  keyPair(): Promise<DpopKeyPair>;
  /**
   * Deletes the stored key: the next request makes a new one, so the next login starts an unrelated binding
   * (other tabs keep the key they loaded until they load again).
   */
  forget(): Promise<void>;
}

/** The requests that ask for tokens: a proof on each binds what they issue (RFC 9449 §5). */
const TOKEN_REQUEST = /\/(?:auth\/(?:login|refresh)|oauth\/token)$/;
const AUTHORIZATION = /^(Bearer|DPoP) +(\S+)$/i;

/**
 * Makes the DPoP binding. The key is made (or read from IndexedDB) at the first request that needs it.
 * In a page the key survives reloads and is shared by the origin's tabs; in Node it lives as long as the
 * `DpopBinding` object, so pass one object to every client that shares a session.
 * @example
 * const dpop = createDpop();
 * const client = createClient({ baseUrl: '/', transport: 'hybrid', fetch: dpop.fetch });
 * await client.restore();
 */
export function createDpop(options: DpopBindingOptions = {}): DpopBinding {
  const name = options.name ?? 'default';
  const inner: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  /** The last nonce each origin gave (RFC 9449 §8.2: a server may send a new one on any answer). */
  const nonces = new Map<string, string>();
  /** How far each origin's clock is ahead of ours, in seconds, when it is 30 s or more (from its `Date` header). */
  const skews = new Map<string, number>();
  let keys: Promise<DpopKeyPair> | undefined;
  let signer: Promise<ProofSigner> | undefined;
  const keyPair = () => (keys ??= loadDpopKey(name, options.algorithm ?? 'ES256'));
  const ready = () =>
    (signer ??= keyPair()
      .then(proofSigner)
      .catch((err: unknown) => {
        keys = signer = undefined; // a failure (no WebCrypto, say) is not kept: the next request tries again
        throw err;
      }));

  async function dpopFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const request = typeof Request !== 'undefined' && input instanceof Request ? input : undefined;
    const url = new URL(request?.url ?? String(input));
    const headers = new Headers(init.headers ?? request?.headers);
    const [, scheme, token] = AUTHORIZATION.exec(headers.get('authorization') ?? '') ?? [];
    if (token === undefined && !TOKEN_REQUEST.test(url.pathname)) return remember(url, await inner(input, init));
    const { jkt, sign } = await ready();
    // Only a token bound to this key goes as DPoP (RFC 9449 §7.1); any other is left as it was.
    const bound = token !== undefined && (scheme?.toUpperCase() === 'DPOP' || boundTo(token) === jkt) ? token : undefined;
    if (bound === undefined && !TOKEN_REQUEST.test(url.pathname)) return remember(url, await inner(input, init));
    if (bound !== undefined) headers.set('authorization', `DPoP ${bound}`);
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    // A body that cannot be sent twice is sent once, whatever the answer.
    const once = typeof ReadableStream !== 'undefined' && init.body instanceof ReadableStream;
    const tried = new Set<unknown>();
    const { origin } = url;
    let target = input;
    for (;;) {
      const skew = skews.get(origin);
      // A Request's body is read by sending it: a copy is kept for the next try.
      const spare = !once && request !== undefined ? (target as Request).clone() : target;
      headers.set('dpop', await sign({ method, url, accessToken: bound, nonce: nonces.get(origin), skew }));
      const response = remember(url, await inner(target, { ...init, headers }));
      learnClock(origin, response);
      if (once) return response;
      // Sent again once for each cause, never in a loop: with the nonce a challenge brought (RFC 9449 §8,
      // §9), or, when the proof was refused and this very answer showed the device clock far off, with `iat`
      // on the server's time. A login with a wrong clock meets both: three requests in all.
      const error = await dpopError(response);
      const again =
        error === 'use_dpop_nonce'
          ? response.headers.has('dpop-nonce')
          : error === 'invalid_dpop_proof' && Math.abs((skews.get(origin) ?? 0) - (skew ?? 0)) >= 30;
      if (!again || tried.has(error)) return response;
      tried.add(error);
      target = spare;
    }
  }

  function remember({ origin }: URL, response: Response): Response {
    const nonce = response.headers.get('dpop-nonce');
    if (nonce !== null) nonces.set(origin, nonce);
    return response;
  }

  /**
   * The server judges `iat` by its own clock (±60 s): a device clock far off is corrected by the `Date` of
   * the server's answers to proofs (never from a cache). Whole seconds, so offsets under 30 s are left alone:
   * they fit the window as they are.
   */
  function learnClock(origin: string, response: Response): void {
    const date = Date.parse(response.headers.get('date') ?? '');
    if (Number.isNaN(date)) return;
    const ahead = Math.round((date - Date.now()) / 1000);
    if (Math.abs(ahead) >= 30) skews.set(origin, ahead);
    else skews.delete(origin);
  }

  return {
    fetch: dpopFetch,
    thumbprint: async () => (await ready()).jkt,
    async proof(method, url, accessToken) {
      const target = new URL(url);
      const { origin } = target;
      return (await ready()).sign({ method: method.toUpperCase(), url: target, accessToken, nonce: nonces.get(origin), skew: skews.get(origin) });
    },
    keyPair,
    async forget() {
      keys = signer = undefined;
      await forgetDpopKey(name);
    },
  };
}

/**
 * The error of a refused proof: the `error` of a 400 at a token endpoint (RFC 9449 §8), of the
 * `WWW-Authenticate: DPoP` challenge of a 401 at a resource (§7.1, §9).
 */
async function dpopError(response: Response): Promise<unknown> {
  if (response.status === 401) return /\bDPoP\b[^]*?error="([^"]*)"/i.exec(response.headers.get('www-authenticate') ?? '')?.[1];
  if (response.status !== 400) return undefined;
  const body = (await response
    .clone()
    .json()
    .catch(() => undefined)) as { error?: unknown } | undefined;
  return body?.error;
}

/** The `cnf.jkt` of a JWT access token (unverified: it only chooses the scheme to send it with), if any. */
function boundTo(token: string): unknown {
  try {
    const payload = token.split('.')[1] ?? '';
    return (JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { cnf?: { jkt?: unknown } }).cnf?.jkt;
  } catch {
    return undefined;
  }
}
