// Differential tests against jose, both ways: every token jose mints verifies here with the same claims,
// and every token minted here verifies in jose. Long on purpose: one table per algorithm and direction.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import * as jose from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createKeyRing,
  createTessera,
  exportPrivateJwk,
  exportPublicJwk,
  fixedClock,
  generateKey,
  generateRefreshKey,
  importKey,
  RESERVED_CLAIMS,
  TesseraError,
  type Algorithm,
  type Clock,
  type ErrorCode,
  type Key,
  type Tessera,
} from '../../src/index.js';

/*
 * Differential tests against jose, the reference implementation (docs/architecture.md "Conventions"): tokens travel both
 * ways with key material shared only as JWKs, time is frozen on both sides (Tessera's clock, jose's
 * `currentDate`), and every refusal is compared by category.
 */

const ALGS = ['EdDSA', 'ES256', 'RS256', 'HS256'] as const satisfies readonly Algorithm[];
const ISSUER = 'https://auth.example.test';
const AUDIENCE = 'https://api.example.test';
// A quarter second past a whole second: both sides must floor to the same NumericDate.
const NOW = Date.UTC(2030, 0, 15, 12, 0, 0) + 250;
const NOW_S = Math.floor(NOW / 1000);
const ACCESS_TTL = 900;

type JoseKey = jose.CryptoKey | Uint8Array;
type JoseVerifyKey = JoseKey | jose.JWTVerifyGetKey;

/** One access key as both libraries hold it. */
interface SharedKey {
  /** Who generated it. */
  origin: 'Tessera' | 'jose';
  /** Tessera's handle, able to sign. */
  tessera: Key;
  /** jose's handle of the private key or secret, for `SignJWT`. */
  joseSigning: JoseKey;
}

interface Fixture {
  alg: Algorithm;
  keys: Record<'Tessera' | 'jose', SharedKey>;
  refreshKey: Key;
  /** The public JWK jose exported for its own key pair, or its secret JWK for HS256. */
  josePublicJwk: jose.JWK;
}

const fixtures = new Map<Algorithm, Fixture>();

// Key generation (RSA above all) is the slow part: once per file, every algorithm in parallel.
beforeAll(async () => {
  await Promise.all(ALGS.map(async (alg) => fixtures.set(alg, await makeFixture(alg))));
});

async function makeFixture(alg: Algorithm): Promise<Fixture> {
  const [tesseraKey, refreshKey, pair] = await Promise.all([
    generateKey(alg),
    generateRefreshKey(),
    alg === 'HS256'
      ? jose.generateSecret('HS256', { extractable: true }).then((secret) => ({ privateKey: secret, publicKey: secret }))
      : jose.generateKeyPair(alg, { extractable: true }),
  ]);
  // Tessera → jose: the private JWK Tessera exports is what jose signs with.
  const tesseraInJose = await jose.importJWK(exportPrivateJwk(tesseraKey), alg);
  // jose → Tessera: jose's JWKs imported by Tessera (the private one, so that Tessera can sign with it too).
  const [josePrivateJwk, josePublicJwk] = await Promise.all([jose.exportJWK(pair.privateKey), jose.exportJWK(pair.publicKey)]);
  const joseInTessera = importKey({ alg, jwk: josePrivateJwk });
  return {
    alg,
    keys: {
      Tessera: { origin: 'Tessera', tessera: tesseraKey, joseSigning: tesseraInJose },
      jose: { origin: 'jose', tessera: joseInTessera, joseSigning: pair.privateKey },
    },
    refreshKey,
    josePublicJwk,
  };
}

function fixture(alg: Algorithm): Fixture {
  const fx = fixtures.get(alg);
  if (fx === undefined) throw new Error(`no fixture for ${alg}`);
  return fx;
}

/**
 * A Tessera that signs with `signer` and also holds the fixture's other key, verify-only: a
 * resource server that knows both keys, so a token of either origin must find its key by `kid`.
 */
function tesseraFor(fx: Fixture, signer: SharedKey, options: { clock?: Clock; issuer?: string; audience?: string } = {}): Tessera {
  const other = signer.origin === 'Tessera' ? fx.keys.jose : fx.keys.Tessera;
  return createTessera({
    keys: createKeyRing({ signing: signer.tessera, verifyOnly: [other.tessera.verifyOnly()] }),
    refreshKey: fx.refreshKey,
    issuer: options.issuer ?? ISSUER,
    audience: options.audience ?? AUDIENCE,
    accessTtl: ACCESS_TTL,
    clock: options.clock ?? fixedClock(NOW),
  });
}

