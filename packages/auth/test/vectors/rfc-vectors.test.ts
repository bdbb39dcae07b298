// The published JOSE vectors (RFC 7515 A.1–A.3, RFC 8037, RFC 7520) against the token core, at the JWS
// layer and through verification with expiry set aside. Long on purpose: every vector, every check.
import { Buffer } from 'node:buffer';
import { randomBytes, type JsonWebKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { signInput } from '../../src/core/tokens/jws.js';
import { RFC_VECTORS as VECTORS, type RfcVector as Vector } from '@tessera/test-kit/rfc-vectors';
import { verifyCompactJws } from '../support/compact-jws.js';
import {
  ALGORITHMS,
  ConfigError,
  createTessera,
  fixedClock,
  generateRefreshKey,
  importKey,
  TesseraError,
  TokenExpiredError,
  TokenInvalidError,
  type Algorithm,
  type Clock,
  type Key,
} from '../../src/index.js';

type SupportedVector = Vector & { alg: Algorithm };

function isSupported(vector: Vector): vector is SupportedVector {
  return (ALGORITHMS as readonly string[]).includes(vector.alg);
}

const SUPPORTED = VECTORS.filter(isSupported);
const UNSUPPORTED = VECTORS.filter((v) => !isSupported(v));
const ASYMMETRIC = SUPPORTED.filter((v) => v.alg !== 'HS256');
// ECDSA signatures are randomised; HMAC, RSASSA-PKCS1-v1_5 and Ed25519 are not (RFC 8032 §5.1.6).
const DETERMINISTIC = SUPPORTED.filter((v) => v.alg !== 'ES256');
const RANDOMISED = SUPPORTED.filter((v) => v.alg === 'ES256');
// RFC 7515 Appendix A.1–A.3 are JWTs (claims with exp = 1300819380); the others sign plain text.
const JWT_VECTORS = SUPPORTED.filter((v) => v.name.startsWith('RFC7515-A.'));
const VECTOR_EXP = 1300819380;

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

function segments(token: string): [string, string, string] {
  const parts = token.split('.');
  expect(parts).toHaveLength(3);
  return parts as [string, string, string];
}

/** The vector's key with every private member removed: what a verifier would be given. */
function publicJwk(jwk: JsonWebKey): JsonWebKey {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name)));
}

