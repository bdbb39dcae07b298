// Hostile tokens, part 1: algorithm (`none`, confusion, swaps), `kid`, header members, signatures
// and the negative RFC vectors (security.md §1 items 1–5 and 8–9, §8, §10). Each row says how the
// token is signed; 'real key' rows carry a genuine signature, so the rule under test is what refuses.
// Long on purpose: a table of hostile cases, one row each, kept together so a gap shows.
import { Buffer } from 'node:buffer';
import { constants, createHmac, sign as cryptoSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTessera, exportPrivateJwk, exportPublicJwk, fixedClock, generateRefreshKey, importKey, TesseraError } from '../../src/index.js';
import { verifyCompactJws } from '../support/compact-jws.js';
import {
  ALGS,
  claimsFor,
  createFixtures,
  headerFor,
  hmacWith,
  parts,
  runTable,
  segment,
  sign,
  signature,
  thrown,
  tokenFor,
  withSignature,
  type Fixture,
  type Row,
} from '../support/forge.js';

const fixtures = await createFixtures();
const ASYMMETRIC = ['EdDSA', 'ES256', 'RS256'] as const;

/** An access token whose header is `header` (claims valid), MAC'd with `material` as an HMAC-SHA256 key. */
function macWith(f: Fixture, material: string | Uint8Array, header: Record<string, unknown>): string {
  const input = `${segment(header)}.${segment(claimsFor('access'))}`;
  return `${input}.${hmacWith(material, input).toString('base64url')}`;
}

/** A genuine access token with its signature bytes replaced by `change(bytes)`. */
function resigned(f: Fixture, change: (sig: Buffer) => Buffer): string {
  const [h, p, s] = parts(f.pair.access.token);
  return `${h}.${p}.${change(Buffer.from(s, 'base64url')).toString('base64url')}`;
}

// ---------------------------------------------------------------------------------------------
// alg: none in every spelling (RFC 8725 §3.1–3.2, 8725bis §2.11 "noNE"; RFC 9068 §4 step 5)
// ---------------------------------------------------------------------------------------------
const NONE_SPELLINGS = ['none', 'None', 'NONE', 'nOnE', 'noNE', 'none ', ' none', 'none\u0000'];
const noneRows: Row[] = NONE_SPELLINGS.flatMap((spelling): Row[] => [
  {
    name: `alg ${JSON.stringify(spelling)}, empty signature`,
    signed: 'no signature',
    expected: 'token_invalid',
    token: (f) => withSignature(headerFor(f, 'access', { alg: spelling }), claimsFor('access'), ''),
  },
  {
    name: `alg ${JSON.stringify(spelling)}, junk signature`,
    signed: 'no signature',
    expected: 'token_invalid',
    token: (f) => withSignature(headerFor(f, 'access', { alg: spelling }), claimsFor('access'), 'c2lnbmF0dXJl'),
  },
  {
    name: `alg ${JSON.stringify(spelling)}, genuine signature over it`,
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { alg: spelling } }),
  },
]);

