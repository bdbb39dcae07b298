import type { KeyObject } from 'node:crypto';

/** The signing algorithms Tessera supports. There is no `none`, in any spelling. */
export const ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'HS256'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** Exact, case-sensitive allowlist check (RFC 8725 §3.1; a blocklist of `none` is bypassed by `noNE`). */
export function isAlgorithm(value: unknown): value is Algorithm {
  return value === 'EdDSA' || value === 'ES256' || value === 'RS256' || value === 'HS256';
}

export const MIN_HMAC_BYTES = 32;
export const MIN_RSA_BITS = 2048;

/**
 * Why `key` cannot serve `alg`, or undefined when it can. Each algorithm takes exactly one key
 * type (RFC 8725 §3.1, jsonwebtoken CVE-2022-23539): ed25519 for EdDSA, P-256 for ES256, RSA of
 * at least 2048 bits for RS256 and a secret of at least 32 bytes for HS256.
 */
export function keyMismatch(alg: Algorithm, key: KeyObject): string | undefined {
  if (alg === 'HS256') {
    if (key.type !== 'secret') return 'HS256 takes a secret, not an asymmetric key';
    const size = key.symmetricKeySize ?? 0;
    return size < MIN_HMAC_BYTES ? `an HS256 secret must be at least ${MIN_HMAC_BYTES} random bytes (got ${size})` : undefined;
  }
  if (key.type === 'secret') return `${alg} takes an asymmetric key, not a secret`;
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (alg) {
    case 'EdDSA':
      return type === 'ed25519' ? undefined : `EdDSA takes an Ed25519 key (got ${type ?? 'unknown'})`;
    case 'ES256':
      return type === 'ec' && details.namedCurve === 'prime256v1'
        ? undefined
        : `ES256 takes a P-256 EC key (got ${type ?? 'unknown'} ${details.namedCurve ?? ''})`.trim();
    case 'RS256':
      if (type !== 'rsa') return `RS256 takes an RSA key (got ${type ?? 'unknown'})`;
      return (details.modulusLength ?? 0) < MIN_RSA_BITS
        ? `an RS256 key must have at least ${MIN_RSA_BITS} bits (got ${details.modulusLength ?? 0})`
        : undefined;
  }
}
