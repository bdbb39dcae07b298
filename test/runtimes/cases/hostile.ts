// The representative refusals of the hostile suites (packages/auth/test/hostile), one row each, on every
// access-key algorithm: alg none and confusion, typ, crit, base64url spelling, duplicate JSON members, time,
// issuer and audience, size. The rows that depend on the runtime most (strict UTF-8 and base64url decoding,
// JSON parsing, node:crypto) are here on purpose. Time is frozen through the library's clock.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import {
  createKeyRing,
  createTessera,
  fixedClock,
  generateKey,
  generateRefreshKey,
  TesseraError,
  type Algorithm,
  type ErrorCode,
  type Key,
  type Tessera,
  type TokenPair,
} from '@tessera/auth';
import { hmacWith, nonCanonicalTail, parts, patch, segment, sign, withSignature, type Part } from '@tessera/test-kit/forge';
import type { Case } from '../harness.js';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
const ISSUER = 'https://issuer.example';
const AUDIENCE = 'https://api.example';
const ACCESS_TTL = 900;
const ALGS: readonly Algorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];
const ASYMMETRIC: readonly Algorithm[] = ['EdDSA', 'ES256', 'RS256'];

interface Fixture {
  readonly alg: Algorithm;
  readonly key: Key;
  readonly refreshKey: Key;
  readonly tessera: Tessera;
  readonly pair: TokenPair;
}

async function fixture(alg: Algorithm): Promise<Fixture> {
  const [key, refreshKey] = await Promise.all([generateKey(alg), generateRefreshKey()]);
  const tessera = createTessera({
    keys: createKeyRing({ signing: key }),
    refreshKey,
    issuer: ISSUER,
    audience: AUDIENCE,
    accessTtl: ACCESS_TTL,
    clock: fixedClock(NOW),
  });
  return { alg, key, refreshKey, tessera, pair: tessera.createTokenPair({ sub: 'user-1', fresh: true }) };
}

