// The catalogue of hostile tokens the hardening suites send to a live server. Each one is built
// from a genuine token of a LIVE session (its sub and sid are real), so that only verification can
// refuse it: were any accepted, the guarded route would answer 200. Rows marked "real key" are
// signed with the server's own key (read from the in-process runtime) to isolate the one rule
// under test; every other row is something an attacker can build from public material alone.
// Long on purpose: a catalogue of forged tokens, one entry each.
import { createHmac, createPublicKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { generateKey, type Jwks, type Key } from '@tessera/auth';
import { b64u, claimsOf, hmacWith, nonCanonicalTail, segment, sign, signature } from '@tessera/test-kit';

/** What the token is, for the docs' mapping (security.md §1 / §8 classes). */
export type ForgeryClass =
  | 'alg none'
  | 'algorithm confusion'
  | 'key material in header'
  | 'crit and unsupported header'
  | 'claim abuse'
  | 'encoding abuse'
  | 'oversize'
  | 'wrong kind';

export interface Forgery {
  readonly class: ForgeryClass;
  readonly name: string;
  readonly token: string;
  /** The refusal code of the token itself (a Bearer header that is not a b64token is refused earlier, see `expectedFor`). */
  readonly code: 'token_invalid' | 'token_expired' | 'token_not_yet_valid' | 'token_type_invalid' | 'token_revoked';
  /** Signed with the server's own key: tests one rule alone. */
  readonly realKey: boolean;
}

/** RFC 6750 §2.1 b64token, the only thing a Bearer credential may be. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** Whether a Cookie header value can carry the text: visible ASCII without `;`, `,`, `\\` or spaces (fetch refuses some, the rest would split it). */
const cookieSafe = (text: string): boolean => [...text].every((c) => c.charCodeAt(0) > 0x20 && c.charCodeAt(0) < 0x7f && !';,\\'.includes(c));

/** Where a hostile access token is presented. */
export type Location = 'header' | 'cookie';

/** The status and code a forgery must get where it is presented, or undefined when it cannot be sent there. */
export function expectedFor(f: Forgery, location: Location): { status: number; code: string } | undefined {
  if (location === 'header') return B64TOKEN.test(f.token) ? { status: 401, code: f.code } : { status: 400, code: 'invalid_request' };
  return cookieSafe(f.token) ? { status: 401, code: f.code } : undefined;
}

/** A server that records every request: where a `jku`/`x5u` header points. Any hit is SSRF. */
export interface Spy {
  readonly url: string;
  readonly hits: string[];
  close(): Promise<void>;
}

export async function startSpy(jwks: unknown): Promise<Spy> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method ?? ''} ${req.url ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ForgeContext {
  /** A genuine access token of a live session. */
  readonly access: string;
  /** A genuine refresh token (of another live session, so that a mistake cannot revoke the victim). */
  readonly refresh: string;
  /** The server's signing key for access tokens and its refresh key (in-process runtime). */
  readonly accessKey: Key;
  readonly refreshKey: Key;
  /** What the server publishes at /.well-known/jwks.json. */
  readonly jwks: Jwks;
  readonly accessTtl: number;
  readonly spy: Spy;
}

const HEADER = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/** `base` with `changes` applied; a change to `undefined` removes the member. */
function withChanges(base: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries({ ...base, ...changes }).filter(([, v]) => v !== undefined));
}

/** A token whose payload is exactly `payloadText` (raw JSON text, e.g. `1e999`), signed with `key`. */
function signRaw(key: Key, header: Record<string, unknown>, payloadText: string | Buffer): string {
  return sign(key, header, typeof payloadText === 'string' ? payloadText : new Uint8Array(payloadText));
}

/** The MAC an attacker computes with public material as the HMAC key (CVE-2015-9235 and its many returns, security.md §8). */
function confused(header: Record<string, unknown>, claims: Record<string, unknown>, material: string | Uint8Array): string {
  const input = `${segment(header)}.${segment(claims)}`;
  return `${input}.${hmacWith(material, input).toString('base64url')}`;
}

