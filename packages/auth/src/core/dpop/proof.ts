import { Buffer } from 'node:buffer';
import { constants, createHash, createPublicKey, verify as cryptoVerify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { decodeBase64url, encodeBase64url, isCanonicalBase64url } from '../../internal/base64url.js';
import { parseJsonObject, type JsonObject } from '../../internal/json.js';
import { stringsEqual } from '../../internal/timing-safe.js';
import { InvalidDpopProofError, UseDpopNonceError } from '../errors.js';
import { MIN_RSA_BITS } from '../keys/algorithms.js';
import { jwkThumbprint } from './thumbprint.js';

/**
 * The asymmetric algorithms a DPoP proof may be signed with; never `none` nor an HMAC (RFC 9449 §4.2).
 * `Ed25519` is RFC 9864's fully-specified name for EdDSA over Ed25519, which the `dpop` client package sends.
 */
export const DPOP_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256', 'ES384', 'RS256', 'PS256'] as const;
export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number];

/** A verified proof: the key's RFC 7638 thumbprint (`jkt`), the proof's `jti` and `iat`, and its public key. */
export interface DpopProof {
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
  readonly jwk: JsonWebKey;
}

/** How a proof's `nonce` is judged: a nonce the server issued lately, and the one to send when it is not. */
export interface NonceCheck {
  accepts(nonce: string, nowMs: number): boolean;
  current(nowMs: number): string;
}

/** What the proof must match: the request's method and URL, the access token it comes with, the nonce rule. */
export interface DpopExpectation {
  readonly method: string;
  /** The URL of the request as the server is reached (`htu`); query and fragment are ignored. */
  readonly url: string;
  /** The access token sent with the proof: `ath` must be its hash (RFC 9449 §4.3 item 11). */
  readonly accessToken?: string | undefined;
  /** When set, the proof must carry a nonce it accepts (RFC 9449 §8, §9). */
  readonly nonce?: NonceCheck | undefined;
  /** The status of a refusal: 400 at a token endpoint (default), 401 at a guarded route (RFC 9449 §7.1). */
  readonly status?: 400 | 401;
}

/** The settings a proof is checked under: the algorithms allowed, and the clock leeway in seconds added to the ±60 s `iat` window. */
export interface DpopSettings {
  readonly algorithms: readonly DpopAlgorithm[];
  readonly leeway: number;
}

/** How far `iat` may stray from now, in seconds, before the leeway (RFC 9449 §11.1 leaves it to the server). */
export const IAT_WINDOW_SECONDS = 60;
/** Longest proof looked at: an RSA-4096 key, a long URL and a nonce fit well inside; anything longer is refused unparsed. */
export const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
const MAX_HTU_LENGTH = 4096;
const MAX_NONCE_LENGTH = 256;
const MAX_RSA_BITS = 8192;
/** Members that only a private or a symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Group orders of P-256 and P-384 (FIPS 186-4 D.1.2): ECDSA r and s must lie in [1, n−1] (CVE-2022-21449). */
const ORDER: Readonly<Record<'ES256' | 'ES384', Buffer>> = {
  ES256: Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex'),
  ES384: Buffer.from('ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973', 'hex'),
};

/**
 * Checks a DPoP proof JWT (RFC 9449 §4.3) against the request, and answers its key's thumbprint.
 * In order: size and compact form; header `typ: dpop+jwt`, an allowed asymmetric `alg`, and a public `jwk`
 * of the one key type that alg takes (the key pins the algorithm, as for access tokens); the signature;
 * then `jti`, `htm`, `htu`, `iat`, `ath` and `nonce`. Replay of `jti` is the caller's check (`DpopChecker`).
 * Throws `InvalidDpopProofError`, or `UseDpopNonceError` carrying the nonce to use.
 * @example const { jkt } = verifyDpopProof(proof, { method: 'POST', url: 'https://auth.example/oauth/token' }, { algorithms: ['ES256'], leeway: 0 }, Date.now());
 */