const header = (f: Fixture, changes: Record<string, unknown> = {}) => patch({ alg: f.alg, typ: 'at+jwt', kid: f.key.kid }, changes);
const claims = (changes: Record<string, unknown> = {}) =>
  patch(
    { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', iat: NOW_S, nbf: NOW_S, exp: NOW_S + 300, jti: 'jti-1', sid: 'sid-1', type: 'access', fresh: false },
    changes,
  );
/** An access token signed with the genuine key, header and claims changed as asked: only the rule under test refuses it. */
const signed = (f: Fixture, h: Part = header(f), c: Part = claims()) => sign(f.key, h, c);
/** The JSON text of `value` with `prefix` spliced in as its first members. */
const withFirst = (prefix: string, value: Record<string, unknown>) => `{${prefix},${JSON.stringify(value).slice(1)}`;
/** A genuine token with its signature text changed. */
const resigned = (f: Fixture, change: (s: string) => string) => {
  const [h, p, s] = parts(f.pair.access.token);
  return `${h}.${p}.${change(s)}`;
};

/** A genuinely signed access token of exactly `length` characters (a padding claim; a header member where needed). */
function tokenOfLength(f: Fixture, length: number): string {
  const signatureLength = Math.ceil((f.key.signatureLength * 4) / 3);
  for (let pad = 0; pad < 4; pad++) {
    const h = header(f, pad === 0 ? {} : { x: 'h'.repeat(pad) });
    const want = length - segment(h).length - 2 - signatureLength;
    if (want % 4 === 1) continue; // base64url lengths are never 1 mod 4
    const fill = Math.floor((want * 3) / 4) - Buffer.byteLength(JSON.stringify(claims({ pad: '' })));
    const token = signed(f, h, claims({ pad: 'p'.repeat(fill) }));
    if (token.length === length) return token;
  }
  throw new TypeError(`cannot build a token of ${length} characters`);
}

interface Row {
  readonly name: string;
  readonly expected: ErrorCode | 'ok';
  readonly token: (f: Fixture) => string;
  readonly algs?: readonly Algorithm[];
}

const ROWS: readonly Row[] = [
  // Controls: without them every refusal below could come from a broken fixture.
  { name: 'genuine access token', expected: 'ok', token: (f) => f.pair.access.token },
  { name: 'hand-signed token with every rule met', expected: 'ok', token: (f) => signed(f) },
  { name: 'exactly 8192 characters (at the limit)', expected: 'ok', token: (f) => tokenOfLength(f, 8192) },
  // alg none and confusion (RFC 8725 §3.1–3.2)
  { name: 'alg "none", empty signature', expected: 'token_invalid', token: (f) => withSignature(header(f, { alg: 'none' }), claims(), '') },
  { name: 'alg "nOnE", genuine signature over it', expected: 'token_invalid', token: (f) => signed(f, header(f, { alg: 'nOnE' })) },
  { name: 'alg missing', expected: 'token_invalid', token: (f) => signed(f, header(f, { alg: undefined })) },
  {
    name: 'HS256 MAC’d with the public key’s SPKI PEM (HS/RS confusion)',
    expected: 'token_invalid',
    algs: ASYMMETRIC,
    token: (f) => {
      const input = `${segment(header(f, { alg: 'HS256' }))}.${segment(claims())}`;
      return `${input}.${hmacWith(String(f.key.verifyingKey.export({ format: 'pem', type: 'spki' })), input).toString('base64url')}`;
    },
  },
  {
    name: 'HS256 MAC’d with the JWKS JSON text, no kid',
    expected: 'token_invalid',
    algs: ASYMMETRIC,
    token: (f) => {
      const input = `${segment({ alg: 'HS256', typ: 'at+jwt' })}.${segment(claims())}`;
      return `${input}.${hmacWith(JSON.stringify(f.tessera.jwks()), input).toString('base64url')}`;
    },
  },
  {
    name: 'alg changed to another supported algorithm',
    expected: 'token_invalid',
    token: (f) => signed(f, header(f, { alg: f.alg === 'RS256' ? 'EdDSA' : 'RS256' })),
  },
  {
    name: 'HS256 with the access kid, MAC’d with the refresh secret',
    expected: 'token_invalid',
    token: (f) => sign(f.refreshKey, header(f, { alg: 'HS256' }), claims()),
  },
  { name: 'unknown kid', expected: 'token_invalid', token: (f) => signed(f, header(f, { kid: 'no-such-key' })) },
  {
    name: 'one character of the signature changed',
    expected: 'token_invalid',
    token: (f) => resigned(f, (s) => `${s.slice(0, 5)}${s[5] === 'A' ? 'B' : 'A'}${s.slice(6)}`),
  },
  // Explicit typing (RFC 9068 §4, RFC 8725 §3.11)
  { name: 'typ "JWT"', expected: 'token_invalid', token: (f) => signed(f, header(f, { typ: 'JWT' })) },
  { name: 'typ missing', expected: 'token_invalid', token: (f) => signed(f, header(f, { typ: undefined })) },
  { name: 'typ "rt+jwt" on the access key', expected: 'token_invalid', token: (f) => signed(f, header(f, { typ: 'rt+jwt' })) },
  { name: 'refresh token presented as an access token', expected: 'token_type_invalid', token: (f) => f.pair.refresh.token },
  // crit (RFC 7515 §4.1.11)
  {
    name: 'crit with an unknown extension',
    expected: 'token_invalid',
    token: (f) => signed(f, header(f, { crit: ['http://example.invalid/UNDEFINED'], 'http://example.invalid/UNDEFINED': true })),
  },
  { name: 'crit ["b64"] with b64 false', expected: 'token_invalid', token: (f) => signed(f, header(f, { crit: ['b64'], b64: false })) },
  // Canonical base64url only (security.md §9: lenient decoders read all of these as the genuine bytes)
  { name: "'=' padding after the signature", expected: 'token_invalid', token: (f) => resigned(f, (s) => `${s}=`) },
  { name: 'non-zero trailing bits in the signature', expected: 'token_invalid', token: (f) => resigned(f, nonCanonicalTail) },
  { name: 'a space inside the signature', expected: 'token_invalid', token: (f) => resigned(f, (s) => `${s.slice(0, 10)} ${s.slice(10)}`) },
  {
    name: "'+' and '/' for '-' and '_' in the signature",
    expected: 'token_invalid',
    token: (f) => {
      for (let n = 0; n < 512; n++) {
        const [h, p, s] = parts(signed(f, header(f), claims({ filler: '~'.repeat(n) })));
        if (/[-_]/.test(s)) return `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`;
      }
      throw new TypeError('no signature with a - or _');
    },
  },
  { name: 'four segments', expected: 'token_invalid', token: (f) => `${f.pair.access.token}.${parts(f.pair.access.token)[2]}` },
  { name: '1 MiB of dots', expected: 'token_invalid', token: () => '.'.repeat(1 << 20) },
  // JSON: UTF-8 objects, no duplicate members, no __proto__ (RFC 8725 §3.7, RFC 7515 §5.2)
  { name: 'duplicate alg in the header (none first)', expected: 'token_invalid', token: (f) => signed(f, withFirst('"alg":"none"', header(f))) },
  { name: 'duplicate sub in the claims', expected: 'token_invalid', token: (f) => signed(f, header(f), withFirst('"sub":"admin"', claims())) },
  {
    name: 'duplicate sub spelled with an escape',
    expected: 'token_invalid',
    token: (f) => signed(f, header(f), withFirst('"\\u0073ub":"admin"', claims())),
  },
  { name: '__proto__ claim', expected: 'token_invalid', token: (f) => signed(f, header(f), withFirst('"__proto__":{"admin":true}', claims())) },
  {
    name: 'invalid UTF-8 (0xFF) in a claim',
    expected: 'token_invalid',
    token: (f) => {
      const [before = '', after = ''] = JSON.stringify(claims({ sub: '§§' })).split('§§');
      return signed(f, header(f), Buffer.concat([Buffer.from(before), Buffer.from([0x75, 0xff]), Buffer.from(after)]));
    },
  },
  { name: 'UTF-8 BOM before the claims', expected: 'token_invalid', token: (f) => signed(f, header(f), `\ufeff${JSON.stringify(claims())}`) },
  { name: 'payload is a JSON array', expected: 'token_invalid', token: (f) => signed(f, header(f), [claims()]) },
  // Time (RFC 7519 §4.1.4–4.1.5), frozen at NOW, leeway 0
  { name: 'exp equal to now', expected: 'token_expired', token: (f) => signed(f, header(f), claims({ exp: NOW_S })) },
  { name: 'exp one second ago', expected: 'token_expired', token: (f) => signed(f, header(f), claims({ exp: NOW_S - 1 })) },
  { name: 'exp as a numeric string', expected: 'token_invalid', token: (f) => signed(f, header(f), claims({ exp: String(NOW_S + 60) })) },
  {
    name: 'exp written as 1e999',
    expected: 'token_invalid',
    token: (f) => signed(f, header(f), JSON.stringify(claims()).replace(/"exp":\d+/, '"exp":1e999')),
  },
  { name: 'nbf one second ahead', expected: 'token_not_yet_valid', token: (f) => signed(f, header(f), claims({ nbf: NOW_S + 1 })) },
  {
    name: 'iat an hour ahead',
    expected: 'token_not_yet_valid',
    token: (f) => signed(f, header(f), claims({ iat: NOW_S + 3600, nbf: undefined, exp: NOW_S + 3660 })),
  },
  // Issuer and audience (RFC 7519 §4.1.1, §4.1.3; CVE-2025-30144, CVE-2024-53861)
  { name: 'iss wrong', expected: 'token_invalid', token: (f) => signed(f, header(f), claims({ iss: 'https://attacker.example' })) },
  { name: 'iss a prefix of the issuer', expected: 'token_invalid', token: (f) => signed(f, header(f), claims({ iss: ISSUER.slice(0, -3) })) },
  {
    name: 'iss as an array, attacker first',
    expected: 'token_invalid',
    token: (f) => signed(f, header(f), claims({ iss: ['https://attacker.example', ISSUER] })),
  },
  { name: 'aud wrong', expected: 'token_invalid', token: (f) => signed(f, header(f), claims({ aud: 'https://other.example' })) },
  { name: 'aud missing', expected: 'token_invalid', token: (f) => signed(f, header(f), claims({ aud: undefined })) },
  // Size (security.md: 8 KiB)
  { name: '8193 characters (8 KiB + 1)', expected: 'token_invalid', token: (f) => tokenOfLength(f, 8193) },
];

function check(f: Fixture, row: Row): void {
  const token = row.token(f);
  if (row.expected === 'ok') {
    const payload = JSON.parse(Buffer.from(parts(token)[1], 'base64url').toString('utf8')) as unknown;
    assert.deepEqual(f.tessera.verifyAccessToken(token), payload);
    return;
  }
  let thrown: unknown;
  try {
    f.tessera.verifyAccessToken(token);
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown !== undefined, 'the token was accepted');
  assert.ok(thrown instanceof TesseraError, `not a TesseraError: ${String(thrown)}`);
  assert.equal(thrown.code, row.expected);
  // A refusal never echoes the token (docs/architecture.md "Conventions").
  if (token.length >= 16) assert.ok(!thrown.message.includes(token), 'the message echoes the token');
}

/** Every hostile case, one per (algorithm, row); the keys are generated before the cases run. */
export async function hostileCases(): Promise<Case[]> {
  const fixtures = await Promise.all(ALGS.map(fixture));
  return fixtures.flatMap((f) =>
    ROWS.filter((row) => row.algs === undefined || row.algs.includes(f.alg)).map((row): Case => ({
      group: 'hostile',
      name: `${f.alg}: ${row.name} → ${row.expected}`,
      run: () => check(f, row),
    })),
  );
}