/** Every form of the published public keys an attacker might try as an HMAC secret. */
function publicMaterials(jwks: Jwks): { name: string; material: string | Uint8Array }[] {
  const out: { name: string; material: string | Uint8Array }[] = [];
  for (const jwk of jwks.keys) {
    const record = jwk as Record<string, unknown>;
    const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const der = publicKey.export({ type: 'spki', format: 'der' });
    out.push({ name: 'the JWKS public key as PEM', material: pem });
    out.push({ name: 'the PEM with a leading newline and spaces (CVE-2026-34950)', material: `\n   ${pem}` });
    out.push({ name: 'the SPKI DER bytes (CVE-2026-85394)', material: new Uint8Array(der) });
    out.push({ name: 'the JWK JSON text (GHSA-g3jj-5cmm-3hxx)', material: JSON.stringify(jwk) });
    out.push({ name: 'the whole JWKS document text', material: JSON.stringify(jwks) });
    if (typeof record.x === 'string') {
      out.push({ name: 'the JWK x member text', material: record.x });
      out.push({ name: 'the raw x bytes', material: new Uint8Array(Buffer.from(record.x, 'base64url')) });
    }
  }
  return out;
}

/** A genuinely signed access token longer than the 8 KiB the verifier looks at (a padding claim). */
function oversize(key: Key, header: Record<string, unknown>, claims: Record<string, unknown>, length: number): string {
  return sign(key, header, { ...claims, pad: 'p'.repeat(Math.ceil((length * 3) / 4)) });
}

/** Signs variations of a claims set until a segment contains `char` (for the '+'/'/' alphabet cases). */
function tokenWithChar(key: Key, header: Record<string, unknown>, claims: Record<string, unknown>, char: '-' | '_'): string {
  for (let n = 0; n < 256; n++) {
    // '~~~' encodes as 'fn5-' and '???' as 'Pz8_': each filler brings its character in.
    const token = sign(key, header, { ...claims, filler: (char === '-' ? '~' : '?').repeat(n) });
    if ((token.split('.')[1] ?? '').includes(char)) return token;
  }
  throw new Error(`no payload segment with ${char}`);
}

