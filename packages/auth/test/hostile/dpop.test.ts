// Hostile DPoP proofs (RFC 9449 §4.3, §11; docs/security.md): each row is refused with a stable code, never a
// 500 and never a non-Tessera error, both where a token is requested (400) and at a guarded route with a
// bound access token (401 with the DPoP challenge). Rows are signed genuinely unless the row says otherwise,
// so the rule under test is what refuses. Long on purpose: one table, so a gap shows.
import { Buffer } from 'node:buffer';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createTessera,
  errorResult,
  fixedClock,
  generateKey,
  generateRefreshKey,
  jwkThumbprint,
  TesseraError,
  type ErrorCode,
} from '../../src/index.js';
import type { AuthRequest } from '../../src/core/transport/request.js';
import { ath, makeProof, proofKey, signWith, type ProofInput, type ProofKey } from '../support/dpop-proof.js';

const NOW = Date.UTC(2030, 0, 1, 12);
const NOW_S = NOW / 1000;
const NONCE_SECRET = 'the nonce secret of this hostile table, 32+ bytes';
const ISSUER = 'https://api.example';

const auth = createTessera({
  keys: await generateKey('EdDSA'),
  refreshKey: await generateRefreshKey(),
  issuer: ISSUER,
  clock: fixedClock(NOW),
  dpop: { algorithms: ['EdDSA', 'ES256', 'ES384', 'RS256', 'PS256'] },
});
const withNonce = createTessera({
  keys: await generateKey('EdDSA'),
  refreshKey: await generateRefreshKey(),
  issuer: ISSUER,
  clock: fixedClock(NOW),
  dpop: { nonceSecret: NONCE_SECRET },
});

const es256 = proofKey('ES256');
const jkt = jwkThumbprint(es256.jwk);
const bound = auth.createTokenPair({ sub: 'alice', jkt }).access.token;

/** Where a row is judged: the method, URL and access token a genuine proof would name there. */
interface Place {
  readonly method: string;
  readonly path: string;
  readonly accessToken: string | undefined;
}
const TOKEN: Place = { method: 'POST', path: '/oauth/token', accessToken: undefined };
const RESOURCE: Place = { method: 'GET', path: '/api/me', accessToken: bound };

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const genuine = (place: Place, input: Partial<ProofInput> = {}, key: ProofKey = es256) =>
  makeProof(key, { htm: place.method, htu: ISSUER + place.path, accessToken: place.accessToken, ...input }, NOW);