/** What jose verifies Tessera's access tokens with: the published JWKS, or the shared secret for HS256. */
async function joseVerifierFor(fx: Fixture, auth: Tessera, signer: SharedKey): Promise<JoseVerifyKey> {
  if (fx.alg !== 'HS256') return jose.createLocalJWKSet(auth.jwks());
  return jose.importJWK(exportPrivateJwk(signer.tessera), 'HS256');
}

function joseOptions(alg: Algorithm, at = NOW): jose.JWTVerifyOptions {
  return {
    algorithms: [alg],
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: 'at+jwt',
    maxTokenAge: `${ACCESS_TTL}s`,
    requiredClaims: ['sub', 'iat', 'nbf', 'exp', 'jti', 'sid'],
    currentDate: new Date(at),
  };
}

function randomId(): string {
  return randomBytes(16).toString('base64url');
}

/** The Tessera access-token claim set, minted by hand for jose to sign. */
function claimSet(extra: jose.JWTPayload = {}, at = NOW_S): jose.JWTPayload {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-42',
    iat: at,
    nbf: at,
    exp: at + ACCESS_TTL,
    jti: randomId(),
    sid: randomId(),
    type: 'access',
    ...extra,
  };
}

function joseMint(alg: Algorithm, key: SharedKey, claims: jose.JWTPayload, header: Partial<jose.JWTHeaderParameters> = {}): Promise<string> {
  return new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt', kid: key.tessera.kid, ...header }).sign(key.joseSigning);
}

/** The Tessera error code a call ends with, or 'accepted'. */
function tesseraVerdict(verify: () => unknown): ErrorCode | 'accepted' {
  try {
    verify();
    return 'accepted';
  } catch (err) {
    if (err instanceof TesseraError) return err.code;
    throw err;
  }
}

/** jose's error code (with the claim it names, if any), or 'accepted'. */
async function joseVerdict(verify: () => Promise<unknown>): Promise<string> {
  try {
    await verify();
    return 'accepted';
  } catch (err) {
    if (err instanceof jose.errors.JWTClaimValidationFailed) return `${err.code}:${err.claim}`;
    if (err instanceof jose.errors.JOSEError) return err.code;
    throw err;
  }
}

/** The Tessera category a jose refusal belongs to: expired, not yet valid, or invalid. */
function category(joseCode: string): ErrorCode | 'accepted' {
  if (joseCode === 'accepted') return 'accepted';
  if (joseCode === 'ERR_JWT_EXPIRED') return 'token_expired';
  if (joseCode === 'ERR_JWT_CLAIM_VALIDATION_FAILED:nbf' || joseCode === 'ERR_JWT_CLAIM_VALIDATION_FAILED:iat') return 'token_not_yet_valid';
  return 'token_invalid';
}

/** The token with its signature's first byte flipped: still canonical base64url, no longer valid. */
function withAlteredSignature(token: string): string {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  signature[0] = (signature[0] ?? 0) ^ 0x01;
  return `${token.slice(0, dot + 1)}${signature.toString('base64url')}`;
}