/** The whole catalogue for one live server. */
export async function forgeries(ctx: ForgeContext): Promise<Forgery[]> {
  const { accessKey: key, refreshKey } = ctx;
  const header = HEADER(ctx.access);
  const claims = claimsOf(ctx.access);
  const now = Math.floor(Date.now() / 1000);
  const [h, p, s] = ctx.access.split('.') as [string, string, string];
  const asymmetric = key.alg !== 'HS256';
  const attacker = await generateKey(key.alg);
  const attackerEd = await generateKey(key.alg === 'EdDSA' ? 'ES256' : 'EdDSA');
  const attackerPublic = attacker.alg === 'HS256' ? undefined : attacker.verifyingKey.export({ format: 'jwk' });
  const rows: Forgery[] = [];
  const add = (cls: ForgeryClass, name: string, token: string, code: Forgery['code'] = 'token_invalid', realKey = false): void => {
    rows.push({ class: cls, name, token, code, realKey });
  };
  const real = (changes: Record<string, unknown> = {}, headerChanges: Record<string, unknown> = {}): string =>
    sign(key, withChanges(header, headerChanges), withChanges(claims, changes));

  // --- alg none (RFC 8725 §3.2, CVE-2022-23540; allowlists, never blocklists: 8725bis §2.11)
  for (const none of ['none', 'None', 'NONE', 'nOnE']) add('alg none', `alg ${none}, empty signature`, `${segment({ ...header, alg: none })}.${p}.`);
  add('alg none', 'alg none with the genuine signature kept', `${segment({ ...header, alg: 'none' })}.${p}.${s}`);
  add('alg none', 'alg none without kid or typ', `${segment({ alg: 'none' })}.${p}.`);
  add('alg none', 'no alg at all, genuine signature', `${segment(withChanges(header, { alg: undefined }))}.${p}.${s}`);
  add('alg none', 'alg "" (empty)', `${segment({ ...header, alg: '' })}.${p}.${s}`);
  add('alg none', 'alg HS512 (not ours), MAC with an empty key', confused({ ...header, alg: 'HS512' }, claims, ''));

  // --- algorithm confusion (CVE-2015-9235, CVE-2022-23541, CVE-2023-48223, CVE-2024-33663, ...)
  for (const { name, material } of publicMaterials(ctx.jwks)) {
    add('algorithm confusion', `HS256 keyed with ${name}, our kid`, confused({ ...header, alg: 'HS256' }, claims, material));
    add('algorithm confusion', `HS256 keyed with ${name}, no kid`, confused(withChanges(header, { alg: 'HS256', kid: undefined }), claims, material));
    add(
      'algorithm confusion',
      `HS256 keyed with ${name}, the refresh key's kid`,
      confused({ ...header, alg: 'HS256', kid: refreshKey.kid }, claims, material),
      'token_invalid',
    );
  }
  add('algorithm confusion', 'HS256 keyed with the empty string (CVE-2026-114616)', confused({ ...header, alg: 'HS256' }, claims, ''));
  add('algorithm confusion', 'HS256 keyed with the issuer name', confused({ ...header, alg: 'HS256' }, claims, String(claims.iss)));
  add('algorithm confusion', 'HS256 keyed with the kid', confused({ ...header, alg: 'HS256' }, claims, String(header.kid)));
  add(
    'algorithm confusion',
    `another algorithm (${attackerEd.alg}) signed by the attacker under our kid`,
    sign(attackerEd, { ...header, alg: attackerEd.alg }, claims),
  );
  add(
    'algorithm confusion',
    'RS256 header with our kid, attacker signature',
    `${segment({ ...header, alg: 'RS256' })}.${p}.${b64u(new Uint8Array(256))}`,
  );
  if (asymmetric) {
    // The header still says our algorithm, but the MAC is an HMAC over the public key: a verifier that trusted key strings would take it.
    const pem = key.verifyingKey.export({ type: 'spki', format: 'pem' }).toString();
    add('algorithm confusion', `${key.alg} header, HMAC signature keyed with the PEM`, confused(header, claims, pem));
  }

  // --- key material and key selection in the header (RFC 8725 §3.10, CVE-2018-0114; never fetched: SSRF)
  const attackerJwk = { ...attackerPublic, kid: attacker.kid, alg: attacker.alg };
  const byAttacker = (changes: Record<string, unknown>): string => sign(attacker, withChanges({ ...header, kid: attacker.kid }, changes), claims);
  add('key material in header', "signed by the attacker's key under our kid", sign(attacker, header, claims));
  add('key material in header', "signed by the attacker's key under its own kid", byAttacker({}));
  if (attackerPublic !== undefined) {
    add('key material in header', 'embedded jwk of the attacker (its kid)', byAttacker({ jwk: attackerJwk }));
    add('key material in header', 'embedded jwk of the attacker under our kid', sign(attacker, { ...header, jwk: attackerJwk }, claims));
  } else {
    add('key material in header', 'embedded oct jwk with the MAC secret', byAttacker({ jwk: { kty: 'oct', k: b64u('attacker-secret') } }));
  }
  add('key material in header', 'jku pointing at the attacker JWKS', byAttacker({ jku: `${ctx.spy.url}/jwks.json` }));
  add('key material in header', 'jku under our kid', sign(attacker, { ...header, jku: `${ctx.spy.url}/ours.json` }, claims));
  add('key material in header', 'x5u pointing at the attacker', byAttacker({ x5u: `${ctx.spy.url}/cert.pem` }));
  add('key material in header', 'x5c with a junk certificate', byAttacker({ x5c: [b64u('not a certificate').replace(/-/g, '+')] }));
  add(
    'key material in header',
    'kid path traversal, MAC keyed with an empty file',
    confused({ ...header, alg: 'HS256', kid: '../../../../../../dev/null' }, claims, ''),
  );
  add(
    'key material in header',
    'kid SQL injection',
    confused({ ...header, alg: 'HS256', kid: "x' UNION SELECT 'k' AS private_jwk --" }, claims, 'k'),
  );
  add('key material in header', 'kid as a number', sign(attacker, { ...header, kid: 1 }, claims));
  add('key material in header', 'kid as an object', sign(attacker, { ...header, kid: { $ne: null } }, claims));
  add('key material in header', 'kid as an array of our kid', sign(attacker, { ...header, kid: [header.kid] }, claims));

  // --- crit and headers of extensions or JWE we do not implement (RFC 7515 §4.1.11, CVE-2026-32597, CVE-2025-59420)
  add('crit and unsupported header', 'crit ["exp"] (real key)', real({}, { crit: ['exp'] }), 'token_invalid', true);
  add('crit and unsupported header', 'crit [] (real key)', real({}, { crit: [] }), 'token_invalid', true);
  add('crit and unsupported header', 'crit ["b64"] with b64 false (real key)', real({}, { crit: ['b64'], b64: false }), 'token_invalid', true);
  add('crit and unsupported header', 'crit as a string (real key)', real({}, { crit: 'http://example.invalid/UNDEFINED' }), 'token_invalid', true);
  add('crit and unsupported header', 'zip DEF (real key, CVE-2024-28176)', real({}, { zip: 'DEF' }), 'token_invalid', true);
  add('crit and unsupported header', 'enc A256GCM: a JWE header (real key)', real({}, { enc: 'A256GCM' }), 'token_invalid', true);
  add('crit and unsupported header', 'typ JWT instead of at+jwt (real key)', real({}, { typ: 'JWT' }), 'token_invalid', true);
  add('crit and unsupported header', 'typ missing (real key)', real({}, { typ: undefined }), 'token_invalid', true);
  add('crit and unsupported header', 'header is a JSON array (real key)', sign(key, [header], claims), 'token_invalid', true);
  add(
    'crit and unsupported header',
    'header with a __proto__ member (real key)',
    sign(key, `{"__proto__":{"alg":"none"},${JSON.stringify(header).slice(1)}`, claims),
    'token_invalid',
    true,
  );
  add(
    'crit and unsupported header',
    'header names alg twice (real key)',
    sign(key, `{"alg":"none",${JSON.stringify(header).slice(1)}`, claims),
    'token_invalid',
    true,
  );

  // --- claim abuse, all with the real key (RFC 7519 §4.1, RFC 9068 §4, security.md §1 items 11-13)
  const claim = (name: string, changes: Record<string, unknown>, code: Forgery['code'] = 'token_invalid'): void =>
    add('claim abuse', `${name} (real key)`, real(changes), code, true);
  claim('exp as a string', { exp: String(claims.exp) });
  claim('exp missing', { exp: undefined });
  claim('exp negative', { exp: -1 });
  claim('exp null', { exp: null });
  claim('exp true', { exp: true });
  claim('exp as an array', { exp: [claims.exp] });
  add(
    'claim abuse',
    'exp 1e999, Infinity in JS (real key)',
    signRaw(key, header, JSON.stringify(claims).replace(/"exp":\d+/, '"exp":1e999')),
    'token_invalid',
    true,
  );
  claim('expired one second ago', { iat: now - 120, nbf: now - 120, exp: now - 1 }, 'token_expired');
  // Ten minutes ahead, well inside the victim's 15-minute token: the catalogue is made once, and a file of tests on a busy
  // machine can take over a minute to reach these rows (a minute ahead was in the past by then, and the token valid).
  claim('not valid for another ten minutes (nbf)', { nbf: now + 600 }, 'token_not_yet_valid');
  claim('issued in the future (iat)', { iat: now + 600, nbf: now + 600, exp: now + 660 }, 'token_not_yet_valid');
  claim('lifetime longer than the access lifetime', { iat: now, nbf: now, exp: now + ctx.accessTtl + 3600 });
  claim('iss as an array holding ours (CVE-2025-30144)', { iss: ['https://attacker.example', claims.iss] });
  claim('iss a prefix of ours (CVE-2024-53861)', { iss: String(claims.iss).slice(0, -2) });
  claim('iss missing', { iss: undefined });
  claim('aud of another resource', { aud: 'https://other.example' });
  claim('aud missing', { aud: undefined });
  claim('aud an empty array', { aud: [] });
  claim('aud the issuer (what refresh tokens carry)', { aud: claims.iss });
  claim('sub empty', { sub: '' });
  claim('sub a number', { sub: 1 });
  claim('sub missing', { sub: undefined });
  claim('sid missing', { sid: undefined });
  claim('jti missing', { jti: undefined });
  claim('type "refresh" in an access token', { type: 'refresh' });
  claim('type missing', { type: undefined });
  claim('fresh as a string', { fresh: 'true' });
  claim('transport claim on an access token', { transport: 'cookie' });
  claim('a session that does not exist', { sid: 'no-such-session-AAAAAAAAAAAA' }, 'token_revoked');
  add('claim abuse', 'payload a JSON array (real key, CVE-2026-107723)', sign(key, header, [claims]), 'token_invalid', true);
  add('claim abuse', 'payload null (real key)', signRaw(key, header, 'null'), 'token_invalid', true);
  add('claim abuse', 'payload not JSON (real key)', signRaw(key, header, 'not json at all'), 'token_invalid', true);
  add(
    'claim abuse',
    'payload names sub twice (real key)',
    signRaw(key, header, `{"sub":"someone-else",${JSON.stringify(claims).slice(1)}`),
    'token_invalid',
    true,
  );
  add(
    'claim abuse',
    'payload with a __proto__ member (real key)',
    signRaw(key, header, `{"__proto__":{"admin":true},${JSON.stringify(claims).slice(1)}`),
    'token_invalid',
    true,
  );
  add(
    'claim abuse',
    'payload with invalid UTF-8 (real key)',
    signRaw(key, header, Buffer.concat([Buffer.from(JSON.stringify(claims).slice(0, -1)), Buffer.from(',"x":"\xff\xfe"}', 'latin1')])),
    'token_invalid',
    true,
  );
  add(
    'claim abuse',
    'payload with a byte-order mark (real key)',
    signRaw(key, header, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(claims))])),
    'token_invalid',
    true,
  );

  // --- encoding abuse (RFC 7515 §7.1, 8725bis §3.14, CVE-2022-39227, golang-jwt CVE-2025-30204, security.md §9)
  add('encoding abuse', 'padding = on the signature', `${ctx.access}=`);
  add('encoding abuse', 'padding == on the signature', `${ctx.access}==`);
  if (s.length % 4 === 2 || s.length % 4 === 3)
    add('encoding abuse', 'non-canonical last signature character (same bytes in Node)', `${h}.${p}.${nonCanonicalTail(s)}`);
  if (p.length % 4 === 2 || p.length % 4 === 3) add('encoding abuse', 'non-canonical last payload character', `${h}.${nonCanonicalTail(p)}.${s}`);
  const dashed = tokenWithChar(key, header, claims, '-');
  add('encoding abuse', "standard base64 '+' for '-' (real key)", dashed.replace(/^([^.]*\.[^.]*?)-/, '$1+'), 'token_invalid', true);
  const underscored = tokenWithChar(key, header, claims, '_');
  add('encoding abuse', "standard base64 '/' for '_' (real key)", underscored.replace(/^([^.]*\.[^.]*?)_/, '$1/'), 'token_invalid', true);
  add('encoding abuse', 'header segment padded with = (real key)', `${h}=.${p}.${s}`);
  add('encoding abuse', 'a space inside the token', `${ctx.access.slice(0, 30)} ${ctx.access.slice(30)}`);
  add('encoding abuse', 'a $ inside a segment (Node would skip it)', `${h}.${p.slice(0, 10)}$${p.slice(10)}.${s}`);
  add('encoding abuse', 'two segments', `${h}.${p}`);
  add('encoding abuse', 'four segments', `${ctx.access}.${s}`);
  add('encoding abuse', 'five segments (JWE compact shape, CVE-2023-51774)', `${h}.${b64u('k')}.${b64u('iv')}.${p}.${s}`);
  add('encoding abuse', 'leading dot', `.${ctx.access}`);
  add('encoding abuse', 'trailing dot', `${ctx.access}.`);
  add('encoding abuse', 'empty signature', `${h}.${p}.`);
  add('encoding abuse', 'empty payload (RFC 7797 detached)', `${h}..${s}`);
  add('encoding abuse', 'empty header', `.${p}.${s}`);
  add('encoding abuse', 'truncated signature (length check before the constant-time compare)', `${h}.${p}.${s.slice(0, -4)}`);
  add('encoding abuse', 'signature one byte longer', `${h}.${p}.${b64u(Buffer.concat([Buffer.from(s, 'base64url'), Buffer.from([0])]))}`);
  add('encoding abuse', 'the signature of another token', `${h}.${p}.${ctx.refresh.split('.')[2] ?? ''}`);
  add('encoding abuse', 'JSON serialization (CVE-2022-39227 polyglot)', JSON.stringify({ protected: h, payload: p, signature: s }));
  add('encoding abuse', 'compact/JSON polyglot', `${h}.${p}.${s}{"payload":"${segment({ ...claims, sub: 'admin' })}"}`);
  add('encoding abuse', 'header and payload swapped', `${p}.${h}.${s}`);
  add('encoding abuse', 'a dot-only token', '..');
  add('encoding abuse', 'megabytes of dots are not split (CVE-2025-30204), 8 KiB here', '.'.repeat(8000));
  if (key.alg === 'ES256') {
    add(
      'encoding abuse',
      'ES256 signature in DER (real key)',
      `${h}.${p}.${signature(key, `${h}.${p}`, { der: true }).toString('base64url')}`,
      'token_invalid',
      true,
    );
    add('encoding abuse', 'ES256 r = s = 0 (CVE-2022-21449)', `${h}.${p}.${b64u(new Uint8Array(64))}`);
    add('encoding abuse', 'ES256 psychic signature in DER (MAYCAQACAQA)', `${h}.${p}.MAYCAQACAQA`);
  }
  if (key.alg === 'EdDSA') add('encoding abuse', 'Ed25519 all-zero signature', `${h}.${p}.${b64u(new Uint8Array(64))}`);

  // --- oversize: refused before any parsing (RFC 8725bis §3.15, security.md §1 item 10)
  add('oversize', 'a genuine token of 8 KiB + 1 (real key)', oversize(key, header, claims, 8193), 'token_invalid', true);
  add('oversize', 'a 12 KiB token', `${h}.${'A'.repeat(12_000)}.${s}`);

  // --- wrong kind (RFC 8725 §3.11/3.12, RFC 9068 §2.1)
  add('wrong kind', 'a refresh token where an access token belongs', ctx.refresh, 'token_type_invalid');
  add(
    'wrong kind',
    'access claims signed with the refresh key (real key)',
    sign(refreshKey, { alg: 'HS256', typ: 'rt+jwt', kid: refreshKey.kid }, claims),
    'token_type_invalid',
    true,
  );
  add('wrong kind', 'typ rt+jwt under the access key (real key)', real({}, { typ: 'rt+jwt' }), 'token_invalid', true);
  add(
    'wrong kind',
    'an HMAC of the refresh-key kid with a guessed secret',
    `${segment({ alg: 'HS256', typ: 'rt+jwt', kid: refreshKey.kid })}.${p}.${createHmac('sha256', 'secret').update(`${h}.${p}`).digest('base64url')}`,
  );
  return rows;
}