/** A proof whose segments are given as they are (header and payload JSON or raw text), signed by `key` with its alg. */
function raw(header: unknown, payload: unknown, key: ProofKey = es256): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signWith(key.alg, key.privateKey, input).toString('base64url')}`;
}
const claims = (place: Place, more: Record<string, unknown> = {}) => ({
  jti: `j-${Math.random()}`,
  htm: place.method,
  htu: ISSUER + place.path,
  iat: NOW_S,
  ...(place.accessToken === undefined ? {} : { ath: ath(place.accessToken) }),
  ...more,
});
const ed = proofKey('EdDSA');
const p384 = proofKey('ES384');
const rsa = proofKey('RS256');
const rsa1024 = (() => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
  return { alg: 'RS256' as const, privateKey: pair.privateKey, jwk: pair.publicKey.export({ format: 'jwk' }) as Record<string, string> };
})();
const ecPrivate = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as Record<string, string>;
const rsaPrivate = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as Record<string, string>;
const P256_N = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');

/** One hostile case: the DPoP header values it sends at a place, and the code it must get. */
interface Row {
  readonly name: string;
  readonly proofs: (place: Place) => string[];
  readonly code: ErrorCode;
  /** Judged with nonces required (the second Tessera). */
  readonly nonce?: boolean;
  /** Only meaningful where an access token is involved. */
  readonly resourceOnly?: boolean;
}

const ROWS: Row[] = [
  // Form and size.
  { name: 'empty header value', proofs: () => [''], code: 'invalid_dpop_proof' },
  { name: 'two parts', proofs: (p) => [genuine(p).split('.').slice(0, 2).join('.')], code: 'invalid_dpop_proof' },
  { name: 'four parts', proofs: (p) => [`${genuine(p)}.AAAA`], code: 'invalid_dpop_proof' },
  { name: 'padding in a segment', proofs: (p) => [genuine(p).replace('.', '=.')], code: 'invalid_dpop_proof' },
  {
    // An ES256 signature is 64 bytes: its last character carries 2 bits and 4 zero bits; setting one of those keeps the bytes.
    name: 'non-canonical base64url tail',
    proofs: (p) => {
      const proof = genuine(p);
      const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(proof.slice(-1));
      return [proof.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charAt(last | 1)];
    },
    code: 'invalid_dpop_proof',
  },
  { name: 'oversized (9000 characters)', proofs: (p) => [genuine(p, { payload: { pad: 'x'.repeat(9000) } })], code: 'invalid_dpop_proof' },
  { name: 'two DPoP headers', proofs: (p) => [genuine(p), genuine(p)], code: 'invalid_dpop_proof' },
  { name: 'two proofs joined by a comma', proofs: (p) => [`${genuine(p)}, ${genuine(p)}`], code: 'invalid_dpop_proof' },
  { name: 'header is not JSON', proofs: (p) => [`${b64('{"typ":')}.${genuine(p).split('.').slice(1).join('.')}`], code: 'invalid_dpop_proof' },
  { name: 'header is an array', proofs: (p) => [raw([{ typ: 'dpop+jwt' }], claims(p))], code: 'invalid_dpop_proof' },
  {
    name: 'duplicate header member (alg twice)',
    proofs: (p) => [raw(`{"typ":"dpop+jwt","alg":"none","alg":"ES256","jwk":${JSON.stringify(es256.jwk)}}`, claims(p))],
    code: 'invalid_dpop_proof',
  },
  { name: 'payload is an array', proofs: (p) => [raw({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.jwk }, [claims(p)])], code: 'invalid_dpop_proof' },
  {
    name: '__proto__ in the payload',
    proofs: (p) => [raw({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.jwk }, `{"__proto__":{"x":1},"jti":"a","htm":"${p.method}"}`)],
    code: 'invalid_dpop_proof',
  },
  // typ.
  { name: 'typ missing', proofs: (p) => [genuine(p, { header: { typ: undefined } })], code: 'invalid_dpop_proof' },
  { name: 'typ JWT', proofs: (p) => [genuine(p, { header: { typ: 'JWT' } })], code: 'invalid_dpop_proof' },
  { name: 'typ at+jwt (an access token as a proof)', proofs: (p) => [genuine(p, { header: { typ: 'at+jwt' } })], code: 'invalid_dpop_proof' },
  { name: 'the access token itself as the proof', proofs: () => [bound], code: 'invalid_dpop_proof' },
  { name: 'crit header', proofs: (p) => [genuine(p, { header: { crit: ['exp'] } })], code: 'invalid_dpop_proof' },
  // alg.
  {
    name: 'alg none, no signature',
    proofs: (p) => [`${b64({ typ: 'dpop+jwt', alg: 'none', jwk: es256.jwk })}.${b64(claims(p))}.`],
    code: 'invalid_dpop_proof',
  },
  {
    name: 'alg NONE',
    proofs: (p) => [`${b64({ typ: 'dpop+jwt', alg: 'NONE', jwk: es256.jwk })}.${b64(claims(p))}.AAAA`],
    code: 'invalid_dpop_proof',
  },
  {
    name: 'HS256 over an oct jwk',
    proofs: (p) => {
      const input = `${b64({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: b64('secret-secret-secret-secret-1234') } })}.${b64(claims(p))}`;
      return [`${input}.${createHmac('sha256', 'secret-secret-secret-secret-1234').update(input).digest('base64url')}`];
    },
    code: 'invalid_dpop_proof',
  },
  {
    name: 'HS256 keyed with the public jwk text',
    proofs: (p) => {
      const input = `${b64({ typ: 'dpop+jwt', alg: 'HS256', jwk: es256.jwk })}.${b64(claims(p))}`;
      return [`${input}.${createHmac('sha256', JSON.stringify(es256.jwk)).update(input).digest('base64url')}`];
    },
    code: 'invalid_dpop_proof',
  },
  { name: 'alg es256 (case)', proofs: (p) => [genuine(p, { header: { alg: 'es256' }, signAs: 'ES256' })], code: 'invalid_dpop_proof' },
  { name: 'alg ES512 (not allowed)', proofs: (p) => [genuine(p, { header: { alg: 'ES512' }, signAs: 'ES256' })], code: 'invalid_dpop_proof' },
  // jwk.
  { name: 'jwk missing', proofs: (p) => [genuine(p, { header: { jwk: undefined } })], code: 'invalid_dpop_proof' },
  { name: 'jwk as a string', proofs: (p) => [genuine(p, { header: { jwk: JSON.stringify(es256.jwk) } })], code: 'invalid_dpop_proof' },
  {
    name: 'jwk with the private d (EC)',
    proofs: (p) => [genuine(p, { header: { jwk: { ...es256.jwk, d: ecPrivate.d } } })],
    code: 'invalid_dpop_proof',
  },
  {
    name: 'jwk with RSA private parts (p, q, dp, dq, qi)',
    proofs: (p) => [
      genuine(p, { header: { jwk: { ...rsa.jwk, p: rsaPrivate.p, q: rsaPrivate.q, dp: rsaPrivate.dp, dq: rsaPrivate.dq, qi: rsaPrivate.qi } } }, rsa),
    ],
    code: 'invalid_dpop_proof',
  },
  { name: 'jwk of kty oct', proofs: (p) => [genuine(p, { header: { jwk: { kty: 'oct', k: 'c2VjcmV0' } } })], code: 'invalid_dpop_proof' },
  {
    name: 'jwk alg other than the header alg',
    proofs: (p) => [genuine(p, { header: { jwk: { ...es256.jwk, alg: 'ES384' } } })],
    code: 'invalid_dpop_proof',
  },
  {
    name: 'jwk for encryption (use enc)',
    proofs: (p) => [genuine(p, { header: { jwk: { ...es256.jwk, use: 'enc' } } })],
    code: 'invalid_dpop_proof',
  },
  {
    name: 'ES256 header over an Ed25519 jwk',
    proofs: (p) => [genuine(p, { header: { alg: 'ES256' }, signAs: 'EdDSA' }, ed)],
    code: 'invalid_dpop_proof',
  },
  { name: 'EdDSA header over a P-256 jwk', proofs: (p) => [genuine(p, { header: { alg: 'EdDSA' }, signAs: 'ES256' })], code: 'invalid_dpop_proof' },
  {
    name: 'ES256 header over a P-384 jwk',
    proofs: (p) => [genuine(p, { header: { alg: 'ES256' }, signAs: 'ES384' }, p384)],
    code: 'invalid_dpop_proof',
  },
  { name: 'RS256 header, PSS signature', proofs: (p) => [genuine(p, { signAs: 'PS256' }, rsa)], code: 'invalid_dpop_proof' },
  { name: 'RSA key of 1024 bits', proofs: (p) => [genuine(p, {}, rsa1024)], code: 'invalid_dpop_proof' },
  {
    name: 'EC point not on the curve',
    proofs: (p) => [genuine(p, { header: { jwk: { ...es256.jwk, y: Buffer.alloc(32, 1).toString('base64url') } } })],
    code: 'invalid_dpop_proof',
  },
  // Signature.
  { name: 'signed by another key than the jwk', proofs: (p) => [genuine(p, { header: { jwk: proofKey('ES256').jwk } })], code: 'invalid_dpop_proof' },
  {
    name: 'payload changed after signing',
    proofs: (p) => {
      const [h, , s] = genuine(p).split('.');
      return [`${h}.${b64(claims(p, { jti: 'changed' }))}.${s}`];
    },
    code: 'invalid_dpop_proof',
  },
  {
    name: 'ES256 signature in DER form',
    proofs: (p) => {
      const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.jwk })}.${b64(claims(p))}`;
      return [`${input}.${sign('sha256', Buffer.from(input), es256.privateKey).toString('base64url')}`];
    },
    code: 'invalid_dpop_proof',
  },
  {
    name: 'ES256 signature r = 0, s = 0 (CVE-2022-21449)',
    proofs: (p) => [`${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.jwk })}.${b64(claims(p))}.${Buffer.alloc(64).toString('base64url')}`],
    code: 'invalid_dpop_proof',
  },
  {
    name: 'ES256 signature r = s = n',
    proofs: (p) => [
      `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.jwk })}.${b64(claims(p))}.${Buffer.concat([P256_N, P256_N]).toString('base64url')}`,
    ],
    code: 'invalid_dpop_proof',
  },
  { name: 'empty signature', proofs: (p) => [`${genuine(p).split('.').slice(0, 2).join('.')}.`], code: 'invalid_dpop_proof' },
  // Claims.
  { name: 'another method', proofs: (p) => [genuine(p, { htm: p.method === 'GET' ? 'POST' : 'GET' })], code: 'invalid_dpop_proof' },
  { name: 'method in lower case', proofs: (p) => [genuine(p, { htm: p.method.toLowerCase() })], code: 'invalid_dpop_proof' },
  { name: 'htm missing', proofs: (p) => [genuine(p, { payload: { htm: undefined } })], code: 'invalid_dpop_proof' },
  { name: 'another path', proofs: (p) => [genuine(p, { htu: `${ISSUER}/elsewhere` })], code: 'invalid_dpop_proof' },
  { name: 'another host', proofs: (p) => [genuine(p, { htu: `https://evil.example${p.path}` })], code: 'invalid_dpop_proof' },
  { name: 'http instead of https', proofs: (p) => [genuine(p, { htu: `http://api.example${p.path}` })], code: 'invalid_dpop_proof' },
  { name: 'another port', proofs: (p) => [genuine(p, { htu: `https://api.example:8443${p.path}` })], code: 'invalid_dpop_proof' },
  { name: 'htu not a URL', proofs: (p) => [genuine(p, { htu: 'api.example/oauth' })], code: 'invalid_dpop_proof' },
  { name: 'htu missing', proofs: (p) => [genuine(p, { payload: { htu: undefined } })], code: 'invalid_dpop_proof' },
  { name: 'htu a number', proofs: (p) => [genuine(p, { payload: { htu: 42 } })], code: 'invalid_dpop_proof' },
  { name: 'iat an hour ahead', proofs: (p) => [genuine(p, { iat: NOW_S + 3600 })], code: 'invalid_dpop_proof' },
  { name: 'iat a day ago', proofs: (p) => [genuine(p, { iat: NOW_S - 86400 })], code: 'invalid_dpop_proof' },
  { name: 'iat 61 s ago', proofs: (p) => [genuine(p, { iat: NOW_S - 61 })], code: 'invalid_dpop_proof' },
  { name: 'iat as a string', proofs: (p) => [genuine(p, { payload: { iat: String(NOW_S) } })], code: 'invalid_dpop_proof' },
  { name: 'iat missing', proofs: (p) => [genuine(p, { payload: { iat: undefined } })], code: 'invalid_dpop_proof' },
  { name: 'jti missing', proofs: (p) => [genuine(p, { payload: { jti: undefined } })], code: 'invalid_dpop_proof' },
  { name: 'jti empty', proofs: (p) => [genuine(p, { jti: '' })], code: 'invalid_dpop_proof' },
  { name: 'jti of 257 characters', proofs: (p) => [genuine(p, { jti: 'j'.repeat(257) })], code: 'invalid_dpop_proof' },
  { name: 'jti a number', proofs: (p) => [genuine(p, { payload: { jti: 7 } })], code: 'invalid_dpop_proof' },
  {
    name: 'replayed jti',
    proofs: (p) => {
      const proof = genuine(p);
      return [proof, proof];
    },
    code: 'invalid_dpop_proof',
  },
  // Access token binding (guarded routes).
  { name: 'ath missing', proofs: (p) => [genuine(p, { accessToken: undefined })], code: 'invalid_dpop_proof', resourceOnly: true },
  {
    name: 'ath of another token',
    proofs: (p) => [genuine(p, { accessToken: 'another.token.here' })],
    code: 'invalid_dpop_proof',
    resourceOnly: true,
  },
  {
    name: 'a valid proof by another key than cnf.jkt',
    proofs: (p) => [genuine(p, {}, proofKey('ES256'))],
    code: 'invalid_dpop_proof',
    resourceOnly: true,
  },
  // Nonces.
  { name: 'nonce missing where required', proofs: (p) => [genuine(p)], code: 'use_dpop_nonce', nonce: true },
  { name: 'nonce unknown', proofs: (p) => [genuine(p, { nonce: 'made-up' })], code: 'use_dpop_nonce', nonce: true },
  { name: 'nonce as a number', proofs: (p) => [genuine(p, { payload: { nonce: 1 } })], code: 'use_dpop_nonce', nonce: true },
];

