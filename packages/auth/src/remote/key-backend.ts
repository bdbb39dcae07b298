import { Buffer } from 'node:buffer';
import type { webcrypto } from 'node:crypto';
import { importKey, type Key } from '../core/keys/key.js';
import { verifyInput } from '../core/tokens/jws.js';

/** The algorithms a remote verifier accepts from a JWKS: asymmetric only, since a published HMAC secret is no secret. */
export type RemoteAlgorithm = 'EdDSA' | 'ES256' | 'RS256';

/** The public members of a JWK that a backend reads (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2). */
export interface PublicJwk {
  readonly kty: 'OKP' | 'EC' | 'RSA';
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
}

/** One imported public key: its one algorithm, and a check of a signature over the JWS signing input. */
export interface VerifyingKey {
  readonly kid: string | undefined;
  readonly alg: RemoteAlgorithm;
  /** `verify` may answer synchronously (node:crypto) or with a promise (WebCrypto). */
  verify(input: string, signature: Uint8Array): boolean | Promise<boolean>;
}

/**
 * How keys are imported and signatures checked. `node:crypto` is the fast path; WebCrypto
 * (`crypto.subtle`) serves runtimes whose `node:crypto` lacks what is needed (workerd cannot verify
 * ES256 with a `KeyObject` in IEEE P1363 form). Both take the same JWK and apply the same rules.
 */
export interface KeyBackend {
  readonly name: string;
  /** Imports a public key for `alg`, or throws when the material does not fit it (type, curve, size). */
  importKey(jwk: PublicJwk, alg: RemoteAlgorithm, kid: string | undefined): Promise<VerifyingKey>;
}

/** P-256 group order n (FIPS 186-4 D.1.2.3): ES256 r and s must lie in [1, n−1] (CVE-2022-21449). */
const P256_ORDER = Uint8Array.from(Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex'));
const MIN_RSA_BITS = 2048;

/** `node:crypto` through the core's own `Key` and `verifyInput`: the local verifier's exact checks. */
export const nodeBackend: KeyBackend = {
  name: 'node:crypto',
  async importKey(jwk, alg, kid) {
    // importKey checks type, curve and RSA size against alg; the kid given to it is only a label.
    const key: Key = importKey({ alg, jwk: { ...jwk }, kid: kid ?? 'no-kid' });
    return {
      kid,
      alg,
      verify: (input, signature) =>
        verifyInput(key, input, Buffer.isBuffer(signature) ? signature : Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength)),
    };
  },
};

interface SubtleParams {
  readonly importParams: webcrypto.AlgorithmIdentifier | webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  readonly verifyParams: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams;
}

const SUBTLE: Readonly<Record<RemoteAlgorithm, SubtleParams>> = {
  EdDSA: { importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' } },
  ES256: { importParams: { name: 'ECDSA', namedCurve: 'P-256' }, verifyParams: { name: 'ECDSA', hash: 'SHA-256' } },
  RS256: { importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verifyParams: { name: 'RSASSA-PKCS1-v1_5' } },
};

/** WebCrypto (`crypto.subtle`), present on every runtime the remote entry runs on. */
export const webCryptoBackend: KeyBackend = {
  name: 'webcrypto',
  async importKey(jwk, alg, kid) {
    const fits =
      alg === 'EdDSA' ? jwk.kty === 'OKP' && jwk.crv === 'Ed25519' : alg === 'ES256' ? jwk.kty === 'EC' && jwk.crv === 'P-256' : jwk.kty === 'RSA';
    if (!fits) throw new TypeError(`a ${jwk.kty}${jwk.crv === undefined ? '' : ` ${jwk.crv}`} key cannot serve ${alg}`);
    // Public members only: an `alg`, `use` or `key_ops` member would be judged by each runtime differently.
    const material: webcrypto.JsonWebKey = { kty: jwk.kty };
    for (const name of ['crv', 'x', 'y', 'n', 'e'] as const) if (jwk[name] !== undefined) material[name] = jwk[name];
    const params = SUBTLE[alg];
    const key = await crypto.subtle.importKey('jwk', material, params.importParams, false, ['verify']);
    let signatureLength = 64;
    if (alg === 'RS256') {
      const bits = (key.algorithm as webcrypto.RsaHashedKeyAlgorithm).modulusLength;
      if (bits < MIN_RSA_BITS) throw new TypeError(`an RS256 key must have at least ${MIN_RSA_BITS} bits (got ${bits})`);
      signatureLength = Math.ceil(bits / 8);
    }
    return {
      kid,
      alg,
      async verify(input, signature) {
        // The same order as core/tokens/jws.ts: length first, then ES256's scalar range, then the check itself.
        if (signature.length !== signatureLength) return false;
        if (alg === 'ES256' && (!scalarInRange(signature.subarray(0, 32)) || !scalarInRange(signature.subarray(32)))) return false;
        return crypto.subtle.verify(params.verifyParams, key, signature, Buffer.from(input, 'latin1'));
      },
    };
  },
};

function scalarInRange(scalar: Uint8Array): boolean {
  if (!scalar.some((b) => b !== 0)) return false;
  for (let i = 0; i < 32; i++) {
    const a = scalar[i] ?? 0;
    const n = P256_ORDER[i] ?? 0;
    if (a !== n) return a < n;
  }
  return false;
}

/**
 * The backend a verifier uses when none is given: `node:crypto`, except on workerd, whose
 * `node:crypto` cannot verify ES256 from a `KeyObject` (found by running the runtime runner there).
 */
export function defaultBackend(): KeyBackend {
  return onWorkerd() ? webCryptoBackend : nodeBackend;
}

/** Whether this is Cloudflare's workerd, whose `node:crypto` lacks what some checks need (ES256 from a `KeyObject`). */
export function onWorkerd(): boolean {
  return (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent === 'Cloudflare-Workers';
}
