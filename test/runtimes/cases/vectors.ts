// The published JOSE vectors (security.md §10) through the packed library's public API: every JWK imports,
// the imported keys make and check the published signatures, and the verifier refuses the raw vectors for
// the reasons the vector suite (packages/auth/test/vectors) gives, on whichever runtime runs this.
import assert from 'node:assert/strict';
import { randomBytes, type JsonWebKey } from 'node:crypto';
import {
  ALGORITHMS,
  ConfigError,
  createKeyRing,
  createTessera,
  fixedClock,
  generateKey,
  generateRefreshKey,
  importKey,
  TesseraError,
  type Algorithm,
  type Clock,
  type Key,
  type KeyRing,
} from '@tessera/auth';
import { parts, sign, signature } from '@tessera/test-kit/forge';
import { RFC_VECTORS, type RfcVector } from '@tessera/test-kit/rfc-vectors';
import type { Case } from '../harness.js';

type Supported = RfcVector & { alg: Algorithm };

const isSupported = (v: RfcVector): v is Supported => (ALGORITHMS as readonly string[]).includes(v.alg);
const SUPPORTED = RFC_VECTORS.filter(isSupported);
const UNSUPPORTED = RFC_VECTORS.filter((v) => !isSupported(v));
/** RFC 7515 A.1–A.3 carry JWT claims with this exp (2011-03-22); the others sign plain text. */
const VECTOR_EXP = 1300819380;
/** A clock one second before VECTOR_EXP, where only the rules under test can refuse. */
const BEFORE_EXP = fixedClock((VECTOR_EXP - 1) * 1000);
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

function publicJwk(jwk: JsonWebKey): JsonWebKey {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name)));
}

/** The TesseraError code `verify` throws (it must throw one). */
function refusedWith(verify: () => unknown): string {
  try {
    verify();
  } catch (err) {
    assert.ok(err instanceof TesseraError, `not a TesseraError: ${String(err)}`);
    return err.code;
  }
  assert.fail('the token was accepted');
}

/** A Tessera access-token profile around the vector's key: at+jwt, issuer "joe", its claims if any. */
function profileToken(vector: Supported, key: Key, kid = key.kid): { token: string; claims: Record<string, unknown> } {
  const claims: Record<string, unknown> = {
    ...vector.expected_claims,
    iss: 'joe',
    aud: 'urn:tessera:api',
    sub: 'joe',
    iat: VECTOR_EXP - 600,
    nbf: VECTOR_EXP - 600,
    exp: VECTOR_EXP,
    jti: randomBytes(16).toString('base64url'),
    sid: randomBytes(16).toString('base64url'),
    type: 'access',
  };
  return { token: sign(key, { alg: vector.alg, typ: 'at+jwt', kid }, claims), claims };
}

let refreshKey: Promise<Key> | undefined;

async function verifier(keys: Key | KeyRing, clock?: Clock) {
  refreshKey ??= generateRefreshKey();
  return createTessera({ keys, refreshKey: await refreshKey, issuer: 'joe', ...(clock === undefined ? {} : { clock }) });
}