const algRows: Row[] = [
  ...noneRows,
  {
    name: 'alg none without kid, empty signature (single-key ring)',
    signed: 'no signature',
    expected: 'token_invalid',
    token: () => withSignature({ alg: 'none', typ: 'at+jwt' }, claimsFor('access'), ''),
  },
  { name: 'alg missing', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { alg: undefined } }) },
  { name: 'alg null', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { alg: null } }) },
  { name: 'alg empty string', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { alg: '' } }) },
  {
    name: 'alg as an array holding the right name',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { alg: [f.alg] } }),
  },
  {
    name: 'alg in lower case',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { alg: f.alg.toLowerCase() } }),
  },
  {
    name: 'alg in upper case',
    signed: 'real key',
    expected: 'token_invalid',
    algs: ['EdDSA'],
    token: (f) => tokenFor(f, 'access', { header: { alg: f.alg.toUpperCase() } }),
  },
  {
    name: 'alg with a trailing space',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { alg: `${f.alg} ` } }),
  },
  {
    name: 'alg "Ed25519" (RFC 9864 name) on an EdDSA key',
    signed: 'real key',
    expected: 'token_invalid',
    algs: ['EdDSA'],
    token: (f) => tokenFor(f, 'access', { header: { alg: 'Ed25519' } }),
  },
  {
    name: 'alg "PS256" on an RS256 key',
    signed: 'real key',
    expected: 'token_invalid',
    algs: ['RS256'],
    token: (f) => tokenFor(f, 'access', { header: { alg: 'PS256' } }),
  },
  {
    name: 'alg "ES256K" on an ES256 key',
    signed: 'real key',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => tokenFor(f, 'access', { header: { alg: 'ES256K' } }),
  },
  {
    name: 'alg "HS512" on an HS256 key',
    signed: 'real key',
    expected: 'token_invalid',
    algs: ['HS256'],
    token: (f) => tokenFor(f, 'access', { header: { alg: 'HS512' } }),
  },
  // Another supported algorithm named in the header: the key found by kid pins its own (RFC 8725 §3.1).
  ...ALGS.map((other): Row => ({
    name: `alg changed to ${other}`,
    signed: 'real key',
    expected: 'token_invalid',
    algs: ALGS.filter((a) => a !== other),
    token: (f) => tokenFor(f, 'access', { header: { alg: other } }),
  })),
  {
    name: 'HS256 header with the access kid, MAC’d with the refresh secret',
    signed: 'refresh secret',
    expected: 'token_invalid',
    token: (f) => sign(f.refreshKey, headerFor(f, 'access', { alg: 'HS256' }), claimsFor('access')),
  },
];

// ---------------------------------------------------------------------------------------------
// HS256 MAC'd with the published public key (CVE-2015-9235, CVE-2022-23541, CVE-2023-48223,
// CVE-2026-34950, CVE-2026-107722, GHSA-g3jj-5cmm-3hxx, CVE-2024-33663, CVE-2026-85394)
// ---------------------------------------------------------------------------------------------
const PUBLIC_MATERIALS: { name: string; algs?: readonly (typeof ASYMMETRIC)[number][]; material: (f: Fixture) => string | Uint8Array }[] = [
  { name: 'SPKI PEM text', material: (f) => pem(f, 'spki') },
  { name: 'PKCS#1 "RSA PUBLIC KEY" PEM text', algs: ['RS256'], material: (f) => pem(f, 'pkcs1') },
  { name: 'whitespace-prefixed SPKI PEM', material: (f) => `\n \t${pem(f, 'spki')}` },
  { name: 'whitespace-prefixed PKCS#1 PEM', algs: ['RS256'], material: (f) => `  ${pem(f, 'pkcs1')}` },
  { name: 'SPKI PEM without its final newline', material: (f) => pem(f, 'spki').trimEnd() },
  { name: 'SPKI PEM with CRLF line ends', material: (f) => pem(f, 'spki').replace(/\n/g, '\r\n') },
  { name: 'published JWK JSON text (from the JWKS)', material: (f) => JSON.stringify(f.tessera.jwks().keys[0]) },
  { name: 'whole JWKS JSON text', material: (f) => JSON.stringify(f.tessera.jwks()) },
  { name: 'bare JWK JSON text', material: (f) => JSON.stringify(f.key.verifyingKey.export({ format: 'jwk' })) },
  { name: 'SPKI DER bytes', material: (f) => f.key.verifyingKey.export({ format: 'der', type: 'spki' }) },
  { name: 'PKCS#1 DER bytes', algs: ['RS256'], material: (f) => f.key.verifyingKey.export({ format: 'der', type: 'pkcs1' }) },
  {
    name: 'the JWK x (or n) member text',
    material: (f) => {
      const jwk = f.key.verifyingKey.export({ format: 'jwk' });
      return String(jwk.x ?? jwk.n);
    },
  },
];

function pem(f: Fixture, type: 'spki' | 'pkcs1'): string {
  return String(f.key.verifyingKey.export({ format: 'pem', type }));
}

const confusionRows: Row[] = PUBLIC_MATERIALS.flatMap(({ name, algs, material }): Row[] => [
  {
    name: `HS256 MAC’d with the ${name}, real kid`,
    signed: 'public key as HMAC secret',
    expected: 'token_invalid',
    algs: algs ?? ASYMMETRIC,
    token: (f) => macWith(f, material(f), headerFor(f, 'access', { alg: 'HS256' })),
  },
  {
    name: `HS256 MAC’d with the ${name}, no kid`,
    signed: 'public key as HMAC secret',
    expected: 'token_invalid',
    algs: algs ?? ASYMMETRIC,
    token: (f) => macWith(f, material(f), { alg: 'HS256', typ: 'at+jwt' }),
  },
]);