export function verifyDpopProof(proof: string, expect: DpopExpectation, settings: DpopSettings, nowMs: number): DpopProof {
  const status = expect.status ?? 400;
  const algs = settings.algorithms.join(' ');
  const refuse = (message: string) => new InvalidDpopProofError({ message, status, algs });
  if (typeof proof !== 'string' || proof.length === 0) throw refuse('The DPoP proof is empty');
  if (proof.length > MAX_PROOF_LENGTH) throw refuse(`The DPoP proof is longer than ${MAX_PROOF_LENGTH} characters`);
  const parts = proof.split('.');
  if (parts.length !== 3 || !parts.every(isCanonicalBase64url)) throw refuse('The DPoP proof is not a compact JWS of three base64url parts');
  const [headerText, payloadText, signatureText] = parts as [string, string, string];
  const header = parseJsonObject(decodeBase64url(headerText));
  if (header === undefined) throw refuse('The DPoP proof header is not a JSON object');

  // RFC 9449 §4.2: typ dpop+jwt keeps an access token or an ID token from passing as a proof.
  if (header.typ !== 'dpop+jwt') throw refuse('The DPoP proof header must have typ "dpop+jwt"');
  if (header.crit !== undefined) throw refuse('The DPoP proof header names critical extensions this server does not understand');
  const alg = header.alg;
  if (!isDpopAlgorithm(alg)) throw refuse(`The DPoP proof alg must be one of ${settings.algorithms.join(', ')}`);
  if (!settings.algorithms.includes(alg)) throw refuse(`The DPoP proof alg ${alg} is not allowed here; use one of ${settings.algorithms.join(', ')}`);
  const { key, jkt, jwk } = publicKey(header.jwk, alg, refuse);

  const input = `${headerText}.${payloadText}`;
  if (!signatureValid(alg, key, input, decodeBase64url(signatureText))) throw refuse('The DPoP proof signature does not verify with its jwk');

  const payload = parseJsonObject(decodeBase64url(payloadText));
  if (payload === undefined) throw refuse('The DPoP proof payload is not a JSON object');
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH)
    throw refuse(`The DPoP proof needs a jti of 1 to ${MAX_JTI_LENGTH} characters`);
  if (payload.htm !== expect.method) throw refuse(`The DPoP proof htm does not match the request method ${expect.method}`);
  const htu = payload.htu;
  if (typeof htu !== 'string' || htu.length > MAX_HTU_LENGTH) throw refuse('The DPoP proof needs an htu string');
  const wanted = normalizeHtu(expect.url);
  if (wanted === undefined || normalizeHtu(htu) !== wanted) throw refuse('The DPoP proof htu does not match the request URL');
  const iat = payload.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw refuse('The DPoP proof needs a numeric iat');
  const window = IAT_WINDOW_SECONDS + settings.leeway;
  if (Math.abs(nowMs / 1000 - iat) > window) throw refuse(`The DPoP proof iat is more than ${window} s away from the server's time`);
  if (expect.accessToken !== undefined) checkAth(payload, expect.accessToken, refuse);
  if (expect.nonce !== undefined) {
    const nonce = payload.nonce;
    if (typeof nonce !== 'string' || nonce.length > MAX_NONCE_LENGTH || !expect.nonce.accepts(nonce, nowMs)) {
      throw new UseDpopNonceError({
        message: nonce === undefined ? 'The DPoP proof must carry the server nonce' : 'The DPoP proof nonce is stale or unknown',
        nonce: expect.nonce.current(nowMs),
        status,
        algs,
      });
    }
  }
  return { jkt, jti, iat, jwk };
}

/** Exact, case-sensitive allowlist check: `none`, `HS256` and every other spelling fall through (RFC 8725 §3.1). */
export function isDpopAlgorithm(value: unknown): value is DpopAlgorithm {
  return value === 'EdDSA' || value === 'Ed25519' || value === 'ES256' || value === 'ES384' || value === 'RS256' || value === 'PS256';
}

/**
 * The `htu` form of a URL (RFC 9449 §4.3 item 9, RFC 3986 §6.2.2–§6.2.3): scheme and host in lower
 * case, a default port dropped, dot segments removed, percent-encoding normalised, no query, no fragment,
 * an empty path as `/`; undefined when it is not an absolute http(s) URL. `URL` does the rest of the
 * syntax-based normalisation.
 * @example normalizeHtu('HTTPS://Auth.Example:443/oauth/token?x=1') // 'https://auth.example/oauth/token'
 */
export function normalizeHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return undefined;
  return `${url.protocol}//${url.host}${url.pathname.replace(/%[0-9A-Fa-f]{2}/g, percentEncoding)}`;
}

/** RFC 3986 §6.2.2.1–§6.2.2.2 (which `URL` leaves alone): an unreserved character decoded, any other octet's hex in upper case. */
function percentEncoding(escape: string): string {
  const char = String.fromCharCode(Number.parseInt(escape.slice(1), 16));
  return /^[A-Za-z0-9._~-]$/.test(char) ? char : escape.toUpperCase();
}

/** `ath`: base64url of the SHA-256 of the access token's ASCII (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return encodeBase64url(createHash('sha256').update(accessToken, 'latin1').digest());
}

function checkAth(payload: JsonObject, accessToken: string, refuse: (message: string) => InvalidDpopProofError): void {
  const ath = payload.ath;
  if (typeof ath !== 'string') throw refuse('The DPoP proof must carry ath, the hash of the access token it is sent with');
  if (!stringsEqual(ath, accessTokenHash(accessToken))) throw refuse('The DPoP proof ath does not match the access token');
}

/** Keys imported lately, by thumbprint input: a client sends the same key on every request, and an import costs more than a hash. */
const KEYS = new Map<string, { key: KeyObject; jkt: string; jwk: JsonWebKey }>();
const KEY_CACHE_SIZE = 1024;

