// Hostile tokens, part 3: claims, explicit typing and token kinds (security.md §1 items 11–13,
// RFC 9068 §4, RFC 8725 §3.8–3.12, CVE-2025-30144, CVE-2024-53861). Every row is signed with the
// genuine key of its kind unless it says otherwise, so the claim or typing rule is what refuses it.
import type { TokenKind } from '../../src/index.js';
import {
  ACCESS_TTL,
  AUDIENCE,
  audienceFor,
  claimsFor,
  createFixtures,
  headerFor,
  ISSUER,
  LEEWAY,
  NOW_S,
  parts,
  REFRESH_TTL,
  runTable,
  sign,
  TYP,
  tokenFor,
  type Fixture,
  type Row,
} from '../support/forge.js';

const fixtures = await createFixtures();

const KINDS: readonly TokenKind[] = ['access', 'refresh'];
const ttlOf = (kind: TokenKind): number => (kind === 'access' ? ACCESS_TTL : REFRESH_TTL);
const otherKind = (kind: TokenKind): TokenKind => (kind === 'access' ? 'refresh' : 'access');

/** A row for `kind`: a token of that kind with `claims` changed, signed with its genuine key and verified as that kind. */
function claimRow(kind: TokenKind, name: string, claims: Record<string, unknown>, expected: Row['expected'], on?: Row['on']): Row {
  return {
    name: `${kind}: ${name}`,
    signed: 'real key',
    expected,
    as: kind,
    ...(on === undefined ? {} : { on }),
    token: (f) => tokenFor(f, kind, { claims }),
  };
}

/** A row for `kind` with the header changed instead. */
function headerRow(kind: TokenKind, name: string, header: Record<string, unknown>, expected: Row['expected']): Row {
  return { name: `${kind}: ${name}`, signed: 'real key', expected, as: kind, token: (f) => tokenFor(f, kind, { header }) };
}

