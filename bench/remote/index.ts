// bench/remote: verify ops/s of the remote verifier (@tessera/auth/remote, JWKS fetched over HTTP) beside jose's
// createRemoteJWKSet + jwtVerify, get-jwks + fast-jwt, the node:crypto floor and the local verifier's cache, per
// algorithm, after warm-up (every JWKS fetched once before timing). Targets: the remote verify ≥ 0.95×
// the floor, and with the verified-token cache as fast as the local verifier's cache.
import { Buffer } from 'node:buffer';
import { createPublicKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTessera, generateKey, generateRefreshKey, type Algorithm, type Tessera } from '@tessera/auth';
import { createRemoteVerifier, type RemoteVerifier } from '@tessera/auth/remote';
import { createVerifier } from 'fast-jwt';
import buildGetJwks from 'get-jwks';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { BenchSuite, type BenchCheck } from '../harness.js';
import { floorVerifier, type FloorKeys } from '../verify/floor.js';

const SUB = 'user-1042';
const TTL_SECONDS = 3600;
const TARGET = 0.95;
const ALGS: readonly Exclude<Algorithm, 'HS256'>[] = ['EdDSA', 'ES256', 'RS256'];

interface Setup {
  readonly alg: Algorithm;
  readonly keys: FloorKeys;
  readonly token: string;
  readonly jti: string;
  readonly local: Tessera;
  readonly remote: RemoteVerifier;
  readonly remoteUncached: RemoteVerifier;
  readonly webcrypto: RemoteVerifier;
  readonly jwksOrigin: string;
  readonly close: () => Promise<void>;
}

/** The issuer's JWKS on a tiny static server at /.well-known/jwks.json (where get-jwks looks by default). */
async function serveJwks(body: string): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function setup(alg: Exclude<Algorithm, 'HS256'>): Promise<Setup> {
  const key = await generateKey(alg);
  const local = createTessera({ keys: key, refreshKey: await generateRefreshKey(), accessTtl: TTL_SECONDS });
  const { issuer, audience } = local.config;
  const jwks = await serveJwks(JSON.stringify(local.jwks()));
  const jwksUrl = `${jwks.origin}/.well-known/jwks.json`;
  const common = { issuer, audience, jwksUrl, maxTokenLife: TTL_SECONDS, log: false } as const;
  const issued = local.createAccessToken({ sub: SUB, fresh: true });
  return {
    alg,
    keys: { alg, kid: key.kid, issuer, audience, signingKey: key.signingKey!, verifyingKey: key.verifyingKey },
    token: issued.token,
    jti: issued.claims.jti,
    local,
    remote: createRemoteVerifier(common),
    remoteUncached: createRemoteVerifier({ ...common, verifiedCacheSize: 0, backend: 'node' }),
    webcrypto: createRemoteVerifier({ ...common, verifiedCacheSize: 0, backend: 'webcrypto' }),
    jwksOrigin: jwks.origin,
    close: jwks.close,
  };
}

function verified(s: Setup, pick: (result: unknown) => unknown = (r) => r): BenchCheck {
  return (result) => {
    const claims = pick(result) as Record<string, unknown> | undefined;
    if (claims?.sub !== SUB || claims.jti !== s.jti || claims.iss !== s.keys.issuer || claims.aud !== s.keys.audience)
      throw new Error(`unexpected claims ${JSON.stringify(claims)}`);
  };
}

async function addVerify(suite: BenchSuite, s: Setup): Promise<void> {
  const { alg, token, keys } = s;
  const { issuer, audience } = keys;
  const group = suite.group(`remote verify ${alg}`, 'floor');
  const floor = floorVerifier(keys);
  group.add('floor', () => floor(token), verified(s));
  // Warm: each verifier holds the JWKS before the first timed call.
  await Promise.all([s.remote.refresh(), s.remoteUncached.refresh(), s.webcrypto.refresh()]);
  group.add('Tessera remote (uncached)', () => s.remoteUncached.verify(token), verified(s));
  group.add('Tessera remote (webcrypto, uncached)', () => s.webcrypto.verify(token), verified(s));
  // A new string per call, as a request brings (see bench/verify): a cache lookup hashes it.
  const bytes = Buffer.from(token, 'latin1');
  const fresh = (): string => bytes.toString('latin1');
  group.add('Tessera remote (cached)', () => s.remote.verify(fresh()), verified(s));
  group.add('Tessera local (cached)', () => s.local.verifyAccessToken(fresh()), verified(s));
  const joseJwks = createRemoteJWKSet(new URL(`${s.jwksOrigin}/.well-known/jwks.json`));
  await jwtVerify(token, joseJwks, { issuer, audience });
  group.add(
    'jose createRemoteJWKSet',
    () => jwtVerify(token, joseJwks, { algorithms: [alg], issuer, audience, typ: 'at+jwt', requiredClaims: ['exp', 'iat'] }),
    verified(s, (r) => (r as { payload: unknown }).payload),
  );
  const getJwks = buildGetJwks({ max: 100, ttl: 600_000 });
  // getPublicKey converts through jwk-to-pem, which has no OKP (Ed25519): take the cached JWK and convert it once.
  const pems = new WeakMap<object, string>();
  const pemOf = (jwk: buildGetJwks.JWK): string => {
    let pem = pems.get(jwk);
    if (pem === undefined) {
      const material: Record<string, unknown> = { ...jwk };
      delete material.domain;
      pem = createPublicKey({ key: material, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
      pems.set(jwk, pem);
    }
    return pem;
  };
  const fast = createVerifier({
    key: async (decoded: { header: Record<string, unknown> }) =>
      pemOf(await getJwks.getJwk({ kid: String(decoded.header.kid), alg: String(decoded.header.alg), domain: s.jwksOrigin })),
    algorithms: [alg],
    allowedIss: issuer,
    allowedAud: audience,
    checkTyp: 'at+jwt',
    requiredClaims: ['exp', 'iat'],
  });
  await fast(token);
  group.add('get-jwks + fast-jwt', () => fast(token), verified(s));
  group.note('Every verifier fetched the JWKS once before timing (after warm-up); none fetches during the run.');
  group.note('Cached rows: one token, verified once, then served from the cache; each call gets a new string copy, as from a request.');
}

const suite = new BenchSuite('remote');
const setups: Setup[] = [];
for (const alg of ALGS) setups.push(await setup(alg));
for (const s of setups) await addVerify(suite, s);
for (const { alg } of setups) {
  suite.target({ group: `remote verify ${alg}`, case: 'Tessera remote (uncached)', atLeast: TARGET, label: `remote (uncached) ≥ ${TARGET}× floor` });
}
try {
  await suite.run();
} finally {
  await Promise.all(setups.map((s) => s.close()));
}