/** `text` with the character at `index` replaced by another base64url character. */
function changeCharAt(text: string, index: number): string {
  const replacement = text[index] === 'A' ? 'B' : 'A';
  return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Another spelling of the same bytes: sets the lowest unused bit of the last character. Node's
 * decoder ignores those bits (security.md §9), so only a canonicality check can tell the two apart.
 */
function nonCanonical(segment: string): string {
  expect(segment.length % 4).not.toBe(0);
  const last = B64URL.indexOf(segment.slice(-1));
  return segment.slice(0, -1) + B64URL.charAt(last | 1);
}

function refusal(verify: () => unknown): TesseraError {
  try {
    verify();
  } catch (err) {
    expect(err).toBeInstanceOf(TesseraError);
    return err as TesseraError;
  }
  throw new Error('the token was accepted');
}

describe('RFC vectors at the JWS layer (verifyCompactJws)', () => {
  it('covers every vector: six of supported algorithms, two of unsupported ones', () => {
    expect(SUPPORTED.map((v) => v.name)).toEqual([
      'RFC7515-A.1-HS256',
      'RFC7515-A.2-RS256',
      'RFC7515-A.3-ES256',
      'RFC8037-A.4-EdDSA-Ed25519',
      'RFC7520-4.1-RS256',
      'RFC7520-4.4-HS256',
    ]);
    expect(UNSUPPORTED.map((v) => v.alg)).toEqual(['PS384', 'ES512']);
  });

  describe.each(SUPPORTED.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const [header, payload, signature] = segments(vector.token);
    let key: Key;
    beforeAll(() => {
      key = importKey({ alg: vector.alg, jwk: vector.jwk });
    });

    it('verifies, and the payload is exactly the published bytes', () => {
      const result = verifyCompactJws(vector.token, key);
      expect(result).toBeDefined();
      expect(result?.payload.equals(Buffer.from(vector.expected_payload, 'utf8'))).toBe(true);
      expect(result?.header).toEqual(vector.expected_header);
      // The A.1–A.3 claims carry CRLFs: the bytes are compared above; their parse is the published claims.
      if (vector.expected_claims !== undefined) expect(JSON.parse(result?.payload.toString('utf8') ?? '')).toEqual(vector.expected_claims);
    });

    it('takes its kid from the JWK, or derives one that is the same on every import', () => {
      if (typeof vector.jwk.kid === 'string') expect(key.kid).toBe(vector.jwk.kid);
      else expect(key.kid).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      expect(importKey({ alg: vector.alg, jwk: vector.jwk }).kid).toBe(key.kid);
      expect(key.canSign).toBe(true);
    });

    it.each([
      ['header', 0],
      ['payload', 1],
      ['signature', 2],
    ] as const)('fails when one character of the %s changes', (_segment, which) => {
      const parts: [string, string, string] = [header, payload, signature];
      const target = parts[which];
      // A middle character: every one of its bits is used, so the decoded bytes really change.
      parts[which] = changeCharAt(target, Math.floor(target.length / 2));
      expect(Buffer.from(parts[which], 'base64url').equals(Buffer.from(target, 'base64url'))).toBe(false);
      expect(verifyCompactJws(parts.join('.'), key)).toBeUndefined();
    });

    it('fails on other spellings of the same signature (padding, non-canonical last character)', () => {
      const variant = nonCanonical(signature);
      expect(Buffer.from(variant, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
      expect(verifyCompactJws(`${header}.${payload}.${variant}`, key)).toBeUndefined();
      expect(verifyCompactJws(`${vector.token}=`, key)).toBeUndefined();
    });
  });

  it.each(ASYMMETRIC.map((v) => [v.name, v] as const))('%s verifies with its public half alone', (_name, vector) => {
    const key = importKey({ alg: vector.alg, jwk: publicJwk(vector.jwk) });
    expect(key.canSign).toBe(false);
    expect(verifyCompactJws(vector.token, key)?.payload.toString('utf8')).toBe(vector.expected_payload);
  });

  it.each(DETERMINISTIC.map((v) => [v.name, v] as const))('%s: Tessera re-signs the signing input byte for byte', (_name, vector) => {
    const [header, payload, signature] = segments(vector.token);
    const key = importKey({ alg: vector.alg, jwk: vector.jwk });
    expect(signInput(key, `${header}.${payload}`).toString('base64url')).toBe(signature);
  });

  it.each(RANDOMISED.map((v) => [v.name, v] as const))('%s: a Tessera signature over the same input verifies', (_name, vector) => {
    const [header, payload, signature] = segments(vector.token);
    const key = importKey({ alg: vector.alg, jwk: vector.jwk });
    const ours = signInput(key, `${header}.${payload}`);
    // The 64-octet R‖S form of RFC 7518 §3.4, not DER.
    expect(ours).toHaveLength(64);
    // A fresh nonce per signature: equality would mean the published signature was echoed back.
    expect(ours.toString('base64url')).not.toBe(signature);
    const verifier = importKey({ alg: vector.alg, jwk: publicJwk(vector.jwk) });
    expect(verifyCompactJws(`${header}.${payload}.${ours.toString('base64url')}`, verifier)?.payload.toString('utf8')).toBe(vector.expected_payload);
  });

  describe.each(UNSUPPORTED.map((v) => [v.name, v] as const))('%s (unsupported algorithm)', (_name, vector) => {
    it('importKey refuses the algorithm with a ConfigError', () => {
      // The vector names an algorithm outside the type on purpose: callers from JavaScript or config files can.
      expect(() => importKey({ alg: vector.alg as Algorithm, jwk: vector.jwk })).toThrow(ConfigError);
      expect(() => importKey({ alg: vector.alg as Algorithm, jwk: publicJwk(vector.jwk) })).toThrow(ConfigError);
    });
  });

  it('the PS384 key imported for RS256 does not verify the PS384 token: the key pins the algorithm', () => {
    const vector = UNSUPPORTED.find((v) => v.alg === 'PS384')!;
    const key = importKey({ alg: 'RS256', jwk: vector.jwk });
    expect(verifyCompactJws(vector.token, key)).toBeUndefined();
  });

  it('the ES512 key (P-521) cannot be imported for ES256', () => {
    const vector = UNSUPPORTED.find((v) => v.alg === 'ES512')!;
    expect(() => importKey({ alg: 'ES256', jwk: vector.jwk })).toThrow(ConfigError);
  });
});

/*
 * The RFC 7515 A.1–A.3 tokens are valid JWS but not Tessera access tokens. TokenVerifier checks, in
 * order: compact form → header (refused members, alg allowlist, kid → key, alg = key's alg, typ) →
 * signature → kind → claims (type, exp/iat present, iss, aud, sub, jti, sid, lifetime) → time.
 * Their headers carry typ "JWT" (A.1) or no typ at all (A.2, A.3), so the explicit-typing rule
 * (RFC 9068 §4 step 1) refuses them while the header is resolved, as token_invalid, before the
 * signature is checked and long before exp is read: the code is token_invalid, not token_expired,
 * whatever the clock says. (Without a kid they still find their key: the ring holds that one key.)
 */
describe('RFC 7515 A.1–A.3 against the access-token verifier', () => {
  let refreshKey: Key;
  beforeAll(async () => {
    refreshKey = await generateRefreshKey();
  });

  function verifierFor(vector: SupportedVector, clock?: Clock) {
    const keys = importKey({ alg: vector.alg, jwk: vector.jwk });
    // issuer "joe" matches the vectors' iss, so that only the rules the test names can refuse them.
    return createTessera({ keys, refreshKey, issuer: 'joe', ...(clock === undefined ? {} : { clock }) });
  }

  it('covers A.1, A.2 and A.3', () => {
    expect(JWT_VECTORS.map((v) => v.alg)).toEqual(['HS256', 'RS256', 'ES256']);
    expect(JWT_VECTORS.every((v) => v.expected_claims?.exp === VECTOR_EXP)).toBe(true);
  });

  describe.each(JWT_VECTORS.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    it('is refused with the real clock (expired since 2011, but the typ rule fires first)', () => {
      const err = refusal(() => verifierFor(vector).verifyAccessToken(vector.token));
      expect(err).toBeInstanceOf(TokenInvalidError);
      expect(err.code).toBe('token_invalid');
    });

    it('is still refused with a clock pinned before its exp (profile rules)', () => {
      for (const at of [(VECTOR_EXP - 3600) * 1000, (VECTOR_EXP - 1) * 1000]) {
        const err = refusal(() => verifierFor(vector, fixedClock(at)).verifyAccessToken(vector.token));
        expect(err).toBeInstanceOf(TokenInvalidError);
        expect(err.code).toBe('token_invalid');
      }
    });

    it('with the profile satisfied around its claims, its exp alone decides (expired now, valid before 1300819380)', () => {
      // The same key and claims, plus the header and claims the profile requires: now only time can refuse it.
      const key = importKey({ alg: vector.alg, jwk: vector.jwk });
      const claims = {
        ...vector.expected_claims,
        aud: 'urn:tessera:api',
        sub: 'joe',
        iat: VECTOR_EXP - 600,
        nbf: VECTOR_EXP - 600,
        jti: randomBytes(16).toString('base64url'),
        sid: randomBytes(16).toString('base64url'),
        type: 'access',
      };
      const input = `${Buffer.from(JSON.stringify({ alg: vector.alg, typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      const token = `${input}.${signInput(key, input).toString('base64url')}`;

      const expired = refusal(() => verifierFor(vector).verifyAccessToken(token));
      expect(expired).toBeInstanceOf(TokenExpiredError);
      expect(expired.code).toBe('token_expired');
      expect(verifierFor(vector, fixedClock((VECTOR_EXP - 1) * 1000)).verifyAccessToken(token)).toEqual(claims);
      expect(refusal(() => verifierFor(vector, fixedClock(VECTOR_EXP * 1000)).verifyAccessToken(token)).code).toBe('token_expired');
    });
  });
});