/** A row for `kind` whose claims JSON text is edited (for values JSON.stringify cannot write, like 1e999). */
function rawClaimRow(kind: TokenKind, name: string, edit: (json: string) => string, expected: Row['expected']): Row {
  return {
    name: `${kind}: ${name}`,
    signed: 'real key',
    expected,
    as: kind,
    token: (f: Fixture) => {
      const key = kind === 'access' ? f.key : f.refreshKey;
      return sign(key, headerFor(f, kind), edit(JSON.stringify(claimsFor(kind))));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Time claims: finite non-negative numbers; exp required; nbf/iat not in the future; lifetime capped
// ---------------------------------------------------------------------------------------------
const timeRows = (kind: TokenKind): Row[] => [
  claimRow(kind, 'exp as a numeric string', { exp: String(NOW_S + 60) }, 'token_invalid'),
  claimRow(kind, 'exp as the string "1e999"', { exp: '1e999' }, 'token_invalid'),
  rawClaimRow(kind, 'exp written as 1e999 (Infinity once parsed)', (j) => j.replace(/"exp":\d+/, '"exp":1e999'), 'token_invalid'),
  rawClaimRow(kind, 'exp written as -1e999', (j) => j.replace(/"exp":\d+/, '"exp":-1e999'), 'token_invalid'),
  claimRow(kind, 'exp 1e308 (finite, beyond any lifetime)', { exp: 1e308 }, 'token_invalid'),
  claimRow(kind, 'exp null', { exp: null }, 'token_invalid'),
  claimRow(kind, 'exp negative', { exp: -1 }, 'token_invalid'),
  claimRow(kind, 'exp missing', { exp: undefined }, 'token_invalid'),
  claimRow(kind, 'exp as an array', { exp: [NOW_S + 60] }, 'token_invalid'),
  claimRow(kind, 'exp true', { exp: true }, 'token_invalid'),
  claimRow(kind, 'exp false', { exp: false }, 'token_invalid'),
  claimRow(kind, 'exp as an object', { exp: { value: NOW_S + 60 } }, 'token_invalid'),
  claimRow(kind, 'exp equal to now', { exp: NOW_S }, 'token_expired'),
  claimRow(kind, 'exp one second ago', { exp: NOW_S - 1 }, 'token_expired'),
  claimRow(kind, 'exp one second ahead', { exp: NOW_S + 1 }, 'ok'),
  claimRow(kind, 'exp 10 s ago, within a 30 s leeway', { exp: NOW_S - 10 }, 'ok', 'lenient'),
  claimRow(kind, 'exp exactly a leeway ago', { exp: NOW_S - LEEWAY }, 'token_expired', 'lenient'),
  claimRow(
    kind,
    'expired and issued long ago',
    { iat: NOW_S - ttlOf(kind) - 100, nbf: NOW_S - ttlOf(kind) - 100, exp: NOW_S - 100 },
    'token_expired',
  ),
  claimRow(kind, 'nbf one second ahead', { nbf: NOW_S + 1 }, 'token_not_yet_valid'),
  claimRow(kind, 'nbf 10 s ahead, within a 30 s leeway', { nbf: NOW_S + 10 }, 'ok', 'lenient'),
  claimRow(kind, 'nbf exactly a leeway ahead', { nbf: NOW_S + LEEWAY }, 'ok', 'lenient'),
  claimRow(kind, 'nbf beyond the leeway', { nbf: NOW_S + LEEWAY + 1 }, 'token_not_yet_valid', 'lenient'),
  claimRow(kind, 'nbf as a string', { nbf: String(NOW_S) }, 'token_invalid'),
  claimRow(kind, 'nbf null', { nbf: null }, 'token_invalid'),
  claimRow(kind, 'nbf negative', { nbf: -5 }, 'token_invalid'),
  claimRow(kind, 'nbf missing (optional)', { nbf: undefined }, 'ok'),
  claimRow(kind, 'iat one second ahead', { iat: NOW_S + 1, nbf: undefined }, 'token_not_yet_valid'),
  claimRow(kind, 'iat an hour ahead', { iat: NOW_S + 3600, nbf: undefined, exp: NOW_S + 3600 + 60 }, 'token_not_yet_valid'),
  claimRow(kind, 'iat 10 s ahead, within a 30 s leeway', { iat: NOW_S + 10, nbf: undefined }, 'ok', 'lenient'),
  claimRow(kind, 'iat beyond the leeway', { iat: NOW_S + LEEWAY + 1, nbf: undefined }, 'token_not_yet_valid', 'lenient'),
  claimRow(kind, 'iat missing', { iat: undefined }, 'token_invalid'),
  claimRow(kind, 'iat as a string', { iat: String(NOW_S) }, 'token_invalid'),
  claimRow(kind, 'iat null', { iat: null }, 'token_invalid'),
  claimRow(kind, 'iat negative', { iat: -1 }, 'token_invalid'),
  rawClaimRow(kind, 'iat written as -1e999', (j) => j.replace(/"iat":\d+/, '"iat":-1e999'), 'token_invalid'),
  claimRow(kind, 'exp − iat equal to the configured lifetime', { exp: NOW_S + ttlOf(kind) }, 'ok'),
  claimRow(kind, 'exp − iat one second over the configured lifetime', { exp: NOW_S + ttlOf(kind) + 1 }, 'token_invalid'),
  claimRow(kind, 'iat backdated so exp − iat exceeds the lifetime', { iat: NOW_S - ttlOf(kind), nbf: undefined, exp: NOW_S + 60 }, 'token_invalid'),
];

// ---------------------------------------------------------------------------------------------
// iss / aud / sub / jti / sid / type / fresh / csrf
// ---------------------------------------------------------------------------------------------
const identityRows = (kind: TokenKind): Row[] => {
  const aud = audienceFor(kind);
  return [
    claimRow(kind, 'iss as an array holding the issuer', { iss: [ISSUER] }, 'token_invalid'),
    claimRow(kind, 'iss as an array, attacker first (CVE-2025-30144)', { iss: ['https://attacker.example', ISSUER] }, 'token_invalid'),
    claimRow(kind, 'iss a prefix of the issuer (CVE-2024-53861)', { iss: ISSUER.slice(0, -3) }, 'token_invalid'),
    claimRow(kind, 'iss "https:" (substring)', { iss: 'https:' }, 'token_invalid'),
    claimRow(kind, 'iss with a trailing slash', { iss: `${ISSUER}/` }, 'token_invalid'),
    claimRow(kind, 'iss extended with another host', { iss: `${ISSUER}.attacker.example` }, 'token_invalid'),
    claimRow(kind, 'iss in upper case', { iss: ISSUER.toUpperCase() }, 'token_invalid'),
    claimRow(kind, 'iss wrong', { iss: 'https://attacker.example' }, 'token_invalid'),
    claimRow(kind, 'iss missing', { iss: undefined }, 'token_invalid'),
    claimRow(kind, 'iss null', { iss: null }, 'token_invalid'),
    claimRow(kind, 'iss empty', { iss: '' }, 'token_invalid'),
    claimRow(kind, 'aud wrong', { aud: 'https://other.example' }, 'token_invalid'),
    claimRow(kind, 'aud an empty array', { aud: [] }, 'token_invalid'),
    claimRow(kind, 'aud an array of numbers', { aud: [1, 2] }, 'token_invalid'),
    claimRow(kind, 'aud an array with the audience and a number', { aud: [aud, 1] }, 'token_invalid'),
    claimRow(kind, 'aud an array with the audience and null', { aud: [null, aud] }, 'token_invalid'),
    claimRow(kind, 'aud an array holding an array with the audience', { aud: [[aud]] }, 'token_invalid'),
    claimRow(kind, 'aud missing', { aud: undefined }, 'token_invalid'),
    claimRow(kind, 'aud null', { aud: null }, 'token_invalid'),
    claimRow(kind, 'aud empty string', { aud: '' }, 'token_invalid'),
    claimRow(kind, 'aud a prefix of the audience', { aud: aud.slice(0, -2) }, 'token_invalid'),
    claimRow(kind, 'aud as an object', { aud: { aud } }, 'token_invalid'),
    claimRow(kind, `aud of the ${otherKind(kind)} kind (cross-JWT confusion)`, { aud: audienceFor(otherKind(kind)) }, 'token_invalid'),
    claimRow(kind, 'aud an array holding only the audience', { aud: [aud] }, 'ok'),
    claimRow(kind, 'aud an array containing the audience', { aud: ['https://other.example', aud] }, 'ok'),
    claimRow(kind, 'sub missing', { sub: undefined }, 'token_invalid'),
    claimRow(kind, 'sub a number', { sub: 42 }, 'token_invalid'),
    claimRow(kind, 'sub empty', { sub: '' }, 'token_invalid'),
    claimRow(kind, 'sub null', { sub: null }, 'token_invalid'),
    claimRow(kind, 'sub an array', { sub: ['user-1'] }, 'token_invalid'),
    claimRow(kind, 'sub of 257 characters', { sub: 'u'.repeat(257) }, 'token_invalid'),
    claimRow(kind, 'sub of 256 characters', { sub: 'u'.repeat(256) }, 'ok'),
    claimRow(kind, 'jti missing', { jti: undefined }, 'token_invalid'),
    claimRow(kind, 'jti empty', { jti: '' }, 'token_invalid'),
    claimRow(kind, 'jti a number', { jti: 7 }, 'token_invalid'),
    claimRow(kind, 'sid missing', { sid: undefined }, 'token_invalid'),
    claimRow(kind, 'sid empty', { sid: '' }, 'token_invalid'),
    claimRow(kind, 'sid a number', { sid: 7 }, 'token_invalid'),
    claimRow(kind, 'sid an object', { sid: { id: 'sid-1' } }, 'token_invalid'),
    claimRow(kind, 'type missing', { type: undefined }, 'token_invalid'),
    claimRow(kind, `type "${otherKind(kind)}" under a ${TYP[kind]} header`, { type: otherKind(kind) }, 'token_invalid'),
    claimRow(kind, 'type in upper case', { type: kind.toUpperCase() }, 'token_invalid'),
    claimRow(kind, 'type as an array', { type: [kind] }, 'token_invalid'),
    claimRow(kind, 'csrf a number', { csrf: 1 }, 'token_invalid'),
    claimRow(kind, 'csrf empty', { csrf: '' }, 'token_invalid'),
    claimRow(kind, 'csrf a string', { csrf: 'csrf-value' }, 'ok'),
    claimRow(kind, 'unknown extra claims', { role: 'admin', 'https://example.com/is_root': true, n: [1, { a: null }] }, 'ok'),
  ];
};

const freshRows: Row[] = [
  claimRow('access', 'fresh as the string "true"', { fresh: 'true' }, 'token_invalid'),
  claimRow('access', 'fresh 1', { fresh: 1 }, 'token_invalid'),
  claimRow('access', 'fresh null', { fresh: null }, 'token_invalid'),
  claimRow('access', 'fresh true', { fresh: true }, 'ok'),
  claimRow('access', 'fresh missing', { fresh: undefined }, 'ok'),
  claimRow('access', 'access lifetime of a refresh token', { exp: NOW_S + REFRESH_TTL }, 'token_invalid'),
  claimRow('refresh', 'fresh true on a refresh token', { fresh: true }, 'token_invalid'),
  claimRow('refresh', 'fresh false on a refresh token', { fresh: false }, 'token_invalid'),
];

// ---------------------------------------------------------------------------------------------
// Explicit typing (RFC 9068 §2.1/§4 step 1, RFC 8725 §3.11–3.12) and kind confusion
// ---------------------------------------------------------------------------------------------
const typingRows = (kind: TokenKind): Row[] => {
  const typ = TYP[kind];
  return [
    headerRow(kind, 'typ "JWT"', { typ: 'JWT' }, 'token_invalid'),
    headerRow(kind, 'typ "jwt"', { typ: 'jwt' }, 'token_invalid'),
    headerRow(kind, 'typ "application/jwt"', { typ: 'application/jwt' }, 'token_invalid'),
    headerRow(kind, 'typ missing', { typ: undefined }, 'token_invalid'),
    headerRow(kind, 'typ empty', { typ: '' }, 'token_invalid'),
    headerRow(kind, 'typ null', { typ: null }, 'token_invalid'),
    headerRow(kind, 'typ as an array', { typ: [typ] }, 'token_invalid'),
    headerRow(kind, `typ "${TYP[otherKind(kind)]}" on the ${kind} key`, { typ: TYP[otherKind(kind)] }, 'token_invalid'),
    headerRow(kind, 'typ with a trailing space', { typ: `${typ} ` }, 'token_invalid'),
    headerRow(kind, 'typ with a leading space', { typ: ` ${typ}` }, 'token_invalid'),
    headerRow(kind, 'typ with another prefix', { typ: `x-${typ}` }, 'token_invalid'),
    headerRow(kind, 'typ "application/" with nothing after', { typ: 'application/' }, 'token_invalid'),
    headerRow(kind, 'typ in upper case (media types are case-insensitive)', { typ: typ.toUpperCase() }, 'ok'),
    headerRow(kind, `typ "application/${typ}"`, { typ: `application/${typ}` }, 'ok'),
    headerRow(kind, `typ "APPLICATION/${typ.toUpperCase()}"`, { typ: `APPLICATION/${typ.toUpperCase()}` }, 'ok'),
  ];
};

const kindRows: Row[] = [
  headerRow('access', 'typ "at+JWT" (RFC 9068’s own example)', { typ: 'at+JWT' }, 'ok'),
  { name: 'genuine access token (control)', signed: 'real key', expected: 'ok', token: (f) => f.pair.access.token },
  { name: 'genuine refresh token (control)', signed: 'real key', expected: 'ok', as: 'refresh', token: (f) => f.pair.refresh.token },
  { name: 'refresh token presented as an access token', signed: 'real key', expected: 'token_type_invalid', token: (f) => f.pair.refresh.token },
  {
    name: 'access token presented as a refresh token',
    signed: 'real key',
    expected: 'token_type_invalid',
    as: 'refresh',
    token: (f) => f.pair.access.token,
  },
  {
    name: 'refresh-keyed rt+jwt token with access claims, presented as access',
    signed: 'real key',
    expected: 'token_type_invalid',
    token: (f) => sign(f.refreshKey, headerFor(f, 'refresh'), claimsFor('access')),
  },
  {
    name: 'access-keyed at+jwt token with refresh claims, presented as refresh',
    signed: 'real key',
    expected: 'token_type_invalid',
    as: 'refresh',
    token: (f) => sign(f.key, headerFor(f, 'access'), claimsFor('refresh')),
  },
  {
    name: 'access-keyed at+jwt token with refresh claims, presented as access',
    signed: 'real key',
    expected: 'token_invalid',
    token: (f) => sign(f.key, headerFor(f, 'access'), claimsFor('refresh', { aud: AUDIENCE })),
  },
  {
    name: 'refresh-keyed token with typ at+jwt and access claims',
    signed: 'refresh secret',
    expected: 'token_invalid',
    token: (f) => sign(f.refreshKey, headerFor(f, 'refresh', { typ: 'at+jwt' }), claimsFor('access')),
  },
  {
    name: 'access-keyed token with typ rt+jwt and refresh claims, presented as refresh',
    signed: 'real key',
    expected: 'token_invalid',
    as: 'refresh',
    token: (f) => sign(f.key, headerFor(f, 'access', { typ: 'rt+jwt' }), claimsFor('refresh')),
  },
  // The signature comes first: no claim or kind verdict for a forgery (security.md §1 item 8).
  {
    name: 'forged and expired: the signature verdict wins',
    signed: 'attacker key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { claims: { exp: NOW_S - 100, iat: NOW_S - 200, nbf: undefined }, key: f.attacker }),
  },
  {
    name: 'forged and not yet valid: the signature verdict wins',
    signed: 'attacker key',
    expected: 'token_invalid',
    token: (f) => tokenFor(f, 'access', { claims: { nbf: NOW_S + 100 }, key: f.attacker }),
  },
  {
    name: 'refresh token with a tampered MAC, presented as access: invalid, not wrong kind',
    signed: 'tampered',
    expected: 'token_invalid',
    token: (f) => {
      const [h, p, s] = parts(f.pair.refresh.token);
      return `${h}.${p}.${s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`}`;
    },
  },
  // A malformed claim outranks expiry, so a bad token is never reported as merely expired.
  claimRow('access', 'expired with a wrong issuer', { iss: 'https://attacker.example', exp: NOW_S - 1 }, 'token_invalid'),
];

runTable('time claims', fixtures, KINDS.flatMap(timeRows));
runTable('identity claims', fixtures, [...KINDS.flatMap(identityRows), ...freshRows]);
runTable('typing and kinds', fixtures, [...KINDS.flatMap(typingRows), ...kindRows]);