/**
 * The proof's `jwk` as a verifying key, checked: an object, public members only (a private key in a
 * header is a client bug that leaked the key; `oct` is a secret), the one key type and curve `alg`
 * takes, `alg` and `use` consistent when present, sizes in bounds. Only the public members reach
 * `createPublicKey`.
 */
function publicKey(
  value: unknown,
  alg: DpopAlgorithm,
  refuse: (message: string) => InvalidDpopProofError,
): { key: KeyObject; jkt: string; jwk: JsonWebKey } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse('The DPoP proof header must carry the public key as jwk');
  const jwk = value as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member)))
    throw refuse('The DPoP proof jwk carries private or symmetric key material; send the public key only');
  if (jwk.alg !== undefined && jwk.alg !== alg) throw refuse('The DPoP proof jwk names another alg than the header');
  if (jwk.use !== undefined && jwk.use !== 'sig') throw refuse('The DPoP proof jwk is not a signing key');
  const picked = pick(jwk, alg);
  if (picked === undefined) throw refuse(`The DPoP proof alg ${alg} takes ${WANTED[alg]}, and the jwk is not one`);
  const id = JSON.stringify(picked);
  const cached = KEYS.get(id);
  if (cached !== undefined) return cached;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: picked, format: 'jwk' });
  } catch {
    throw refuse('The DPoP proof jwk is not a valid public key');
  }
  if (alg === 'RS256' || alg === 'PS256') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) throw refuse(`The DPoP proof RSA key must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`);
  }
  const entry = { key, jkt: jwkThumbprint(picked), jwk: Object.freeze({ ...picked }) as JsonWebKey };
  if (KEYS.size >= KEY_CACHE_SIZE) KEYS.delete(KEYS.keys().next().value as string);
  KEYS.set(id, entry);
  return entry;
}

const WANTED: Readonly<Record<DpopAlgorithm, string>> = {
  EdDSA: 'an OKP Ed25519 key',
  Ed25519: 'an OKP Ed25519 key',
  ES256: 'an EC P-256 key',
  ES384: 'an EC P-384 key',
  RS256: 'an RSA key',
  PS256: 'an RSA key',
};

/** The public members of the key type `alg` takes, each a canonical base64url of the right size; undefined for any other key. */
function pick(jwk: Record<string, unknown>, alg: DpopAlgorithm): Record<string, string> | undefined {
  const b64 = (name: string, bytes?: number): string | undefined => {
    const v = jwk[name];
    if (typeof v !== 'string' || !isCanonicalBase64url(v)) return undefined;
    return bytes === undefined || Math.floor((v.length * 3) / 4) === bytes ? v : undefined;
  };
  switch (alg) {
    case 'EdDSA':
    case 'Ed25519': {
      const x = b64('x', 32);
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && x !== undefined ? { kty: 'OKP', crv: 'Ed25519', x } : undefined;
    }
    case 'ES256':
    case 'ES384': {
      const crv = alg === 'ES256' ? 'P-256' : 'P-384';
      const size = alg === 'ES256' ? 32 : 48;
      const x = b64('x', size);
      const y = b64('y', size);
      return jwk.kty === 'EC' && jwk.crv === crv && x !== undefined && y !== undefined ? { kty: 'EC', crv, x, y } : undefined;
    }
    case 'RS256':
    case 'PS256': {
      const n = b64('n');
      const e = b64('e');
      return jwk.kty === 'RSA' && n !== undefined && e !== undefined && e.length <= 8 ? { kty: 'RSA', n, e } : undefined;
    }
  }
}

/** The signature check of each algorithm; lengths first, and ECDSA only in the fixed-size IEEE P1363 form with r and s in range. */
function signatureValid(alg: DpopAlgorithm, key: KeyObject, input: string, signature: Buffer): boolean {
  const data = Buffer.from(input, 'latin1');
  switch (alg) {
    case 'EdDSA':
    case 'Ed25519':
      return signature.length === 64 && cryptoVerify(null, data, key, signature);
    case 'ES256':
    case 'ES384': {
      const size = alg === 'ES256' ? 32 : 48;
      if (signature.length !== size * 2 || !inRange(signature.subarray(0, size), ORDER[alg]) || !inRange(signature.subarray(size), ORDER[alg]))
        return false;
      return cryptoVerify(alg === 'ES256' ? 'sha256' : 'sha384', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    case 'RS256':
    case 'PS256': {
      if (signature.length !== Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8)) return false;
      if (alg === 'RS256') return cryptoVerify('sha256', data, key, signature);
      // RFC 7518 §3.5: PSS with SHA-256, MGF1 SHA-256 and a salt as long as the hash.
      return cryptoVerify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
    }
  }
}

function inRange(scalar: Buffer, order: Buffer): boolean {
  return scalar.some((b) => b !== 0) && Buffer.compare(scalar, order) < 0;
}
