// DPoP proofs made by hand with node:crypto, so tests can build every hostile variant: any header, any
// payload, any key, any signature. Genuine proofs are also made by the `dpop` package and by `jose`
// (test/differential), so this helper is not the only judge of what a valid proof is.
import { Buffer } from 'node:buffer';
import { constants, createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

export type ProofAlg = 'EdDSA' | 'Ed25519' | 'ES256' | 'ES384' | 'RS256' | 'PS256';

/** A DPoP key pair: the private key, its public JWK and its algorithm. */
export interface ProofKey {
  readonly alg: ProofAlg;
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, string>;
}

/** A new key pair for `alg`. */
export function proofKey(alg: ProofAlg): ProofKey {
  const pair =
    alg === 'EdDSA' || alg === 'Ed25519'
      ? generateKeyPairSync('ed25519')
      : alg === 'ES256' || alg === 'ES384'
        ? generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { alg, privateKey: pair.privateKey, jwk: pair.publicKey.export({ format: 'jwk' }) as Record<string, string> };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The signature of `input` by `key` as JWS wants it for `alg`. */
export function signWith(alg: ProofAlg, key: KeyObject, input: string): Buffer {
  const data = Buffer.from(input);
  switch (alg) {
    case 'EdDSA':
    case 'Ed25519':
      return sign(null, data, key);
    case 'ES256':
      return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'ES384':
      return sign('sha384', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return sign('sha256', data, key);
    case 'PS256':
      return sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  }
}

/** `ath` of an access token. */
export function ath(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

export interface ProofInput {
  htm: string;
  htu: string;
  /** Seconds; default now. */
  iat?: number | undefined;
  accessToken?: string | undefined;
  nonce?: string | undefined;
  jti?: string | undefined;
  /** Header members to set (undefined removes one). */
  header?: Record<string, unknown> | undefined;
  /** Payload members to set (undefined removes one). */
  payload?: Record<string, unknown> | undefined;
  /** Sign with this alg's scheme instead of the key's own. */
  signAs?: ProofAlg | undefined;
}

/** A proof by `key`; `nowMs` is the clock the server will use. */
export function makeProof(key: ProofKey, input: ProofInput, nowMs: number = Date.now()): string {
  const header = drop({ typ: 'dpop+jwt', alg: key.alg, jwk: key.jwk, ...input.header });
  const payload = drop({
    jti: input.jti ?? randomUUID(),
    htm: input.htm,
    htu: input.htu,
    iat: input.iat ?? Math.floor(nowMs / 1000),
    ...(input.accessToken === undefined ? {} : { ath: ath(input.accessToken) }),
    ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    ...input.payload,
  });
  const signingInput = `${b64(header)}.${b64(payload)}`;
  return `${signingInput}.${signWith(input.signAs ?? key.alg, key.privateKey, signingInput).toString('base64url')}`;
}

function drop(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}
