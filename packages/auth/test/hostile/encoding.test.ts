// Hostile tokens, part 2: the compact serialization and its encodings (security.md §1 items 6, 7
// and 10, §9). Node's base64url decoder is lenient and JSON.parse keeps the last duplicate, so most
// rows are signed over the hostile text with the real key: only the strict parser can refuse them.
// Long on purpose: a table of hostile encodings, one row each, kept together so a gap shows.
import { Buffer } from 'node:buffer';
import { deflateRawSync } from 'node:zlib';
import {
  b64u,
  claimsFor,
  createFixtures,
  headerFor,
  keyFor,
  nonCanonicalTail,
  parts,
  runTable,
  segment,
  sign,
  signSegments,
  tokenFor,
  tokenOfLength,
  tokenWhere,
  withSignature,
  type Fixture,
  type Part,
  type Row,
} from '../support/forge.js';

const fixtures = await createFixtures();

/** A genuine access token with its payload text changed by `change` and signed again with the real key. */
function payloadResigned(f: Fixture, change: (payload: string) => string, token = tokenFor(f, 'access')): string {
  const [h, p] = parts(token);
  return signSegments(f.key, h, change(p));
}

/** A genuine access token with its header text changed by `change` and signed again with the real key. */
function headerResigned(f: Fixture, change: (header: string) => string, token = tokenFor(f, 'access')): string {
  const [h, p] = parts(token);
  return signSegments(f.key, change(h), p);
}

/** A genuine access token with its signature text changed (same bytes to Node's lenient decoder, where noted). */
function signatureChanged(f: Fixture, change: (sig: string) => string, token = f.pair.access.token): string {
  const [h, p, s] = parts(token);
  return `${h}.${p}.${change(s)}`;
}

/** Signs raw header and payload bytes/text with the access key. */
function signedAccess(f: Fixture, header: Part, payload: Part): string {
  return sign(keyFor(f, 'access'), header, payload);
}

/** The claims JSON text of a valid access token, with `edit` applied to the text. */
function claimsText(edit: (json: string) => string, changes: Record<string, unknown> = {}): string {
  return edit(JSON.stringify(claimsFor('access', changes)));
}

/** The header JSON text of a valid access header, with `edit` applied to the text. */
function headerText(f: Fixture, edit: (json: string) => string): string {
  return edit(JSON.stringify(headerFor(f, 'access')));
}

const toStandardBase64 = (text: string): string => text.replace(/-/g, '+').replace(/_/g, '/');
const hasUrlSafeChar = (text: string): boolean => /[-_]/.test(text);
const prepend = (prefix: string) => (json: string) => `${prefix}${json.slice(1)}`;

