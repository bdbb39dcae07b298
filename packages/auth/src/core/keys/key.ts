import { Buffer } from 'node:buffer';
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPair,
  randomBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { isCanonicalBase64url } from '../../internal/base64url.js';
import { ConfigError } from '../errors.js';
import { describeKey, isAlgorithm, keyMismatch, MIN_HMAC_BYTES, type Algorithm } from './algorithms.js';

/** What a key is for: access tokens (published when asymmetric) or refresh tokens (never published). */
export type KeyPurpose = 'access' | 'refresh';

/**
 * A key bound to exactly one algorithm and one purpose. The verifying half is a typed
 * `KeyObject`, so an HMAC can never be computed with public-key material (the algorithm
 * confusion behind most CVEs in security.md §8).
 */
export class Key {
  readonly kid: string;
  readonly alg: Algorithm;
  readonly purpose: KeyPurpose;
  /** The private key or secret; undefined for a verify-only key. */
  readonly signingKey: KeyObject | undefined;
  /** The public key, or the secret for HS256. */
  readonly verifyingKey: KeyObject;
  /** RSA signature length in bytes; 64 for Ed25519 and ES256, 32 for HS256. */
  readonly signatureLength: number;

  /** @internal Use `generateKey`, `importKey`, `generateRefreshKey` or `importRefreshKey`. */
  constructor(init: { kid: string; alg: Algorithm; purpose: KeyPurpose; signingKey: KeyObject | undefined; verifyingKey: KeyObject }) {
    this.kid = init.kid;
    this.alg = init.alg;
    this.purpose = init.purpose;
    this.signingKey = init.signingKey;
    this.verifyingKey = init.verifyingKey;
    this.signatureLength =
      init.alg === 'RS256' ? Math.ceil((init.verifyingKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8) : init.alg === 'HS256' ? 32 : 64;
    Object.freeze(this);
  }

  /** Whether this key can sign (it holds a private key or a secret). */
  get canSign(): boolean {
    return this.signingKey !== undefined;
  }

  /** A copy of this key that can only verify (for keys kept after rotation). */
  verifyOnly(): Key {
    return new Key({ kid: this.kid, alg: this.alg, purpose: this.purpose, signingKey: undefined, verifyingKey: this.verifyingKey });
  }
}

/** Options shared by key constructors. */
export interface KeyOptions {
  /** The key id written in the `kid` header. Default: the RFC 7638 thumbprint (asymmetric) or an HMAC-derived id (secret). */
  kid?: string;
  /** What the key signs. Default `'access'`. */
  purpose?: KeyPurpose;
}

/** What `importKey` accepts: exactly one of `jwk`, `pem` or `secret`. */
export type KeyInput = KeyOptions & { alg: Algorithm } & (
    | { jwk: JsonWebKey; pem?: never; secret?: never }
    | { pem: string; jwk?: never; secret?: never }
    | { secret: Uint8Array | string; jwk?: never; pem?: never }
  );

const generatePair = promisify(generateKeyPair);

/**
 * Generates a new signing key for `alg`.
 * @example const key = await generateKey('EdDSA');
 */
export async function generateKey(alg: Algorithm, options: KeyOptions = {}): Promise<Key> {
  assertAlgorithm(alg);
  if (alg === 'HS256') return fromSecret(alg, randomBytes(MIN_HMAC_BYTES), options);
  const pair =
    alg === 'EdDSA'
      ? await generatePair('ed25519')
      : alg === 'ES256'
        ? await generatePair('ec', { namedCurve: 'P-256' })
        : await generatePair('rsa', { modulusLength: 2048 });
  return build(alg, pair.privateKey, pair.publicKey, options);
}

/**
 * Imports a key from a JWK, a PEM text or (HS256 only) a raw secret given as bytes or base64url.
 * Refuses short secrets, small RSA keys, keys of the wrong type for `alg`, and asymmetric
 * material offered as an HMAC secret.
 * @example const key = importKey({ alg: 'HS256', secret: process.env.TESSERA_SECRET! });
 */
export function importKey(input: KeyInput): Key {
  const alg = input.alg;
  assertAlgorithm(alg);
  const options: KeyOptions = {};
  if (input.kid !== undefined) options.kid = input.kid;
  if (input.purpose !== undefined) options.purpose = input.purpose;
  const given = [input.jwk, input.pem, input.secret].filter((v) => v !== undefined).length;
  if (given !== 1) throw new ConfigError(['importKey takes exactly one of jwk, pem or secret.']);

  if (input.secret !== undefined) {
    if (alg !== 'HS256') throw new ConfigError([`A raw secret can only be an HS256 key; ${alg} takes a JWK or PEM key.`]);
    return fromSecret(alg, secretBytes(input.secret), options);
  }
  if (input.jwk !== undefined) {
    const jwk = input.jwk;
    if (typeof jwk !== 'object' || jwk === null) throw new ConfigError(['importKey: jwk must be a JWK object.']);
    if (jwk.alg !== undefined && jwk.alg !== alg)
      throw new ConfigError([`The JWK says alg "${String(jwk.alg)}" but the key is being imported for ${alg}.`]);
    if (alg === 'HS256') {
      if (jwk.kty !== 'oct' || typeof jwk.k !== 'string')
        throw new ConfigError([
          `HS256 takes a secret (a JWK of kty "oct"), but this JWK is of kty ${JSON.stringify(jwk.kty)}: import it with its own algorithm.`,
        ]);
      return fromSecret(alg, secretBytes(jwk.k), withKid(options, jwk.kid));
    }
    if (jwk.kty === 'oct')
      throw new ConfigError([`${alg} takes an asymmetric key, but this JWK is a secret (kty "oct"): import it with alg 'HS256'.`]);
    return fromObjects(
      alg,
      () =>
        jwk.d === undefined ? [undefined, createPublicKey({ key: jwk, format: 'jwk' })] : privatePair(createPrivateKey({ key: jwk, format: 'jwk' })),
      withKid(options, jwk.kid),
    );
  }
  const pem = input.pem;
  if (typeof pem !== 'string') throw new ConfigError(['importKey: pem must be a string.']);
  if (alg === 'HS256') throw new ConfigError([`HS256 takes a secret, not a PEM key${pemKind(pem)}: pass { secret } for HS256.`]);
  return fromObjects(alg, () => (/PRIVATE KEY-----/.test(pem) ? privatePair(createPrivateKey(pem)) : [undefined, createPublicKey(pem)]), options);
}

/**
 * Generates the server-private HMAC key that signs refresh tokens; it is never published.
 * @example const refreshKey = await generateRefreshKey();
 */
export async function generateRefreshKey(options: Omit<KeyOptions, 'purpose'> = {}): Promise<Key> {
  return generateKey('HS256', { ...options, purpose: 'refresh' });
}

/**
 * Imports the refresh-token key from a secret of at least 32 bytes (bytes or base64url text).
 * @example const refreshKey = importRefreshKey(process.env.REFRESH_SECRET!);
 */
export function importRefreshKey(secret: Uint8Array | string, options: Omit<KeyOptions, 'purpose'> = {}): Key {
  return importKey({ alg: 'HS256', secret, ...options, purpose: 'refresh' });
}

/** The public JWK of an asymmetric key, with `kid`, `alg` and `use`; secrets are never exported this way. */
export function exportPublicJwk(key: Key): JsonWebKey {
  if (key.alg === 'HS256') throw new ConfigError([`Key ${key.kid} is an HS256 secret and has no public part to publish.`]);
  const full = key.verifyingKey.export({ format: 'jwk' });
  // Public members only, named one by one: nothing private can slip through.
  const jwk: JsonWebKey = {};
  for (const name of ['kty', 'crv', 'x', 'y', 'n', 'e'] as const) if (full[name] !== undefined) jwk[name] = full[name];
  return { ...jwk, kid: key.kid, alg: key.alg, use: 'sig' };
}

/** The full private JWK (for storing a key encrypted at rest); never publish it. */
export function exportPrivateJwk(key: Key): JsonWebKey {
  const source = key.signingKey ?? key.verifyingKey;
  const jwk = source.export({ format: 'jwk' });
  return { ...jwk, kid: key.kid, alg: key.alg };
}

function assertAlgorithm(alg: unknown): asserts alg is Algorithm {
  if (!isAlgorithm(alg)) {
    throw new ConfigError([
      `Unsupported algorithm ${JSON.stringify(alg) ?? String(alg)}: use one of EdDSA, ES256, RS256 or HS256 (there is no "none").`,
    ]);
  }
}

function withKid(options: KeyOptions, kid: unknown): KeyOptions {
  return options.kid === undefined && typeof kid === 'string' ? { ...options, kid } : options;
}

/**
 * Turns a secret into bytes. Text must be canonical base64url: PEM, JWK JSON and OpenSSH
 * public keys contain characters outside that alphabet and are refused rather than used as an
 * HMAC key (fast-jwt CVE-2023-48223, PyJWT CVE-2022-29217).
 */
function secretBytes(secret: Uint8Array | string): Buffer {
  let bytes: Buffer;
  if (typeof secret === 'string') {
    if (!isCanonicalBase64url(secret))
      throw new ConfigError([
        'An HS256 secret given as text must be base64url of at least 32 random bytes (generate one with: node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))").',
      ]);
    bytes = Buffer.from(secret, 'base64url');
  } else if (secret instanceof Uint8Array) {
    bytes = Buffer.from(secret);
  } else {
    throw new ConfigError(['An HS256 secret must be a Uint8Array or base64url text.']);
  }
  if (looksAsymmetric(bytes))
    throw new ConfigError(['The HS256 secret is asymmetric key material (PEM, DER or JWK): an HMAC key must be random bytes, never a public key.']);
  return bytes;
}

/** Whether bytes parse as a DER or PEM key, or hold a PEM/JWK/OpenSSH text: refuse them as a secret. */
function looksAsymmetric(bytes: Buffer): boolean {
  const text = bytes.toString('latin1');
  if (/-----BEGIN|ssh-(rsa|ed25519|dss)|ecdsa-sha2-|"kty"/.test(text)) return true;
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      createPublicKey({ key: bytes, format: 'der', type });
      return true;
    } catch {
      // not this form
    }
  }
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      createPrivateKey({ key: bytes, format: 'der', type });
      return true;
    } catch {
      // not this form
    }
  }
  return false;
}