function request(place: Place, proofs: readonly string[]): AuthRequest {
  const authorization = place.accessToken === undefined ? [] : ['Authorization', `DPoP ${place.accessToken}`];
  return { method: place.method, path: place.path, protocol: 'https', headers: [...authorization, ...proofs.flatMap((p) => ['DPoP', p])] };
}

/** Judges every proof of the row in turn (a replay row sends its proof twice); answers the last outcome. */
async function judge(place: Place, row: Row): Promise<{ code: string; status: number; error: unknown }> {
  const tessera = row.nonce === true ? withNonce : auth;
  const proofs = row.proofs(place);
  // A replay row sends the same proof in two requests; every other row sends its headers in one.
  const requests = row.name === 'replayed jti' ? proofs.map((p) => request(place, [p])) : [request(place, proofs)];
  let last: { code: string; status: number; error: unknown } = { code: 'ok', status: 200, error: undefined };
  for (const r of requests) {
    try {
      if (place === TOKEN) await tessera.dpopProof(r);
      else if (row.nonce === true) continue;
      else await tessera.authenticate(r);
      last = { code: 'ok', status: 200, error: undefined };
    } catch (err) {
      last =
        err instanceof TesseraError ? { code: err.code, status: err.status, error: err } : { code: 'not a TesseraError', status: 500, error: err };
    }
  }
  return last;
}