// ---------------------------------------------------------------------------------------------
// kid: a server-side table lookup, nothing else (RFC 8725 §3.10)
// ---------------------------------------------------------------------------------------------
const kidRows: Row[] = [
  { name: 'unknown kid', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { kid: 'no-such-key' } }) },
  {
    name: 'kid of the refresh key on an access header (at+jwt), MAC’d with the refresh secret',
    signed: 'refresh secret',
    expected: 'token_invalid',
    token: (f) => sign(f.refreshKey, headerFor(f, 'access', { alg: 'HS256', kid: f.refreshKey.kid }), claimsFor('access')),
  },
  {
    name: 'kid of the refresh key with the access key’s alg, signed by the access key',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { kid: f.refreshKey.kid } }),
  },
  { name: 'kid as a number', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { kid: 1 } }) },
  {
    name: 'kid as an object',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { kid: { kid: f.key.kid } } }),
  },
  { name: 'kid as an array', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { kid: [f.key.kid] } }) },
  { name: 'kid null', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { kid: null } }) },
  { name: 'kid true', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { kid: true } }) },
  {
    name: 'kid "../../dev/null"',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { kid: '../../dev/null' } }),
  },
  {
    name: 'kid "/dev/null" MAC’d with an empty secret',
    signed: 'attacker key',
    expected: 'token_invalid',
    token: (f) => macWith(f, '', headerFor(f, 'access', { alg: 'HS256', kid: '/dev/null' })),
  },
  {
    name: 'kid "\' OR 1=1 --"',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { kid: "' OR 1=1 --" } }),
  },
  { name: 'kid empty string', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { kid: '' } }) },
  { name: 'kid "__proto__"', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { kid: '__proto__' } }) },
  {
    name: 'kid "constructor"',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { kid: 'constructor' } }),
  },
  {
    name: 'kid with a trailing NUL',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { kid: `${f.key.kid}\u0000` } }),
  },
  {
    name: 'kid with a trailing space',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { kid: `${f.key.kid} ` } }),
  },
  {
    name: 'kid of 2000 characters',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { kid: 'k'.repeat(2000) } }),
  },
  {
    name: 'missing kid with a multi-key ring',
    signed: 'real key',
    expected: 'token_invalid',
    on: 'multi',
    token: (f) => tokenFor(f, 'access', { header: { kid: undefined } }),
  },
  {
    name: 'missing kid with a single-key ring (unambiguous: accepted)',
    signed: 'real key',
    expected: 'ok',
    token: (f) => tokenFor(f, 'access', { header: { kid: undefined } }),
  },
  {
    name: 'kid of the verify-only key, signed by it (multi-key ring control)',
    signed: 'real key',
    expected: 'ok',
    on: 'multi',
    token: (f) => tokenFor(f, 'access', { header: { kid: f.other.kid }, key: f.other }),
  },
  {
    name: 'kid of the verify-only key, signed by the signing key',
    signed: 'real key',
    expected: 'token_invalid',
    on: 'multi',
    token: (f) => tokenFor(f, 'access', { header: { kid: f.other.kid } }),
  },
  {
    name: 'kid of a key that is not in this ring (signed by it)',
    signed: 'attacker key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { kid: f.other.kid }, key: f.other }),
  },
];

// ---------------------------------------------------------------------------------------------
// jku / jwk / x5u / x5c: ignored, never fetched (RFC 8725 §3.10, node-jose CVE-2018-0114);
// crit / zip / enc / b64: refused (RFC 7515 §4.1.11, CVE-2024-28176, CVE-2023-51774)
// ---------------------------------------------------------------------------------------------
function attackerJwk(f: Fixture): object {
  return f.alg === 'HS256' ? exportPrivateJwk(f.attacker) : exportPublicJwk(f.attacker);
}