function vectorCases(vector: Supported): Case[] {
  const group = 'rfc-vectors';
  const key = () => importKey({ alg: vector.alg, jwk: vector.jwk });
  const [h, p, s] = parts(vector.token);
  const cases: Case[] = [
    {
      group,
      name: `${vector.name}: the JWK imports, its kid is its own or derived the same every time`,
      run: () => {
        const k = key();
        assert.equal(k.canSign, true);
        if (typeof vector.jwk.kid === 'string') assert.equal(k.kid, vector.jwk.kid);
        else assert.match(k.kid, /^[A-Za-z0-9_-]{16,}$/);
        assert.equal(key().kid, k.kid);
      },
    },
    {
      group,
      name: `${vector.name}: the published token is refused as an access token (typ, RFC 9068 §4)`,
      run: async () => {
        const auth = await verifier(key(), BEFORE_EXP);
        assert.equal(
          refusedWith(() => auth.verifyAccessToken(vector.token)),
          'token_invalid',
        );
      },
    },
    {
      group,
      name: `${vector.name}: a profile token signed with the imported key verifies; one changed character does not`,
      run: async () => {
        const k = key();
        const { token, claims } = profileToken(vector, k);
        const auth = await verifier(k, BEFORE_EXP);
        assert.deepEqual(auth.verifyAccessToken(token), claims);
        const [th, tp, ts] = parts(token);
        const flipped = ts.slice(0, 10) + (ts[10] === 'A' ? 'B' : 'A') + ts.slice(11);
        assert.equal(
          refusedWith(() => auth.verifyAccessToken(`${th}.${tp}.${flipped}`)),
          'token_invalid',
        );
        assert.equal(
          refusedWith(() => auth.verifyAccessToken(`${th}.${tp}.${ts}=`)),
          'token_invalid',
        );
      },
    },
  ];
  // ECDSA signatures are randomised; HMAC, RSASSA-PKCS1-v1_5 and Ed25519 are not (RFC 8032 §5.1.6).
  if (vector.alg !== 'ES256') {
    cases.push({
      group,
      name: `${vector.name}: the imported key makes the published signature byte for byte`,
      run: () => assert.equal(signature(key(), `${h}.${p}`).toString('base64url'), s),
    });
  }
  if (vector.alg !== 'HS256') {
    cases.push({
      group,
      name: `${vector.name}: its public half alone verifies (a verify-only key of a ring)`,
      run: async () => {
        const verifyOnly = importKey({ alg: vector.alg, jwk: publicJwk(vector.jwk) });
        assert.equal(verifyOnly.canSign, false);
        const ring = createKeyRing({ signing: await generateKey(vector.alg), verifyOnly: [verifyOnly] });
        const { token, claims } = profileToken(vector, key(), verifyOnly.kid);
        assert.deepEqual((await verifier(ring, BEFORE_EXP)).verifyAccessToken(token), claims);
      },
    });
  }
  if (vector.expected_claims !== undefined) {
    cases.push({
      group,
      name: `${vector.name}: with the profile around its claims, exp alone decides`,
      run: async () => {
        const k = key();
        const { token, claims } = profileToken(vector, k);
        assert.equal(claims.exp, VECTOR_EXP);
        assert.deepEqual((await verifier(k, BEFORE_EXP)).verifyAccessToken(token), claims);
        const now = await verifier(k);
        assert.equal(
          refusedWith(() => now.verifyAccessToken(token)),
          'token_expired',
        );
      },
    });
  }
  return cases;
}

/** Every case of the RFC vectors. */
export function rfcVectorCases(): Case[] {
  const group = 'rfc-vectors';
  return [
    {
      group,
      name: 'six vectors of supported algorithms, two of refused ones (PS384, ES512)',
      run: () => {
        assert.equal(SUPPORTED.length, 6);
        assert.deepEqual(
          UNSUPPORTED.map((v) => v.alg),
          ['PS384', 'ES512'],
        );
      },
    },
    ...SUPPORTED.flatMap(vectorCases),
    ...UNSUPPORTED.map((vector): Case => ({
      group,
      name: `${vector.name}: importKey refuses ${vector.alg} with a ConfigError, private or public`,
      run: () => {
        // The vector names an algorithm outside the type on purpose: callers from JavaScript can.
        assert.throws(() => importKey({ alg: vector.alg as Algorithm, jwk: vector.jwk }), ConfigError);
        assert.throws(() => importKey({ alg: vector.alg as Algorithm, jwk: publicJwk(vector.jwk) }), ConfigError);
      },
    })),
    {
      group,
      name: 'RFC7520-4.2-PS384: its key imported as RS256 does not verify the PS384 token (the key pins the algorithm)',
      run: async () => {
        const vector = UNSUPPORTED.find((v) => v.alg === 'PS384');
        assert.ok(vector);
        const auth = await verifier(importKey({ alg: 'RS256', jwk: vector.jwk }), BEFORE_EXP);
        assert.equal(
          refusedWith(() => auth.verifyAccessToken(vector.token)),
          'token_invalid',
        );
      },
    },
    {
      group,
      name: 'RFC7520-4.3-ES512: its P-521 key cannot be imported for ES256',
      run: () => {
        const vector = UNSUPPORTED.find((v) => v.alg === 'ES512');
        assert.ok(vector);
        assert.throws(() => importKey({ alg: 'ES256', jwk: vector.jwk }), ConfigError);
      },
    },
  ];
}