describe('hostile DPoP proofs', () => {
  it('the genuine proof passes at both places (so each row tests its own change)', async () => {
    expect(await auth.dpopProof(request(TOKEN, [genuine(TOKEN)]))).toMatchObject({ jkt });
    expect((await auth.authenticate(request(RESOURCE, [genuine(RESOURCE)]))).sub).toBe('alice');
  });

  describe.each([
    ['at a token request (400)', TOKEN, 400],
    ['at a guarded route (401)', RESOURCE, 401],
  ] as const)('%s', (_, place, status) => {
    const rows = ROWS.filter((row) => (place === TOKEN ? row.resourceOnly !== true : row.nonce !== true));
    it.each(rows.map((row) => [row.name, row]))('refuses %s', async (_name, row) => {
      const outcome = await judge(place, row);
      expect(outcome.code).toBe(row.code);
      expect(outcome.status).toBe(status);
      const answer = errorResult(outcome.error as TesseraError);
      expect(answer.status).toBe(status);
      // The refusal never echoes the proof or the token.
      expect(answer.body).not.toContain(bound);
      if (status === 401)
        expect(answer.headers['www-authenticate']).toMatch(
          /^DPoP error="(invalid_dpop_proof|use_dpop_nonce)", error_description="[^"]*", algs="[A-Za-z0-9 ]+"$/,
        );
      if (row.code === 'use_dpop_nonce') expect(answer.headers['dpop-nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });
  });
});