// ---------------------------------------------------------------------------------------------
// Segments (RFC 7515 §7.1, 8725bis §3.14, CVE-2022-39227, CVE-2023-51774, CVE-2025-30204)
// ---------------------------------------------------------------------------------------------
const segmentRows: Row[] = [
  { name: 'empty string', signed: 'no signature', expected: 'token_invalid', token: '' },
  { name: 'one segment', signed: 'no signature', expected: 'token_invalid', token: (f) => parts(f.pair.access.token)[0] },
  {
    name: 'two segments (signature dropped)',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => parts(f.pair.access.token).slice(0, 2).join('.'),
  },
  {
    name: 'four segments (signature repeated)',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => `${f.pair.access.token}.${parts(f.pair.access.token)[2]}`,
  },
  { name: 'trailing dot', signed: 'tampered', expected: 'token_invalid', token: (f) => `${f.pair.access.token}.` },
  { name: 'leading dot', signed: 'tampered', expected: 'token_invalid', token: (f) => `.${f.pair.access.token}` },
  {
    name: 'doubled dot between header and payload',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => f.pair.access.token.replace('.', '..'),
  },
  {
    name: 'five segments shaped like a JWE (RFC 7516)',
    signed: 'no signature',
    expected: 'token_invalid',
    token: (f) =>
      [
        segment({ alg: 'RSA-OAEP', enc: 'A256GCM', typ: 'at+jwt', kid: f.key.kid }),
        b64u('k'.repeat(32)),
        b64u('iv-iv-iv-iv-'),
        segment(claimsFor('access')),
        b64u('t'.repeat(16)),
      ].join('.'),
  },
  {
    name: 'five segments: genuine token + two more',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => `${f.pair.access.token}.AAAA.AAAA`,
  },
  {
    name: 'empty header segment',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signSegments(f.key, '', segment(claimsFor('access'))),
  },
  {
    name: 'empty payload segment',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signSegments(f.key, segment(headerFor(f, 'access')), ''),
  },
  {
    name: 'empty signature segment',
    signed: 'no signature',
    expected: 'token_invalid',
    token: (f) => `${parts(f.pair.access.token).slice(0, 2).join('.')}.`,
  },
  { name: 'a single dot', signed: 'no signature', expected: 'token_invalid', token: '.' },
  { name: 'two dots', signed: 'no signature', expected: 'token_invalid', token: '..' },
  { name: 'three dots', signed: 'no signature', expected: 'token_invalid', token: '...' },
  { name: '8192 dots', signed: 'no signature', expected: 'token_invalid', token: '.'.repeat(8192) },
  { name: '1 MiB of dots (CVE-2025-30204)', signed: 'no signature', expected: 'token_invalid', token: '.'.repeat(1 << 20) },
  ...[
    ['U+2024 one dot leader', '\u2024'],
    ['U+FF0E fullwidth full stop', '\uff0e'],
    ['U+3002 ideographic full stop', '\u3002'],
    ['U+FE52 small full stop', '\ufe52'],
    ['U+00B7 middle dot', '\u00b7'],
  ].map(([name, dot]): Row => ({
    name: `dots replaced by ${name}`,
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => f.pair.access.token.replaceAll('.', dot ?? ''),
  })),
  {
    name: 'JWS JSON serialization (general)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => {
      const [h, p, s] = parts(f.pair.access.token);
      return JSON.stringify({ payload: p, signatures: [{ protected: h, signature: s }] });
    },
  },
  {
    name: 'JWS JSON serialization (flattened)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => {
      const [h, p, s] = parts(f.pair.access.token);
      return JSON.stringify({ protected: h, payload: p, signature: s });
    },
  },
  {
    name: 'JSON/compact polyglot (python-jwt CVE-2022-39227)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => {
      const [h, p, s] = parts(f.pair.access.token);
      const forged = segment(claimsFor('access', { sub: 'admin' }));
      return `{"  ${h}.${forged}.":"","protected":"${h}","payload":"${p}","signature":"${s}"}`;
    },
  },
  { name: 'token wrapped in quotes', signed: 'tampered', expected: 'token_invalid', token: (f) => `"${f.pair.access.token}"` },
  { name: 'token wrapped in braces', signed: 'tampered', expected: 'token_invalid', token: (f) => `{${f.pair.access.token}}` },
  {
    name: 'a quote inside the payload segment (signed over it)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => payloadResigned(f, (p) => `${p.slice(0, 4)}"${p.slice(4)}`),
  },
  { name: '"Bearer " left on the token', signed: 'tampered', expected: 'token_invalid', token: (f) => `Bearer ${f.pair.access.token}` },
];

