// DPoP proofs (RFC 9449 §4): a JWT of type `dpop+jwt` whose header carries the public key and whose
// claims name the request (`htm`, `htu`), its time (`iat`), a unique `jti`, and where they apply the
// access token's hash (`ath`) and the server's nonce; signed with the private key, which never leaves
// WebCrypto. Also the key's JWK thumbprint (RFC 7638), the `jkt` a bound token names in `cnf`.
import type { DpopKeyPair } from './dpop-key.js';

/** What a proof is for. */
export interface ProofFor {
  /** The request's method. */
  readonly method: string;
  /** The request's URL; `htu` is it without query and fragment (RFC 9449 §4.2). */
  readonly url: URL;
  /** The access token the request carries, hashed into `ath` (RFC 9449 §4.2, §7.1). */
  readonly accessToken?: string | undefined;
  /** The nonce the server gave (RFC 9449 §8, §9). */
  readonly nonce?: string | undefined;
  /** Seconds the server's clock is ahead of this device's, added to `iat`. */
  readonly skew?: number | undefined;
}

/** A key pair, ready to sign proofs. */
export interface ProofSigner {
  /** The JWK thumbprint (RFC 7638, SHA-256, base64url) of the public key. */
  readonly jkt: string;
  sign(proof: ProofFor): Promise<string>;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** Unpadded base64url (RFC 7515 §2). */
function base64url(bytes: ArrayBuffer | Uint8Array): string {
  let binary = '';
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const segment = (value: object) => base64url(utf8(JSON.stringify(value)));
const sha256 = async (text: string) => base64url(await crypto.subtle.digest('SHA-256', utf8(text)));

/** Reads the public key and makes the signer: its thumbprint once, then one proof per request. */
export async function proofSigner(keys: DpopKeyPair): Promise<ProofSigner> {
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', keys.publicKey);
  // The thumbprint's input: the required members only, in lexicographic order (RFC 7638 §3.2; OKP:
  // RFC 8037 §2). The same object is the header's `jwk`, so no private or extra member is ever sent.
  const jwk = kty === 'EC' ? { crv, kty, x, y } : { crv, kty, x };
  const ec = kty === 'EC';
  const header = segment({ typ: 'dpop+jwt', alg: ec ? 'ES256' : 'EdDSA', jwk });
  return {
    jkt: await sha256(JSON.stringify(jwk)),
    async sign({ method, url, accessToken, nonce, skew = 0 }) {
      const claims = {
        jti: crypto.randomUUID(),
        htm: method,
        htu: url.origin + url.pathname,
        iat: Math.floor(Date.now() / 1000) + skew,
        ...(accessToken === undefined ? {} : { ath: await sha256(accessToken) }),
        ...(nonce === undefined ? {} : { nonce }),
      };
      const input = `${header}.${segment(claims)}`;
      // WebCrypto's ECDSA signature is r || s, 64 bytes: the JWS form already (RFC 7518 §3.4).
      const signature = await crypto.subtle.sign(ec ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' }, keys.privateKey, utf8(input));
      return `${input}.${base64url(signature)}`;
    },
  };
}