/** The token with its claims replaced (re-encoded) under the original signature. */
function withReplacedClaims(token: string, claims: jose.JWTPayload): string {
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

const ORIGINS = ['Tessera', 'jose'] as const;
const CASES = ALGS.flatMap((alg) => ORIGINS.map((origin) => [alg, origin] as const));

describe('key material shared as JWKs', () => {
  it.each(ALGS.filter((alg) => alg !== 'HS256'))('%s: both default kids are the RFC 7638 thumbprint jose computes', async (alg) => {
    const fx = fixture(alg);
    expect(fx.keys.Tessera.tessera.kid).toBe(await jose.calculateJwkThumbprint(exportPublicJwk(fx.keys.Tessera.tessera)));
    expect(fx.keys.jose.tessera.kid).toBe(await jose.calculateJwkThumbprint(fx.josePublicJwk));
  });

  it.each(ALGS.filter((alg) => alg !== 'HS256'))('%s: jose reads the published JWKS, which holds public members only', async (alg) => {
    const fx = fixture(alg);
    const jwks = tesseraFor(fx, fx.keys.Tessera).jwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual([fx.keys.Tessera.tessera.kid, fx.keys.jose.tessera.kid]);
    for (const jwk of jwks.keys) {
      expect(Object.keys(jwk).filter((name) => ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'].includes(name))).toEqual([]);
      expect(jwk).toMatchObject({ alg, use: 'sig' });
      await expect(jose.importJWK(jwk, alg)).resolves.toBeDefined();
    }
    // Tessera republishes jose's public key member for member.
    expect(jwks.keys[1]).toMatchObject(fx.josePublicJwk);
  });

  it.each(ALGS.filter((alg) => alg !== 'HS256').flatMap((alg) => ORIGINS.map((origin) => [alg, origin] as const)))(
    '%s, %s-generated key: jose verifies with the public JWK alone (exportPublicJwk, or the one jose exported)',
    async (alg, origin) => {
      const fx = fixture(alg);
      const signer = fx.keys[origin];
      const issued = tesseraFor(fx, signer).createAccessToken({ sub: 'user-42' });
      const publicKey = await jose.importJWK(origin === 'Tessera' ? exportPublicJwk(signer.tessera) : fx.josePublicJwk, alg);
      expect((await jose.jwtVerify(issued.token, publicKey, joseOptions(alg))).payload).toEqual(issued.claims);
    },
  );

  it('HS256 keys are never published', () => {
    const fx = fixture('HS256');
    expect(tesseraFor(fx, fx.keys.Tessera).jwks()).toEqual({ keys: [] });
  });
});

describe.each(CASES)('%s with a %s-generated key', (alg, origin) => {
  describe('jose mints, Tessera verifies', () => {
    const variants: [string, jose.JWTPayload][] = [
      ['the bare claim set', {}],
      ['fresh: true', { fresh: true }],
      ['fresh: false', { fresh: false }],
      ['custom claims', { role: 'admin', scopes: ['read', 'write'], tenant: { id: 7, name: 'Ünïcödé ✓' }, ratio: 0.25, none: null }],
      ['an audience list that includes ours', { aud: ['https://other.example.test', AUDIENCE] }],
      ['a CSRF value (cookie transport)', { csrf: randomId() }],
    ];

    it.each(variants)('%s: same claims on both sides', async (_name, extra) => {
      const fx = fixture(alg);
      const signer = fx.keys[origin];
      const claims = claimSet(extra);
      const token = await joseMint(alg, signer, claims);
      // Both instances: the one that signs with this key and the one that holds it verify-only.
      for (const auth of [tesseraFor(fx, fx.keys.Tessera), tesseraFor(fx, fx.keys.jose)]) expect(auth.verifyAccessToken(token)).toEqual(claims);
      // jose agrees on the token it made, under the same rules.
      expect((await jose.jwtVerify(token, await joseVerifierFor(fx, tesseraFor(fx, signer), signer), joseOptions(alg))).payload).toEqual(claims);
    });
  });

  describe('Tessera mints, jose verifies', () => {
    it('createAccessToken: jose accepts it with the same claims and header', async () => {
      const fx = fixture(alg);
      const signer = fx.keys[origin];
      const auth = tesseraFor(fx, signer);
      const issued = auth.createAccessToken({ sub: 'user-42', fresh: true, claims: { role: 'admin', scopes: ['read'] } });
      const { payload, protectedHeader } = await jose.jwtVerify(issued.token, await joseVerifierFor(fx, auth, signer), joseOptions(alg));
      expect(protectedHeader).toEqual({ alg, typ: 'at+jwt', kid: signer.tessera.kid });
      expect(payload).toEqual(issued.claims);
      expect(payload).toEqual(auth.verifyAccessToken(issued.token));
      expect(payload).toMatchObject({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'user-42',
        iat: NOW_S,
        nbf: NOW_S,
        exp: NOW_S + ACCESS_TTL,
        type: 'access',
        fresh: true,
      });
    });

    it('createTokenPair: the access token verifies in jose with the same claims, sid and csrf', async () => {
      const fx = fixture(alg);
      const signer = fx.keys[origin];
      const auth = tesseraFor(fx, signer);
      const pair = auth.createTokenPair({ sub: 1234, csrf: true, accessTtl: '5m' });
      const { payload } = await jose.jwtVerify(pair.access.token, await joseVerifierFor(fx, auth, signer), joseOptions(alg));
      expect(payload).toEqual(pair.access.claims);
      expect(payload).toMatchObject({ sub: '1234', sid: pair.sid, csrf: pair.csrf, fresh: false, exp: NOW_S + 300 });
    });
  });

  describe('refusals agree', () => {
    const badClaims: [string, (claims: jose.JWTPayload) => jose.JWTPayload, string, ErrorCode][] = [
      ['wrong audience', (c) => ({ ...c, aud: 'https://elsewhere.example.test' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED:aud', 'token_invalid'],
      [
        'audience list without ours',
        (c) => ({ ...c, aud: ['https://a.example.test', 'https://b.example.test'] }),
        'ERR_JWT_CLAIM_VALIDATION_FAILED:aud',
        'token_invalid',
      ],
      ['wrong issuer', (c) => ({ ...c, iss: 'https://evil.example.test' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED:iss', 'token_invalid'],
      ['issuer differing only in case', (c) => ({ ...c, iss: ISSUER.toUpperCase() }), 'ERR_JWT_CLAIM_VALIDATION_FAILED:iss', 'token_invalid'],
      ['expired', (c) => ({ ...c, iat: NOW_S - 1000, nbf: NOW_S - 1000, exp: NOW_S - 100 }), 'ERR_JWT_EXPIRED', 'token_expired'],
      [
        'expiring this very second',
        (c) => ({ ...c, iat: NOW_S - ACCESS_TTL, nbf: NOW_S - ACCESS_TTL, exp: NOW_S }),
        'ERR_JWT_EXPIRED',
        'token_expired',
      ],
      ['not valid before a later time', (c) => ({ ...c, nbf: NOW_S + 60 }), 'ERR_JWT_CLAIM_VALIDATION_FAILED:nbf', 'token_not_yet_valid'],
      ['issued in the future', (c) => ({ ...c, iat: NOW_S + 60 }), 'ERR_JWT_CLAIM_VALIDATION_FAILED:iat', 'token_not_yet_valid'],
    ];

    it.each(badClaims)('jose-minted, %s', async (_name, change, joseCode, tesseraCode) => {
      const fx = fixture(alg);
      const signer = fx.keys[origin];
      const auth = tesseraFor(fx, signer);
      const token = await joseMint(alg, signer, change(claimSet()));
      expect(await joseVerdict(async () => jose.jwtVerify(token, await joseVerifierFor(fx, auth, signer), joseOptions(alg)))).toBe(joseCode);
      expect(tesseraVerdict(() => auth.verifyAccessToken(token))).toBe(tesseraCode);
      expect(category(joseCode)).toBe(tesseraCode);
    });

    const badTokens: [string, (fx: Fixture, signer: SharedKey) => Promise<string>, string, ErrorCode][] = [
      [
        'signature altered',
        async (fx, s) => withAlteredSignature(await joseMint(fx.alg, s, claimSet())),
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        'token_invalid',
      ],
      [
        'claims altered after signing',
        async (fx, s) => withReplacedClaims(await joseMint(fx.alg, s, claimSet()), claimSet({ sub: 'admin' })),
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        'token_invalid',
      ],
      [
        "signed by the other key under this key's kid",
        (fx, s) => joseMint(fx.alg, s.origin === 'Tessera' ? fx.keys.jose : fx.keys.Tessera, claimSet(), { kid: s.tessera.kid }),
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        'token_invalid',
      ],
      [
        'typ JWT instead of at+jwt',
        (fx, s) => joseMint(fx.alg, s, claimSet(), { typ: 'JWT' }),
        'ERR_JWT_CLAIM_VALIDATION_FAILED:typ',
        'token_invalid',
      ],
    ];

    it.each(badTokens)('jose-minted, %s', async (_name, make, joseCode, tesseraCode) => {
      const fx = fixture(alg);
      const signer = fx.keys[origin];
      const auth = tesseraFor(fx, signer);
      const token = await make(fx, signer);
      expect(await joseVerdict(async () => jose.jwtVerify(token, await joseVerifierFor(fx, auth, signer), joseOptions(alg)))).toBe(joseCode);
      expect(tesseraVerdict(() => auth.verifyAccessToken(token))).toBe(tesseraCode);
      expect(category(joseCode)).toBe(tesseraCode);
    });

    it('typ spellings: both accept the media-type forms of at+jwt (RFC 9068 §2.1) and refuse the rest', async () => {
      const fx = fixture(alg);
      const signer = fx.keys[origin];
      const auth = tesseraFor(fx, signer);
      const verifier = await joseVerifierFor(fx, auth, signer);
      const verdicts: Record<string, string> = {};
      for (const typ of [
        'at+jwt',
        'AT+JWT',
        'application/at+jwt',
        'Application/At+JWT',
        'JWT',
        'jwt',
        'rt+jwt',
        'application/jwt',
        'at+jwt ',
        'xat+jwt',
      ]) {
        const token = await joseMint(alg, signer, claimSet(), { typ });
        const fromJose = category(await joseVerdict(() => jose.jwtVerify(token, verifier, joseOptions(alg))));
        expect(
          tesseraVerdict(() => auth.verifyAccessToken(token)),
          typ,
        ).toBe(fromJose);
        verdicts[typ] = fromJose;
      }
      // Not a vacuous agreement: the first four pass, the others fail.
      expect(Object.values(verdicts).filter((v) => v === 'accepted')).toHaveLength(4);
    });

    it('Tessera-minted, past its exp: jose says expired, Tessera says token_expired', async () => {
      const fx = fixture(alg);
      const signer = fx.keys[origin];
      const clock = fixedClock(NOW);
      const auth = tesseraFor(fx, signer, { clock });
      const { token, claims } = auth.createAccessToken({ sub: 'user-42' });
      const verifier = await joseVerifierFor(fx, auth, signer);
      expect(tesseraVerdict(() => auth.verifyAccessToken(token))).toBe('accepted');
      const at = claims.exp * 1000;
      clock.set(at);
      expect(await joseVerdict(() => jose.jwtVerify(token, verifier, joseOptions(alg, at)))).toBe('ERR_JWT_EXPIRED');
      expect(tesseraVerdict(() => auth.verifyAccessToken(token))).toBe('token_expired');
    });

    it.each([
      ['issuer', { issuer: 'https://other-issuer.example.test' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED:iss'],
      ['audience', { audience: 'https://other-api.example.test' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED:aud'],
    ] as const)('Tessera-minted for another %s: both refuse', async (_name, options, joseCode) => {
      const fx = fixture(alg);
      const signer = fx.keys[origin];
      const auth = tesseraFor(fx, signer);
      const { token } = tesseraFor(fx, signer, options).createAccessToken({ sub: 'user-42' });
      expect(await joseVerdict(async () => jose.jwtVerify(token, await joseVerifierFor(fx, auth, signer), joseOptions(alg)))).toBe(joseCode);
      expect(tesseraVerdict(() => auth.verifyAccessToken(token))).toBe('token_invalid');
    });

    it('Tessera-minted, signature altered: both refuse', async () => {
      const fx = fixture(alg);
      const signer = fx.keys[origin];
      const auth = tesseraFor(fx, signer);
      const token = withAlteredSignature(auth.createAccessToken({ sub: 'user-42' }).token);
      expect(await joseVerdict(async () => jose.jwtVerify(token, await joseVerifierFor(fx, auth, signer), joseOptions(alg)))).toBe(
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
      expect(tesseraVerdict(() => auth.verifyAccessToken(token))).toBe('token_invalid');
    });
  });

  it('refresh tokens do not verify against the published JWKS: their kid is not in it', async () => {
    const fx = fixture(alg);
    const auth = tesseraFor(fx, fx.keys[origin]);
    const pair = auth.createTokenPair({ sub: 'user-42' });
    const jwks = auth.jwks();
    const resolver = jose.createLocalJWKSet(jwks);
    expect(jwks.keys.map((k) => k.kid)).not.toContain(fx.refreshKey.kid);
    // Asked for the refresh kid under any asymmetric algorithm, jose's JWKS resolver finds no key.
    expect(await joseVerdict(() => resolver({ alg: alg === 'HS256' ? 'EdDSA' : alg, kid: fx.refreshKey.kid }))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    // Given the token itself, it refuses even earlier: a JWKS serves no HS256 key, and refresh tokens are HS256.
    // (aud = iss and typ rt+jwt: the options a refresh token would otherwise satisfy.)
    const options: jose.JWTVerifyOptions = { issuer: ISSUER, audience: ISSUER, typ: 'rt+jwt', currentDate: new Date(NOW) };
    expect(await joseVerdict(() => jose.jwtVerify(pair.refresh.token, resolver, options))).toBe('ERR_JOSE_NOT_SUPPORTED');
    expect(tesseraVerdict(() => auth.verifyAccessToken(pair.refresh.token))).toBe('token_type_invalid');
  });
});

it.each(ORIGINS)('HS256 (%s-generated access key): refresh tokens do not verify under the access secret either', async (origin) => {
  const fx = fixture('HS256');
  const auth = tesseraFor(fx, fx.keys[origin]);
  const { refresh } = auth.createTokenPair({ sub: 'user-42' });
  const secret = await jose.importJWK(exportPrivateJwk(fx.keys[origin].tessera), 'HS256');
  const options: jose.JWTVerifyOptions = { issuer: ISSUER, audience: ISSUER, typ: 'rt+jwt', currentDate: new Date(NOW) };
  expect(await joseVerdict(() => jose.jwtVerify(refresh.token, secret, options))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  // The control: under the refresh secret (which never leaves the server) the same token verifies.
  const refreshSecret = await jose.importJWK(exportPrivateJwk(fx.refreshKey), 'HS256');
  expect((await jose.jwtVerify(refresh.token, refreshSecret, options)).payload).toEqual(refresh.claims);
});

describe('properties', () => {
  // Any code point, and now and then a lone surrogate (JSON.stringify escapes it; both sides must parse it back).
  const unit = fc.oneof(
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 9 },
    { arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)), weight: 1 },
  );
  // Any JSON-safe value under any name Tessera does not reserve.
  const claimName = fc.string({ unit, minLength: 1, maxLength: 12 }).filter((name) => !RESERVED_CLAIMS.has(name) && name !== '__proto__');
  const customClaims = fc
    .dictionary(claimName, fc.jsonValue({ maxDepth: 3, stringUnit: unit }), { maxKeys: 6 })
    // JSON-safe: jsonValue can yield -0, which JSON spells 0; keep the value JSON carries.
    .map((claims) => JSON.parse(JSON.stringify(claims)) as Record<string, fc.JsonValue>)
    // Tessera refuses to mint tokens near 4 KB (cookie limit): keep the claims well under it.
    .filter((claims) => Buffer.byteLength(JSON.stringify(claims)) < 1200);

  it.each(ALGS)('%s: random custom claims round-trip identically both ways', async (alg) => {
    const fx = fixture(alg);
    const signer = fx.keys.Tessera;
    const auth = tesseraFor(fx, signer);
    const verifier = await joseVerifierFor(fx, auth, signer);
    await fc.assert(
      fc.asyncProperty(customClaims, async (custom) => {
        // Tessera → jose
        const issued = auth.createAccessToken({ sub: 'user-42', claims: custom });
        const { payload } = await jose.jwtVerify(issued.token, verifier, joseOptions(alg));
        expect(payload).toEqual(issued.claims);
        expect(Object.fromEntries(Object.entries(payload).filter(([name]) => !RESERVED_CLAIMS.has(name)))).toEqual(custom);
        // jose → Tessera
        const claims = claimSet(custom);
        const token = await joseMint(alg, signer, claims);
        expect(auth.verifyAccessToken(token)).toEqual(claims);
      }),
      { numRuns: 40 },
    );
  });

  it.each(ALGS)('%s: at any instant around the lifetime, jose and Tessera give the same verdict', async (alg) => {
    const fx = fixture(alg);
    const signer = fx.keys.jose;
    const clock = fixedClock(NOW);
    const auth = tesseraFor(fx, signer, { clock });
    const verifier = await joseVerifierFor(fx, auth, signer);
    const tesseraToken = auth.createAccessToken({ sub: 'user-42' }).token;
    const joseToken = await joseMint(alg, signer, claimSet());
    const start = NOW_S * 1000;
    const end = (NOW_S + ACCESS_TTL) * 1000;
    // Offsets from the token's iat, in ms: the edges (±1 ms around iat and exp) and anywhere near them.
    const instant = fc.oneof(
      fc.constantFrom(-1, 0, 1, 999, end - start - 1, end - start, end - start + 1),
      fc.integer({ min: -5_000, max: end - start + 5_000 }),
    );
    await fc.assert(
      fc.asyncProperty(instant, async (offset) => {
        const at = start + offset;
        clock.set(at);
        for (const token of [tesseraToken, joseToken]) {
          const fromJose = category(await joseVerdict(() => jose.jwtVerify(token, verifier, joseOptions(alg, at))));
          expect(tesseraVerdict(() => auth.verifyAccessToken(token))).toBe(fromJose);
          expect(fromJose).toBe(offset < 0 ? 'token_not_yet_valid' : at < end ? 'accepted' : 'token_expired');
        }
      }),
      { numRuns: 60 },
    );
  });
});