// ---------------------------------------------------------------------------------------------
// Canonical base64url only (security.md §9: Node decodes all of these to the genuine bytes)
// ---------------------------------------------------------------------------------------------
const base64Rows: Row[] = [
  { name: "'=' padding after the signature", signed: 'tampered', expected: 'token_invalid', token: (f) => signatureChanged(f, (s) => `${s}=`) },
  { name: "'==' padding after the signature", signed: 'tampered', expected: 'token_invalid', token: (f) => signatureChanged(f, (s) => `${s}==`) },
  {
    name: "'=' padding after the payload (signed over it)",
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => payloadResigned(f, (p) => `${p}=`),
  },
  {
    name: "'=' padding after the header (signed over it)",
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => headerResigned(f, (h) => `${h}=`),
  },
  {
    name: "'+' and '/' in the signature (standard base64, same bytes)",
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) =>
      signatureChanged(
        f,
        toStandardBase64,
        tokenWhere(f, 'access', (t) => hasUrlSafeChar(parts(t)[2])),
      ),
  },
  {
    name: "'+' and '/' in the payload (signed over it)",
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) =>
      payloadResigned(
        f,
        toStandardBase64,
        tokenWhere(f, 'access', (t) => hasUrlSafeChar(parts(t)[1])),
      ),
  },
  {
    name: 'non-zero trailing bits in the signature (same bytes)',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => signatureChanged(f, nonCanonicalTail),
  },
  {
    name: 'non-zero trailing bits in the payload (signed over it)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) =>
      payloadResigned(
        f,
        nonCanonicalTail,
        tokenWhere(f, 'access', (t) => parts(t)[1].length % 4 > 1),
      ),
  },
  {
    name: 'non-zero trailing bits in the header (signed over it)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => {
      for (const pad of ['', 'x', 'xx']) {
        const token = tokenFor(f, 'access', { header: pad === '' ? {} : { pad } });
        if (parts(token)[0].length % 4 > 1) return headerResigned(f, nonCanonicalTail, token);
      }
      throw new TypeError('no header of the asked length');
    },
  },
  {
    name: 'a space inside the signature (skipped by Node)',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => signatureChanged(f, (s) => `${s.slice(0, 10)} ${s.slice(10)}`),
  },
  {
    name: "'$' inside the signature (skipped by Node)",
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => signatureChanged(f, (s) => `${s.slice(0, 10)}$${s.slice(10)}`),
  },
  {
    name: "'$' inside the payload (signed over it)",
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => payloadResigned(f, (p) => `${p.slice(0, 8)}$${p.slice(8)}`),
  },
  {
    name: 'a tab inside the payload (signed over it)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => payloadResigned(f, (p) => `${p.slice(0, 8)}\t${p.slice(8)}`),
  },
  {
    name: 'a line break inside the payload, MIME style (signed over it)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => payloadResigned(f, (p) => `${p.slice(0, 76)}\r\n${p.slice(76)}`),
  },
  {
    name: "'%' escapes in the payload (signed over it)",
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => payloadResigned(f, (p) => `${p.slice(0, 8)}%41${p.slice(8)}`),
  },
  {
    name: 'a zero-width space inside the payload',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => payloadResigned(f, (p) => `${p.slice(0, 8)}\u200b${p.slice(8)}`),
  },
  {
    name: 'a non-ASCII letter inside the payload',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => payloadResigned(f, (p) => `${p.slice(0, 8)}é${p.slice(8)}`),
  },
  { name: 'a leading space', signed: 'tampered', expected: 'token_invalid', token: (f) => ` ${f.pair.access.token}` },
  { name: 'a trailing space', signed: 'tampered', expected: 'token_invalid', token: (f) => `${f.pair.access.token} ` },
  { name: 'a trailing newline', signed: 'tampered', expected: 'token_invalid', token: (f) => `${f.pair.access.token}\n` },
  { name: 'a trailing CRLF', signed: 'tampered', expected: 'token_invalid', token: (f) => `${f.pair.access.token}\r\n` },
  { name: 'a trailing NUL', signed: 'tampered', expected: 'token_invalid', token: (f) => `${f.pair.access.token}\u0000` },
  { name: 'a trailing no-break space', signed: 'tampered', expected: 'token_invalid', token: (f) => `${f.pair.access.token}\u00a0` },
  {
    name: 'a line separator (U+2028) before the signature',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => signatureChanged(f, (s) => `\u2028${s}`),
  },
];

// ---------------------------------------------------------------------------------------------
// Size (security.md §1 item 10: refused before any parsing; the default limit is 8192)
// ---------------------------------------------------------------------------------------------
const sizeRows: Row[] = [
  { name: 'exactly 8192 characters (at the limit, accepted)', signed: 'real key', expected: 'ok', token: (f) => tokenOfLength(f, 'access', 8192) },
  { name: '8193 characters (8 KiB + 1)', signed: 'real key', expected: 'token_invalid', token: (f) => tokenOfLength(f, 'access', 8193) },
  {
    name: '8193 characters, as a refresh token',
    signed: 'real key',
    expected: 'token_invalid',
    as: 'refresh',
    token: (f) => tokenOfLength(f, 'refresh', 8193),
  },
  {
    name: '1 MiB genuinely signed token',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { claims: { pad: 'p'.repeat(1 << 20) } }),
  },
  { name: '1 MiB of base64url', signed: 'no signature', expected: 'token_invalid', token: 'A'.repeat(1 << 20) },
];