/** Refresh-token forgeries for POST /auth/refresh (built from a genuine refresh token). */
export async function refreshForgeries(ctx: ForgeContext): Promise<Forgery[]> {
  const { refreshKey } = ctx;
  const header = HEADER(ctx.refresh);
  const claims = claimsOf(ctx.refresh);
  const [h, p, s] = ctx.refresh.split('.') as [string, string, string];
  const now = Math.floor(Date.now() / 1000);
  const rows: Forgery[] = [];
  const add = (cls: ForgeryClass, name: string, token: string, code: Forgery['code'] = 'token_invalid', realKey = false): void => {
    rows.push({ class: cls, name, token, code, realKey });
  };
  const real = (changes: Record<string, unknown> = {}, headerChanges: Record<string, unknown> = {}): string =>
    sign(refreshKey, withChanges(header, headerChanges), withChanges(claims, changes));
  add('alg none', 'alg none, empty signature', `${segment({ ...header, alg: 'none' })}.${p}.`);
  for (const { name, material } of publicMaterials(ctx.jwks).slice(0, 4))
    add('algorithm confusion', `HS256 keyed with ${name}, refresh kid`, confused(header, claims, material));
  add('algorithm confusion', 'HS256 keyed with the empty string', confused(header, claims, ''));
  add('key material in header', 'embedded oct jwk', confused({ ...header, jwk: { kty: 'oct', k: b64u('attacker') } }, claims, 'attacker'));
  add('crit and unsupported header', 'crit ["exp"] (real key)', real({}, { crit: ['exp'] }), 'token_invalid', true);
  add('claim abuse', 'expired (real key)', real({ iat: now - 120, nbf: now - 120, exp: now - 1 }), 'token_expired', true);
  add('claim abuse', 'aud of the API, as access tokens carry (real key)', real({ aud: claimsOf(ctx.access).aud }), 'token_invalid', true);
  add('claim abuse', 'transport claim bogus (real key)', real({ transport: 'carrier-pigeon' }), 'token_invalid', true);
  add('claim abuse', 'a session that does not exist (real key)', real({ sid: 'no-such-session-BBBBBBBBBBBB' }), 'token_revoked', true);
  add('encoding abuse', 'padding on the signature', `${ctx.refresh}=`);
  add('encoding abuse', 'truncated signature', `${h}.${p}.${s.slice(0, -4)}`);
  add('encoding abuse', 'five segments', `${h}.${b64u('k')}.${b64u('iv')}.${p}.${s}`);
  add('oversize', 'a 12 KiB token', `${h}.${'A'.repeat(12_000)}.${s}`);
  add('wrong kind', 'an access token where a refresh token belongs', ctx.access, 'token_type_invalid');
  return rows;
}