function fromSecret(alg: 'HS256', bytes: Buffer, options: KeyOptions): Key {
  const secret = createSecretKey(bytes);
  const problem = keyMismatch(alg, secret);
  if (problem) throw new ConfigError([`${capitalize(problem)}.`]);
  // A stable id that reveals nothing about the secret: an HMAC of a fixed label under it.
  const kid = options.kid ?? createHmac('sha256', secret).update('tessera key id').digest().subarray(0, 12).toString('base64url');
  return new Key({ kid: checkKid(kid), alg, purpose: options.purpose ?? 'access', signingKey: secret, verifyingKey: secret });
}

function privatePair(privateKey: KeyObject): [KeyObject, KeyObject] {
  return [privateKey, createPublicKey(privateKey)];
}

function fromObjects(alg: Algorithm, make: () => [KeyObject | undefined, KeyObject], options: KeyOptions): Key {
  let pair: [KeyObject | undefined, KeyObject];
  try {
    pair = make();
  } catch (cause) {
    throw new ConfigError([
      `The ${alg} key could not be read (${cause instanceof Error ? cause.message : 'unknown format'}): pass a JWK object or a PEM text.`,
    ]);
  }
  return build(alg, pair[0], pair[1], options);
}

function build(alg: Algorithm, signingKey: KeyObject | undefined, verifyingKey: KeyObject, options: KeyOptions): Key {
  const problem = keyMismatch(alg, verifyingKey);
  if (problem) throw new ConfigError([`${capitalize(problem)}.`]);
  const purpose = options.purpose ?? 'access';
  if (purpose === 'refresh') throw new ConfigError(['A refresh-token key must be an HS256 secret: refresh tokens are read only by their issuer.']);
  return new Key({ kid: checkKid(options.kid ?? thumbprint(verifyingKey)), alg, purpose, signingKey, verifyingKey });
}

/** RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order. */
function thumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function checkKid(kid: unknown): string {
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 128 || !/^[\x21-\x7e]+$/.test(kid)) {
    throw new ConfigError(['A key id (kid) must be 1 to 128 printable ASCII characters without spaces.']);
  }
  return kid;
}

/** " (an Ed25519 key: import it with alg 'EdDSA')" for a PEM that parses, else nothing. */
function pemKind(pem: string): string {
  try {
    const key = /PRIVATE KEY-----/.test(pem) ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
    const { kind, alg } = describeKey(key);
    return ` (this one is ${kind}${alg === undefined ? '' : `: import it with alg '${alg}'`})`;
  } catch {
    return '';
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
