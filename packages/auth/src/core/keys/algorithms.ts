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

/** What each algorithm takes, in words. */
const WANTED: Readonly<Record<Exclude<Algorithm, 'HS256'>, string>> = {
  EdDSA: 'an Ed25519 key',
  ES256: 'a P-256 EC key',
  RS256: 'an RSA key',
};

/** The kind of an asymmetric key in words, and the algorithm it serves, if any. */
export function describeKey(key: KeyObject): { kind: string; alg: Algorithm | undefined } {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.type === 'secret') return { kind: 'a secret', alg: 'HS256' };
  switch (type) {
    case 'ed25519':
      return { kind: 'an Ed25519 key', alg: 'EdDSA' };
    case 'ec': {
      const curve = CURVES[details.namedCurve ?? ''] ?? details.namedCurve ?? 'unknown-curve';
      return { kind: `a ${curve} EC key`, alg: curve === 'P-256' ? 'ES256' : undefined };
    }
    case 'rsa':
      return { kind: `an RSA key of ${details.modulusLength ?? 0} bits`, alg: 'RS256' };
    default:
      return { kind: `${OTHER_KEYS[type ?? ''] ?? `an ${type ?? 'unknown'} key`}`, alg: undefined };
  }
}

const OTHER_KEYS: Readonly<Record<string, string>> = {
  ed448: 'an Ed448 key (not supported)',
  x25519: 'an X25519 key (for key agreement, not signatures)',
  x448: 'an X448 key (for key agreement, not signatures)',
  'rsa-pss': 'an RSA-PSS key (RS256 takes a plain RSA key)',
  dsa: 'a DSA key (not supported)',
};

const CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521', secp256k1: 'secp256k1' };

/**
 * Why `key` cannot serve `alg`, or undefined when it can. Each algorithm takes exactly one key
 * type (RFC 8725 §3.1, jsonwebtoken CVE-2022-23539): ed25519 for EdDSA, P-256 for ES256, RSA of
 * at least 2048 bits for RS256 and a secret of at least 32 bytes for HS256. The sentence names the
 * type given, the type wanted, and the algorithm the given key would serve.
 */
export function keyMismatch(alg: Algorithm, key: KeyObject): string | undefined {
  if (alg === 'HS256') {
    if (key.type !== 'secret') return `HS256 takes a secret, but this is ${describeKey(key).kind}${suggest(key)}`;
    const size = key.symmetricKeySize ?? 0;
    return size < MIN_HMAC_BYTES ? `an HS256 secret must be at least ${MIN_HMAC_BYTES} random bytes (got ${size})` : undefined;
  }
  if (key.type === 'secret') return `${alg} takes ${WANTED[alg]}, but this is a secret (secrets are for HS256)`;
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  const fits = alg === 'EdDSA' ? type === 'ed25519' : alg === 'ES256' ? type === 'ec' && details.namedCurve === 'prime256v1' : type === 'rsa';
  if (!fits) return `${alg} takes ${WANTED[alg]}, but this is ${describeKey(key).kind}${suggest(key)}`;
  if (alg === 'RS256' && (details.modulusLength ?? 0) < MIN_RSA_BITS)
    return `an RS256 key must have at least ${MIN_RSA_BITS} bits (got ${details.modulusLength ?? 0})`;
  return undefined;
}

/** ": import it with alg 'EdDSA'" when the key serves another algorithm, else nothing. */
function suggest(key: KeyObject): string {
  const serves = describeKey(key).alg;
  return serves === undefined ? '' : `: import it with alg '${serves}', or pass a key of the wanted type`;
}