const headerMemberRows: Row[] = [
  {
    name: 'jku to an attacker URL (ignored)',
    signed: 'real key',
    expected: 'ok',
    token: (f) => tokenFor(f, 'access', { header: { jku: 'http://127.0.0.1:1/jwks.json' } }),
  },
  {
    name: 'x5u to an attacker URL (ignored)',
    signed: 'real key',
    expected: 'ok',
    token: (f) => tokenFor(f, 'access', { header: { x5u: 'https://attacker.example/cert.pem' } }),
  },
  {
    name: 'x5c with a junk chain (ignored)',
    signed: 'real key',
    expected: 'ok',
    token: (f) => tokenFor(f, 'access', { header: { x5c: ['MIIBIjANBgkqhkiG9w0B'] } }),
  },
  {
    name: 'jwk of the attacker (ignored on a genuine token)',
    signed: 'real key',
    expected: 'ok',
    token: (f) => tokenFor(f, 'access', { header: { jwk: attackerJwk(f) } }),
  },
  {
    name: 'an unrelated header member (ignored)',
    signed: 'real key',
    expected: 'ok',
    token: (f) => tokenFor(f, 'access', { header: { 'x-note': [1, { a: 2 }] } }),
  },
  {
    name: 'forged: embeds its own jwk, attacker kid',
    signed: 'attacker key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { jwk: attackerJwk(f), kid: f.attacker.kid }, key: f.attacker }),
  },
  {
    name: 'forged: embeds its own jwk, real kid',
    signed: 'attacker key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { jwk: attackerJwk(f) }, key: f.attacker }),
  },
  {
    name: 'forged: embeds its own jwk, no kid',
    signed: 'attacker key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { jwk: attackerJwk(f), kid: undefined }, key: f.attacker }),
  },
  {
    name: 'forged: jku to the attacker’s JWKS, attacker kid',
    signed: 'attacker key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { jku: 'https://attacker.example/jwks.json', kid: f.attacker.kid }, key: f.attacker }),
  },
  {
    name: 'forged: x5c of the attacker, no kid',
    signed: 'attacker key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { x5c: ['MIIBIjANBgkqhkiG9w0B'], kid: undefined }, key: f.attacker }),
  },
  {
    name: 'crit with an unknown extension (RFC 7515 Appendix E)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { crit: ['http://example.invalid/UNDEFINED'], 'http://example.invalid/UNDEFINED': true } }),
  },
  { name: 'crit empty array', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { crit: [] } }) },
  {
    name: 'crit ["b64"] with b64 true',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { crit: ['b64'], b64: true } }),
  },
  {
    name: 'crit ["exp"] (a registered claim name)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { crit: ['exp'] } }),
  },
  { name: 'crit as a string', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { crit: 'b64' } }) },
  { name: 'crit null', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { crit: null } }) },
  { name: 'b64 false without crit', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { b64: false } }) },
  { name: 'zip "DEF"', signed: 'real key', expected: 'token_invalid', token: (f) => tokenFor(f, 'access', { header: { zip: 'DEF' } }) },
  {
    name: 'enc "A256GCM" (JWE header on a JWS)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { header: { enc: 'A256GCM' } }),
  },
];

// ---------------------------------------------------------------------------------------------
// Signatures (security.md §1 items 8–9, CVE-2022-21449 "psychic signatures")
// ---------------------------------------------------------------------------------------------
/** P-256 group order n. */
const P256_N = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
/** Ed25519 group order L (RFC 8032 §5.1). */
const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n;

function rs(f: Fixture): { r: Buffer; s: Buffer } {
  const sig = Buffer.from(parts(f.pair.access.token)[2], 'base64url');
  return { r: sig.subarray(0, 32), s: sig.subarray(32) };
}

/** Adds L to the little-endian S of an Ed25519 signature: same point, S out of range (malleability). */
function plusL(sig: Buffer): Buffer {
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i] ?? 0);
  const bumped = s + ED25519_L;
  const out = Buffer.from(sig);
  for (let i = 0; i < 32; i++) out[32 + i] = Number((bumped >> BigInt(8 * i)) & 0xffn);
  return out;
}

