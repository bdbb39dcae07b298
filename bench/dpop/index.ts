// bench/dpop: the cost of DPoP per guarded request (RFC 9449 §7.1), in one process: the same stateless guard
// (`verifyRequest`) with a Bearer token and with a DPoP-bound token and a new proof per request, each with the
// verified-token cache off and on, beside jose verifying the same proof and token (what a resource server built
// on jose would do). The `dpop` package makes proofs and has no verifier, so it is not a row.
import { Buffer } from 'node:buffer';
import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createTessera, fixedClock, generateKey, generateRefreshKey, jwkThumbprint, type Key, type Tessera } from '@tessera/auth';
import { calculateJwkThumbprint, EmbeddedJWK, importSPKI, jwtVerify } from 'jose';
import { BenchSuite, type BenchCheck } from '../harness.js';

const ISSUER = 'https://api.example';
const PATH = '/api/me';
const SUB = 'user-1042';
/** Time stands still for the guard, so proofs made before the run keep a valid `iat` however long it lasts. */
const NOW = Date.now();
/** Proofs made ahead per algorithm; a case that has used them all starts again on a new Tessera (a new replay memory). */
const POOL = 16_384;

type ProofAlg = 'ES256' | 'EdDSA';

interface Setup {
  readonly alg: ProofAlg;
  readonly accessKey: Key;
  readonly refreshKey: Key;
  readonly bound: string;
  readonly bearer: string;
  readonly proofs: readonly string[];
  readonly jkt: string;
}

function proofKey(alg: ProofAlg): { privateKey: KeyObject; jwk: Record<string, string> } {
  const pair = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey: pair.privateKey, jwk: pair.publicKey.export({ format: 'jwk' }) as Record<string, string> };
}

function makeProof(alg: ProofAlg, key: ReturnType<typeof proofKey>, token: string): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const ath = createHash('sha256').update(token).digest('base64url');
  const input = `${b64({ typ: 'dpop+jwt', alg, jwk: key.jwk })}.${b64({ jti: randomUUID(), htm: 'GET', htu: ISSUER + PATH, iat: Math.floor(NOW / 1000), ath })}`;
  const signature =
    alg === 'EdDSA'
      ? sign(null, Buffer.from(input), key.privateKey)
      : sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

function tessera(s: Pick<Setup, 'accessKey' | 'refreshKey'>, cached: boolean): Tessera {
  return createTessera({
    keys: s.accessKey,
    refreshKey: s.refreshKey,
    issuer: ISSUER,
    clock: fixedClock(NOW),
    ...(cached ? {} : { verifiedCacheSize: 0 }),
  });
}

async function setup(alg: ProofAlg): Promise<Setup> {
  const accessKey = await generateKey('EdDSA');
  const refreshKey = await generateRefreshKey();
  const key = proofKey(alg);
  const jkt = jwkThumbprint(key.jwk);
  const minting = tessera({ accessKey, refreshKey }, false);
  const bound = minting.createAccessToken({ sub: SUB, jkt }).token;
  const bearer = minting.createAccessToken({ sub: SUB }).token;
  const proofs = Array.from({ length: POOL }, () => makeProof(alg, key, bound));
  return { alg, accessKey, refreshKey, bound, bearer, proofs, jkt };
}

/** A request as an adapter hands it over, with a new copy of the token string (as each request brings one). */
function request(authorization: Buffer, proof?: string): { method: string; headers: string[]; path: string; protocol: string } {
  const headers = ['Host', 'api.example', 'Authorization', authorization.toString('latin1')];
  if (proof !== undefined) headers.push('DPoP', proof);
  return { method: 'GET', headers, path: PATH, protocol: 'https' };
}

const identity: BenchCheck = (result) => {
  const claims = (result as { claims?: { sub?: string } } | undefined)?.claims;
  if (claims?.sub !== SUB) throw new Error(`unexpected result ${JSON.stringify(result)}`);
};

async function addGroup(suite: BenchSuite, s: Setup): Promise<void> {
  const group = suite.group(`guard, proof ${s.alg}`, 'Bearer (uncached)');
  const bearerHeader = Buffer.from(`Bearer ${s.bearer}`, 'latin1');
  const dpopHeader = Buffer.from(`DPoP ${s.bound}`, 'latin1');
  const bearerCached = tessera(s, true);
  const bearerUncached = tessera(s, false);
  group.add('Bearer (cached)', () => bearerCached.verifyRequest(request(bearerHeader)), identity);
  group.add('Bearer (uncached)', () => bearerUncached.verifyRequest(request(bearerHeader)), identity);
  for (const cached of [true, false]) {
    let auth = tessera(s, cached);
    let next = 0;
    group.add(
      `DPoP (${cached ? 'cached' : 'uncached'})`,
      () => {
        if (next === s.proofs.length) {
          auth = tessera(s, cached);
          next = 0;
        }
        return auth.verifyRequest(request(dpopHeader, s.proofs[next++]));
      },
      identity,
    );
  }
  group.note(`Every DPoP request brings a new proof (${POOL} made ahead; once used up, a new Tessera with an empty replay memory).`);
  group.note('Access tokens are EdDSA; the proof is checked in full: header, jwk, signature, htm, htu, iat, ath, jti replay, cnf.jkt.');
  const tokenKey = await importSPKI(s.accessKey.verifyingKey.export({ type: 'spki', format: 'pem' }).toString(), 'EdDSA');
  const ath = createHash('sha256').update(s.bound).digest('base64url');
  let next = 0;
  group.add(
    'jose (token + proof)',
    async () => {
      const token = await jwtVerify(s.bound, tokenKey, { algorithms: ['EdDSA'], issuer: ISSUER, typ: 'at+jwt', currentDate: new Date(NOW) });
      const proof = await jwtVerify(s.proofs[next++ % s.proofs.length]!, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: [s.alg],
        maxTokenAge: '60s',
        currentDate: new Date(NOW),
      });
      const p = proof.payload as { htm?: string; htu?: string; ath?: string; jti?: string };
      const cnf = (token.payload as { cnf?: { jkt?: string } }).cnf;
      if (p.htm !== 'GET' || p.htu !== ISSUER + PATH || p.ath !== ath || typeof p.jti !== 'string') throw new Error('proof claims');
      if (cnf?.jkt !== (await calculateJwkThumbprint(proof.protectedHeader.jwk!))) throw new Error('jkt');
      return { claims: token.payload };
    },
    identity,
  );
  group.note(
    'jose row: jwtVerify of the token and of the proof (EmbeddedJWK, typ, maxTokenAge), then htm, htu, ath and the thumbprint by hand; no replay memory.',
  );
}

const suite = new BenchSuite('dpop');
const setups = [await setup('ES256'), await setup('EdDSA')];
for (const s of setups) await addGroup(suite, s);
await suite.run();
