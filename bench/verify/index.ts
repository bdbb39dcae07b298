// bench/verify: sign and verify ops/s of Tessera beside jose, fast-jwt, jsonwebtoken and a hand-written floor, per
// algorithm, in one process. Target (issue): Tessera's uncached verify ≥ 0.95× the floor for every algorithm.
import { Buffer } from 'node:buffer';
import { randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { ALGORITHMS, createTessera, generateKey, generateRefreshKey, type Algorithm, type Tessera } from '@tessera/auth';
import { createSigner, createVerifier } from 'fast-jwt';
import { importPKCS8, importSPKI, jwtVerify, SignJWT } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import { BenchSuite, type BenchCheck } from '../harness.js';
import { floorSigner, floorVerifier, type FloorKeys } from './floor.js';

const SUB = 'user-1042';
/** One hour, so that the one token verified all run long stays valid (a full run takes a few minutes). */
const TTL_SECONDS = 3600;
const TARGET = 0.95;

type JoseKey = Parameters<typeof jwtVerify>[1] & Parameters<SignJWT['sign']>[0];

interface Setup {
  readonly alg: Algorithm;
  readonly keys: FloorKeys;
  /** The access token every verifier is handed (minted by Tessera, Tessera claim set). */
  readonly token: string;
  readonly jti: string;
  readonly uncached: Tessera;
  readonly cached: Tessera;
  readonly jose: { readonly sign: JoseKey; readonly verify: JoseKey };
  /** fast-jwt and its key detection want PEM text (or the raw secret). */
  readonly pem: { readonly sign: string | Buffer; readonly verify: string | Buffer };
}

async function setup(alg: Algorithm): Promise<Setup> {
  const key = await generateKey(alg);
  const refreshKey = await generateRefreshKey();
  const uncached = createTessera({ keys: key, refreshKey, accessTtl: TTL_SECONDS, verifiedCacheSize: 0 });
  const cached = createTessera({ keys: key, refreshKey, accessTtl: TTL_SECONDS });
  const signingKey = key.signingKey!;
  const keys: FloorKeys = {
    alg,
    kid: key.kid,
    issuer: uncached.config.issuer,
    audience: uncached.config.audience,
    signingKey,
    verifyingKey: key.verifyingKey,
  };
  const issued = uncached.createAccessToken({ sub: SUB, fresh: true });
  return {
    alg,
    keys,
    token: issued.token,
    jti: issued.claims.jti,
    uncached,
    cached,
    jose: await joseKeys(alg, signingKey, key.verifyingKey),
    pem: pems(alg, signingKey, key.verifyingKey),
  };
}

/** jose is fastest with WebCrypto CryptoKeys (a KeyObject or raw bytes are converted on every call): give it its best. */
async function joseKeys(alg: Algorithm, signingKey: KeyObject, verifyingKey: KeyObject): Promise<Setup['jose']> {
  if (alg === 'HS256') {
    const secret = webcrypto.subtle.importKey('raw', signingKey.export(), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    const key = await secret;
    return { sign: key, verify: key };
  }
  return {
    sign: await importPKCS8(signingKey.export({ type: 'pkcs8', format: 'pem' }).toString(), alg),
    verify: await importSPKI(verifyingKey.export({ type: 'spki', format: 'pem' }).toString(), alg),
  };
}

function pems(alg: Algorithm, signingKey: KeyObject, verifyingKey: KeyObject): Setup['pem'] {
  if (alg === 'HS256') return { sign: signingKey.export(), verify: verifyingKey.export() };
  return {
    sign: signingKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    verify: verifyingKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function randomId(): string {
  return randomBytes(16).toString('base64url');
}

/** The claims a verifier returned must be those of the benchmark token: a case that skips work cannot pass. */
function verified(s: Setup, pick: (result: unknown) => unknown = (r) => r): BenchCheck {
  return (result) => {
    const claims = pick(result) as Record<string, unknown> | undefined;
    if (claims?.sub !== SUB || claims.jti !== s.jti || claims.iss !== s.keys.issuer || claims.aud !== s.keys.audience)
      throw new Error(`unexpected claims ${JSON.stringify(claims)}`);
  };
}

/** A signed token must pass Tessera's strict verifier and the floor, with the Tessera claim set. */
function signed(s: Setup): BenchCheck {
  const floor = floorVerifier(s.keys);
  return (result) => {
    if (typeof result !== 'string') throw new Error('a signer returned no string');
    const claims = s.uncached.verifyAccessToken(result);
    floor(result);
    if (claims.sub !== SUB || claims.type !== 'access' || claims.fresh !== true || claims.exp - claims.iat !== TTL_SECONDS)
      throw new Error(`unexpected claims ${JSON.stringify(claims)}`);
  };
}

function addVerify(suite: BenchSuite, s: Setup): void {
  const { alg, token, keys } = s;
  const { issuer, audience } = keys;
  const group = suite.group(`verify ${alg}`, 'floor');
  const floor = floorVerifier(keys);
  group.add('floor', () => floor(token), verified(s));
  group.add('Tessera (uncached)', () => s.uncached.verifyAccessToken(token), verified(s));
  // A cache keyed by the token string costs a hash of that string, which V8 keeps on the string object: handing
  // the same object every call would measure a lookup no server ever makes. Each request brings a new string, so
  // the cached rows get a new copy per call (~0.07 µs, included in their figures).
  const bytes = Buffer.from(token, 'latin1');
  const fresh = (): string => bytes.toString('latin1');
  group.add('Tessera (cached)', () => s.cached.verifyAccessToken(fresh()), verified(s));
  group.add(
    'jose',
    () => jwtVerify(token, s.jose.verify, { algorithms: [alg], issuer, audience, typ: 'at+jwt', requiredClaims: ['exp', 'iat'] }),
    verified(s, (r) => (r as { payload: unknown }).payload),
  );
  const fastOptions = {
    key: s.pem.verify,
    algorithms: [alg],
    allowedIss: issuer,
    allowedAud: audience,
    checkTyp: 'at+jwt',
    requiredClaims: ['exp', 'iat'],
  };
  const fast = createVerifier(fastOptions);
  const fastCached = createVerifier({ ...fastOptions, cache: true });
  group.add('fast-jwt', () => fast(token), verified(s));
  group.add('fast-jwt (cache)', () => fastCached(fresh()), verified(s));
  if (alg === 'EdDSA') group.note('jsonwebtoken 9 has no EdDSA.');
  else group.add('jsonwebtoken', () => jsonwebtoken.verify(token, keys.verifyingKey, { algorithms: [alg], issuer, audience }), verified(s));
  group.note('Cached rows: the same token, verified once, then served from the cache; each call gets a new string copy, as from a request.');
}

function addSign(suite: BenchSuite, s: Setup): void {
  const { alg, keys } = s;
  const { kid, issuer, audience } = keys;
  const group = suite.group(`sign ${alg}`, 'floor');
  const floor = floorSigner(keys, TTL_SECONDS);
  group.add('floor', () => floor(SUB), signed(s));
  group.add('Tessera', () => s.uncached.createAccessToken({ sub: SUB, fresh: true }).token, signed(s));
  group.add(
    'jose',
    () => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sid: randomId(), type: 'access', fresh: true })
        .setProtectedHeader({ alg, typ: 'at+jwt', kid })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(SUB)
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + TTL_SECONDS)
        .setJti(randomId())
        .sign(s.jose.sign);
    },
    signed(s),
  );
  const fast = createSigner({
    key: s.pem.sign,
    algorithm: alg,
    kid,
    header: { alg, typ: 'at+jwt' },
    iss: issuer,
    aud: audience,
    expiresIn: TTL_SECONDS * 1000,
  });
  group.add(
    'fast-jwt',
    () => {
      const now = Math.floor(Date.now() / 1000);
      return fast({ sub: SUB, iat: now, nbf: now, jti: randomId(), sid: randomId(), type: 'access', fresh: true });
    },
    signed(s),
  );
  if (alg === 'EdDSA') group.note('jsonwebtoken 9 has no EdDSA.');
  else
    group.add(
      'jsonwebtoken',
      () =>
        jsonwebtoken.sign({ sid: randomId(), type: 'access', fresh: true }, keys.signingKey, {
          algorithm: alg,
          keyid: kid,
          header: { alg, typ: 'at+jwt' },
          expiresIn: TTL_SECONDS,
          notBefore: 0,
          issuer,
          audience,
          subject: SUB,
          jwtid: randomId(),
        }),
      signed(s),
    );
}

const suite = new BenchSuite('verify');
const setups: Setup[] = [];
for (const alg of ALGORITHMS) setups.push(await setup(alg));
for (const s of setups) addVerify(suite, s);
for (const s of setups) addSign(suite, s);
for (const { alg } of setups) {
  suite.target({ group: `verify ${alg}`, case: 'Tessera (uncached)', atLeast: TARGET, label: `Tessera (uncached) ≥ ${TARGET}× floor` });
}
for (const { alg } of setups) {
  suite.target({ group: `sign ${alg}`, case: 'Tessera', atLeast: TARGET, label: `Tessera sign ≥ ${TARGET}× floor (no issue target)` });
}
await suite.run();