// ---------------------------------------------------------------------------------------------
// JSON: UTF-8 objects only, no duplicates, no __proto__ (RFC 8725 §3.7, RFC 7515 §5.2,
// fast-jwt CVE-2026-107723, security.md §9)
// ---------------------------------------------------------------------------------------------
const bytes = (...pieces: (string | number[])[]): Uint8Array =>
  Buffer.concat(pieces.map((piece) => (typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.from(piece))));

/** A marker that occurs nowhere else in a header or claims text. */
const MARK = '\u00a7\u00a7';

/** The claims JSON with the `sub` value's bytes replaced by `raw`. */
const claimsWithRawSub = (raw: number[]): Uint8Array => {
  const [before, after] = JSON.stringify(claimsFor('access', { sub: MARK })).split(MARK);
  return bytes(before ?? '', raw, after ?? '');
};

const jsonRows: Row[] = [
  {
    name: 'payload is an array of the claims',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), [claimsFor('access')]),
  },
  {
    name: 'payload is a JSON string',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), '"user-1"'),
  },
  { name: 'payload is a JSON number', signed: 'real key', expected: 'token_invalid', token: (f) => signedAccess(f, headerFor(f, 'access'), '42') },
  { name: 'payload is null', signed: 'real key', expected: 'token_invalid', token: (f) => signedAccess(f, headerFor(f, 'access'), 'null') },
  { name: 'payload is true', signed: 'real key', expected: 'token_invalid', token: (f) => signedAccess(f, headerFor(f, 'access'), 'true') },
  { name: 'payload is an empty object', signed: 'real key', expected: 'token_invalid', token: (f) => signedAccess(f, headerFor(f, 'access'), {}) },
  { name: 'payload is not JSON', signed: 'real key', expected: 'token_invalid', token: (f) => signedAccess(f, headerFor(f, 'access'), 'user-1') },
  {
    name: 'payload is deflated claims (no zip header)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), deflateRawSync(JSON.stringify(claimsFor('access')))),
  },
  {
    name: 'header is an array',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, [headerFor(f, 'access')], claimsFor('access')),
  },
  {
    name: 'header is a JSON string',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, JSON.stringify(JSON.stringify(headerFor(f, 'access'))), claimsFor('access')),
  },
  { name: 'header is null', signed: 'real key', expected: 'token_invalid', token: (f) => signedAccess(f, 'null', claimsFor('access')) },
  { name: 'header is an empty object', signed: 'real key', expected: 'token_invalid', token: (f) => signedAccess(f, {}, claimsFor('access')) },
  {
    name: 'invalid UTF-8 byte 0xFF in a claim',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsWithRawSub([0x75, 0xff])),
  },
  {
    name: 'overlong UTF-8 "/" (C0 AF) in a claim',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsWithRawSub([0xc0, 0xaf])),
  },
  {
    name: 'UTF-8-encoded surrogate (ED A0 80) in a claim',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsWithRawSub([0xed, 0xa0, 0x80])),
  },
  {
    name: 'truncated UTF-8 sequence (E2 82) in a claim',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsWithRawSub([0xe2, 0x82])),
  },
  {
    name: 'invalid UTF-8 in the header',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) =>
      signedAccess(f, bytes(JSON.stringify(headerFor(f, 'access', { note: MARK })).split(MARK)[0] ?? '', [0xff], '"}'), claimsFor('access')),
  },
  {
    name: 'UTF-8 BOM before the claims',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), bytes([0xef, 0xbb, 0xbf], JSON.stringify(claimsFor('access')))),
  },
  {
    name: 'UTF-8 BOM before the header',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, bytes([0xef, 0xbb, 0xbf], JSON.stringify(headerFor(f, 'access'))), claimsFor('access')),
  },
  {
    name: 'claims in UTF-16LE',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), Buffer.from(JSON.stringify(claimsFor('access')), 'utf16le')),
  },
  {
    name: 'duplicate alg in the header (none first)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerText(f, prepend('{"alg":"none",')), claimsFor('access')),
  },
  {
    name: 'duplicate kid in the header (unknown first)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerText(f, prepend('{"kid":"../../dev/null",')), claimsFor('access')),
  },
  {
    name: 'duplicate typ in the header (JWT first)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerText(f, prepend('{"typ":"JWT",')), claimsFor('access')),
  },
  {
    name: 'duplicate sub in the claims',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsText(prepend('{"sub":"admin",'))),
  },
  {
    name: 'duplicate exp in the claims (far future first)',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsText(prepend('{"exp":99999999999,'))),
  },
  {
    name: 'duplicate iss in the claims',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsText(prepend('{"iss":"https://attacker.example",'))),
  },
  {
    name: 'duplicate sub spelled with an escape ("\\u0073ub")',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsText(prepend('{"\\u0073ub":"admin",'))),
  },
  {
    name: '__proto__ claim',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsText(prepend('{"__proto__":{"admin":true},'))),
  },
  {
    name: '__proto__ claim spelled with escapes',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsText(prepend('{"\\u005f\\u005fproto__":{"admin":true},'))),
  },
  {
    name: '__proto__ member in the header',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerText(f, prepend('{"__proto__":{"alg":"none"},')), claimsFor('access')),
  },
  {
    name: 'trailing garbage after the claims object',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) =>
      signedAccess(
        f,
        headerFor(f, 'access'),
        claimsText((j) => `${j}x`),
      ),
  },
  {
    name: 'two concatenated claims objects',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) =>
      signedAccess(
        f,
        headerFor(f, 'access'),
        claimsText((j) => `${j}{"sub":"admin"}`),
      ),
  },
  {
    name: 'a comment in the claims',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsText(prepend('{/* admin */'))),
  },
  {
    name: 'a trailing comma in the claims',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) =>
      signedAccess(
        f,
        headerFor(f, 'access'),
        claimsText((j) => `${j.slice(0, -1)},}`),
      ),
  },
  {
    name: 'single-quoted JSON',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) =>
      signedAccess(
        f,
        headerFor(f, 'access'),
        claimsText((j) => j.replace(/"/g, "'")),
      ),
  },
  {
    name: 'NaN as a claim value',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsText(prepend('{"x":NaN,'))),
  },
  // Controls: valid JSON that is not the obvious form still verifies.
  {
    name: 'JSON whitespace around the claims (valid JSON)',
    signed: 'real key',
    expected: 'ok',
    token: (f) =>
      signedAccess(
        f,
        headerFor(f, 'access'),
        claimsText((j) => ` \r\n${j}\t `),
      ),
  },
  {
    name: 'a 2500-deep nested extra claim (no recursion limit hit)',
    signed: 'real key',
    expected: 'ok',
    token: (f) => signedAccess(f, headerFor(f, 'access'), claimsText(prepend(`{"deep":${'['.repeat(2500)}${']'.repeat(2500)},`))),
  },
  {
    name: 'a nested object repeating a reserved name (only top level counts)',
    signed: 'real key',
    expected: 'ok',
    token: (f) => tokenFor(f, 'access', { claims: { ctx: { sub: 'other', exp: 0 } } }),
  },
];

runTable('segments', fixtures, segmentRows);
runTable('base64url', fixtures, base64Rows);
runTable('size', fixtures, sizeRows);
runTable('JSON', fixtures, jsonRows);

// Keeps the helper honest: a genuine token signed by `withSignature` plus the real MAC verifies.
runTable('controls', fixtures, [
  {
    name: 'hand-assembled token with the genuine signature',
    signed: 'real key',
    expected: 'ok',
    token: (f) => {
      const header = headerFor(f, 'access');
      const claims = claimsFor('access');
      return withSignature(header, claims, parts(sign(f.key, header, claims))[2]);
    },
  },
]);