const signatureRows: Row[] = [
  { name: 'genuine access token (control)', signed: 'real key', expected: 'ok', token: (f) => f.pair.access.token },
  { name: 'genuine forged-by-hand access token (control)', signed: 'real key', expected: 'ok', token: (f) => tokenFor(f, 'access') },
  {
    name: 'empty signature',
    signed: 'no signature',
    expected: 'token_invalid',
    token: (f) => `${parts(f.pair.access.token).slice(0, 2).join('.')}.`,
  },
  {
    name: 'signature of another access token',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => {
      const [h, p] = parts(f.pair.access.token);
      return `${h}.${p}.${parts(f.tessera.createAccessToken({ sub: 'user-2' }).token)[2]}`;
    },
  },
  {
    name: 'payload of another access token under this signature',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => {
      const [h, , s] = parts(f.pair.access.token);
      return `${h}.${parts(f.tessera.createAccessToken({ sub: 'admin' }).token)[1]}.${s}`;
    },
  },
  {
    name: 'signature of the refresh token on the access token',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => `${parts(f.pair.access.token).slice(0, 2).join('.')}.${parts(f.pair.refresh.token)[2]}`,
  },
  { name: 'signature truncated by one byte', signed: 'tampered', expected: 'token_invalid', token: (f) => resigned(f, (s) => s.subarray(0, -1)) },
  {
    name: 'signature truncated to half',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => resigned(f, (s) => s.subarray(0, s.length / 2)),
  },
  { name: 'signature truncated to one byte', signed: 'tampered', expected: 'token_invalid', token: (f) => resigned(f, (s) => s.subarray(0, 1)) },
  {
    name: 'signature with a zero byte appended',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => resigned(f, (s) => Buffer.concat([s, Buffer.alloc(1)])),
  },
  { name: 'signature doubled', signed: 'tampered', expected: 'token_invalid', token: (f) => resigned(f, (s) => Buffer.concat([s, s])) },
  {
    name: 'all-zero signature of the right length',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => resigned(f, (s) => Buffer.alloc(s.length)),
  },
  {
    name: 'all-0xff signature of the right length',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => resigned(f, (s) => Buffer.alloc(s.length, 0xff)),
  },
  {
    name: 'last signature byte flipped',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => resigned(f, (s) => Buffer.from(s.map((b, i) => (i === s.length - 1 ? b ^ 1 : b)))),
  },
  // Refresh tokens are HMACs whatever the access algorithm: truncated MACs must not reach timingSafeEqual.
  ...[31, 16, 1].map((bytes): Row => ({
    name: `refresh HMAC truncated to ${bytes} bytes`,
    signed: 'tampered',
    expected: 'token_invalid',
    as: 'refresh',
    token: (f) => {
      const [h, p, s] = parts(f.pair.refresh.token);
      return `${h}.${p}.${Buffer.from(s, 'base64url').subarray(0, bytes).toString('base64url')}`;
    },
  })),
  {
    name: 'refresh token MAC’d with HMAC-SHA512 under the real secret',
    signed: 'tampered',
    expected: 'token_invalid',
    as: 'refresh',
    token: (f) => {
      const [h, p] = parts(f.pair.refresh.token);
      const secret = f.refreshKey.signingKey;
      if (secret === undefined) throw new TypeError('refresh key cannot sign');
      return `${h}.${p}.${createHmac('sha512', secret).update(`${h}.${p}`).digest('base64url')}`;
    },
  },
  {
    name: 'refresh token MAC’d with its kid as the secret',
    signed: 'attacker key',
    expected: 'token_invalid',
    as: 'refresh',
    token: (f) => {
      const [h, p] = parts(f.pair.refresh.token);
      return `${h}.${p}.${hmacWith(f.refreshKey.kid, `${h}.${p}`).toString('base64url')}`;
    },
  },
  // HS256 access keys.
  ...[31, 16].map((bytes): Row => ({
    name: `access HMAC truncated to ${bytes} bytes`,
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['HS256'],
    token: (f) => resigned(f, (s) => s.subarray(0, bytes)),
  })),
  {
    name: 'access token MAC’d with an empty secret',
    signed: 'attacker key',
    expected: 'token_invalid',
    algs: ['HS256'],
    token: (f) => macWith(f, '', headerFor(f, 'access')),
  },
  // ES256: IEEE P1363 only, r and s in [1, n−1] (CVE-2022-21449).
  {
    name: 'ES256 signature in DER form (genuine)',
    signed: 'real key',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => {
      const [h, p] = parts(tokenFor(f, 'access'));
      return `${h}.${p}.${signature(f.key, `${h}.${p}`, { der: true }).toString('base64url')}`;
    },
  },
  {
    name: 'psychic signature, DER r=0 s=0 ("MAYCAQACAQA")',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => `${parts(f.pair.access.token).slice(0, 2).join('.')}.MAYCAQACAQA`,
  },
  {
    name: 'psychic signature, P1363 r=0 s=0',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => resigned(f, () => Buffer.alloc(64)),
  },
  {
    name: 'r=0 with the genuine s',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => resigned(f, () => Buffer.concat([Buffer.alloc(32), rs(f).s])),
  },
  {
    name: 'genuine r with s=0',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => resigned(f, () => Buffer.concat([rs(f).r, Buffer.alloc(32)])),
  },
  { name: 'r=s=n', signed: 'tampered', expected: 'token_invalid', algs: ['ES256'], token: (f) => resigned(f, () => Buffer.concat([P256_N, P256_N])) },
  {
    name: 'r=n with the genuine s',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => resigned(f, () => Buffer.concat([P256_N, rs(f).s])),
  },
  {
    name: 'genuine r with s=n',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => resigned(f, () => Buffer.concat([rs(f).r, P256_N])),
  },
  {
    name: 'r and s swapped',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => resigned(f, () => Buffer.concat([rs(f).s, rs(f).r])),
  },
  {
    name: '63-byte ES256 signature',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => resigned(f, (s) => s.subarray(1)),
  },
  {
    name: '65-byte ES256 signature (leading zero)',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['ES256'],
    token: (f) => resigned(f, (s) => Buffer.concat([Buffer.alloc(1), s])),
  },
  // EdDSA: RFC 8032 §5.1.7 requires S < L.
  { name: 'Ed25519 signature with S + L', signed: 'tampered', expected: 'token_invalid', algs: ['EdDSA'], token: (f) => resigned(f, plusL) },
  // RS256: exactly the modulus length, PKCS#1 v1.5 only.
  {
    name: 'RSA signature with a leading zero byte (same integer, 257 bytes)',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['RS256'],
    token: (f) => resigned(f, (s) => Buffer.concat([Buffer.alloc(1), s])),
  },
  {
    name: 'RSA signature equal to the modulus',
    signed: 'tampered',
    expected: 'token_invalid',
    algs: ['RS256'],
    token: (f) => resigned(f, () => Buffer.from(String(f.key.verifyingKey.export({ format: 'jwk' }).n), 'base64url')),
  },
  {
    name: 'RSA-PSS signature by the real key under an RS256 header',
    signed: 'real key',
    expected: 'token_invalid',
    algs: ['RS256'],
    token: (f) => {
      const [h, p] = parts(tokenFor(f, 'access'));
      const key = f.key.signingKey;
      if (key === undefined) throw new TypeError('key cannot sign');
      return `${h}.${p}.${cryptoSign('sha256', Buffer.from(`${h}.${p}`), { key, padding: constants.RSA_PKCS1_PSS_PADDING }).toString('base64url')}`;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Negative vectors of security.md §10, against every ring
// ---------------------------------------------------------------------------------------------
/** RFC 7515 Appendix A.5: the unsecured JWS. */
const RFC7515_A5 = 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.';
/** RFC 7797 §4.2: b64 false, crit ["b64"], detached payload "$.02", RFC 7515 A.1 key. */
const RFC7797_4_2 = 'eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY';
/** RFC 7797 §4.1: the same payload as a normal JWS (control). */
const RFC7797_4_1 = 'eyJhbGciOiJIUzI1NiJ9.JC4wMg.5mvfOroL-g7HyqJoozehmsaqmvTYGEq5jTI1gVvoEoQ';
/** RFC 7515 Appendix A.1 (typ JWT, expired 2011) and its key. */
const RFC7515_A1 =
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC7515_A1_KEY = 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow';
/** RFC 7515 Appendix E's header, verbatim (alg none). */
const APPENDIX_E_HEADER = '{"alg":"none",\r\n "crit":["http://example.invalid/UNDEFINED"],\r\n "http://example.invalid/UNDEFINED":true\r\n}';

const vectorRows: Row[] = [
  { name: 'RFC 7515 A.5 unsecured JWS', signed: 'no signature', expected: 'token_invalid', token: RFC7515_A5 },
  { name: 'RFC 7515 A.5 unsecured JWS, as a refresh token', signed: 'no signature', expected: 'token_invalid', as: 'refresh', token: RFC7515_A5 },
  {
    name: 'RFC 7515 Appendix E header, verbatim, empty signature',
    signed: 'no signature',
    expected: 'token_invalid',
    token: () => withSignature(APPENDIX_E_HEADER, claimsFor('access'), ''),
  },
  {
    name: 'RFC 7515 Appendix E header with the key’s alg, typ and kid',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) =>
      sign(
        f.key,
        { ...headerFor(f, 'access'), crit: ['http://example.invalid/UNDEFINED'], 'http://example.invalid/UNDEFINED': true },
        claimsFor('access'),
      ),
  },
  { name: 'RFC 7797 §4.2 b64:false detached token', signed: 'no signature', expected: 'token_invalid', token: RFC7797_4_2 },
  {
    name: 'RFC 7797 §4.2 b64:false detached token, as a refresh token',
    signed: 'no signature',
    expected: 'token_invalid',
    as: 'refresh',
    token: RFC7797_4_2,
  },
  {
    name: 'RFC 7797 §4.2 shape with typ/kid, signed over the detached input',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => {
      const h = segment({ ...headerFor(f, 'access'), b64: false, crit: ['b64'] });
      return `${h}..${signature(f.key, `${h}.${JSON.stringify(claimsFor('access'))}`).toString('base64url')}`;
    },
  },
  { name: 'RFC 7515 A.1 (foreign key, typ JWT)', signed: 'attacker key', expected: 'token_invalid', token: RFC7515_A1 },
];

runTable('alg', fixtures, algRows);
runTable('HS256 with the public key', fixtures, confusionRows);
runTable('kid', fixtures, kidRows);
runTable('header members', fixtures, headerMemberRows);
runTable('signature', fixtures, signatureRows);
runTable('negative vectors', fixtures, vectorRows);

// The same vectors against a ring that holds their own key, so that the key is right and the rule refuses.
const key = importKey({ alg: 'HS256', jwk: { kty: 'oct', k: RFC7515_A1_KEY } });
// Clock pinned before the vectors' exp (2011-03-22T18:43Z): expiry is not what refuses them.
const tessera = createTessera({ keys: key, refreshKey: await generateRefreshKey(), clock: fixedClock(Date.UTC(2011, 2, 22)) });

describe('negative vectors — against the RFC 7515 A.1 key', () => {
  it('controls: the JWS layer verifies RFC 7797 §4.1 and RFC 7515 A.1 with this key', () => {
    expect(verifyCompactJws(RFC7797_4_1, key)?.payload.toString('utf8')).toBe('$.02');
    expect(verifyCompactJws(RFC7515_A1, key)?.payload.toString('utf8')).toContain('"iss":"joe"');
  });

  it('the JWS layer refuses RFC 7797 §4.2 (b64:false, crit, detached) and RFC 7515 A.5', () => {
    expect(verifyCompactJws(RFC7797_4_2, key)).toBeUndefined();
    expect(verifyCompactJws(RFC7515_A5, key)).toBeUndefined();
  });

  it.each([
    ['RFC 7797 §4.2 (b64:false detached)', RFC7797_4_2],
    ['RFC 7797 §4.1 ($.02 is no claims set, no typ)', RFC7797_4_1],
    ['RFC 7515 A.1 (typ JWT, no aud/sub/jti)', RFC7515_A1],
    ['RFC 7515 A.5 (alg none)', RFC7515_A5],
  ])('the token verifier refuses %s with token_invalid', (_name, token) => {
    const err = thrown(() => tessera.verifyAccessToken(token));
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as TesseraError).code).toBe('token_invalid');
  });

  it('a hand-made Appendix E token MAC’d with the vector key is refused', () => {
    const h = segment('{"alg":"HS256","typ":"at+jwt","crit":["http://example.invalid/UNDEFINED"],"http://example.invalid/UNDEFINED":true}');
    const p = segment({ iss: 'joe', exp: 1300819380 });
    const token = `${h}.${p}.${createHmac('sha256', Buffer.from(RFC7515_A1_KEY, 'base64url')).update(`${h}.${p}`).digest('base64url')}`;
    expect(verifyCompactJws(token, key)).toBeUndefined();
    expect((thrown(() => tessera.verifyAccessToken(token)) as TesseraError).code).toBe('token_invalid');
  });
});
