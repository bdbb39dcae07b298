// The keys, Tessera instances and claim sets the hostile and property suites share, on top of the
// test kit's hand-built tokens (signed with node:crypto directly, never with the core's own signer),
// which this module passes on so that the suites import one place.
import { Buffer } from 'node:buffer';
import { decodeSegment, parts, patch, segment, sign } from '@tessera/test-kit';
import { describe, expect, it } from 'vitest';
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
  type TokenKind,
  type TokenPair,
} from '../../src/index.js';

export { b64u, hmacWith, nonCanonicalTail, parts, patch, segment, sign, signature, signSegments, withSignature, type Part } from '@tessera/test-kit';

/** The frozen instant every suite runs at: 2030-01-01T12:00:00Z. */
export const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
export const NOW_S = NOW / 1000;
export const ISSUER = 'https://issuer.example';
export const AUDIENCE = 'https://api.example';
export const ACCESS_TTL = 900;
export const REFRESH_TTL = 7 * 24 * 3600;
/** Leeway of the `lenient` instance. */
export const LEEWAY = 30;
export const ALGS: readonly Algorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];
export const TYP: Readonly<Record<TokenKind, string>> = { access: 'at+jwt', refresh: 'rt+jwt' };

/** Everything a suite needs for one access-key algorithm. */
export interface Fixture {
  readonly alg: Algorithm;
  /** Signs access tokens in every instance. */
  readonly key: Key;
  /** A second access key: verify-only in `multi`, in no other ring. */
  readonly other: Key;
  /** Same algorithm, in no ring: the attacker's own key. */
  readonly attacker: Key;
  readonly refreshKey: Key;
  /** Ring {key}, leeway 0, frozen clock. */
  readonly tessera: Tessera;
  /** Ring {key, other (verify-only)}. */
  readonly multi: Tessera;
  /** Ring {key}, leeway 30 s. */
  readonly lenient: Tessera;
  /** A genuine pair minted by `tessera` (fresh, with a CSRF value). */
  readonly pair: TokenPair;
}

/** Builds the keys and instances for `alg`; every instance shares the refresh key and the frozen clock. */
export async function createFixture(alg: Algorithm): Promise<Fixture> {
  const [key, other, attacker, refreshKey] = await Promise.all([generateKey(alg), generateKey(alg), generateKey(alg), generateRefreshKey()]);
  const clock = fixedClock(NOW);
  const common = { refreshKey, issuer: ISSUER, audience: AUDIENCE, accessTtl: ACCESS_TTL, refreshTtl: REFRESH_TTL, clock };
  const tessera = createTessera({ ...common, keys: createKeyRing({ signing: key }) });
  const multi = createTessera({ ...common, keys: createKeyRing({ signing: key, verifyOnly: [other.verifyOnly()] }) });
  const lenient = createTessera({ ...common, keys: createKeyRing({ signing: key }), leeway: LEEWAY });
  const pair = tessera.createTokenPair({ sub: 'user-1', fresh: true, csrf: true });
  return { alg, key, other, attacker, refreshKey, tessera, multi, lenient, pair };
}

/** One fixture per access-key algorithm, built in parallel. */
export function createFixtures(): Promise<Fixture[]> {
  return Promise.all(ALGS.map(createFixture));
}

/** The genuine key for a kind. */
export function keyFor(f: Fixture, kind: TokenKind): Key {
  return kind === 'access' ? f.key : f.refreshKey;
}

/** The audience a kind must carry: access tokens the API, refresh tokens the issuer itself. */
export function audienceFor(kind: TokenKind): string {
  return kind === 'access' ? AUDIENCE : ISSUER;
}

/** The header Tessera itself writes for a kind, with `changes`. */
export function headerFor(f: Fixture, kind: TokenKind, changes: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const key = keyFor(f, kind);
  return patch({ alg: key.alg, typ: TYP[kind], kid: key.kid }, changes);
}

let serial = 0;

/** A complete, valid claims set for a kind (a new `jti` each time), with `changes`. */
export function claimsFor(kind: TokenKind, changes: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  serial++;
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: audienceFor(kind),
    sub: 'user-1',
    iat: NOW_S,
    nbf: NOW_S,
    exp: NOW_S + (kind === 'access' ? ACCESS_TTL : REFRESH_TTL) / 3,
    jti: `jti-${serial}-${kind}`,
    sid: 'sid-1',
    type: kind,
  };
  if (kind === 'access') base.fresh = false;
  return patch(base, changes);
}

/** A token of `kind` signed with its genuine key (or `key`), header and claims changed as asked. */
export function tokenFor(
  f: Fixture,
  kind: TokenKind,
  options: { header?: Readonly<Record<string, unknown>>; claims?: Readonly<Record<string, unknown>>; key?: Key } = {},
): string {
  return sign(options.key ?? keyFor(f, kind), headerFor(f, kind, options.header), claimsFor(kind, options.claims));
}

/**
 * A genuinely signed token of exactly `length` characters: a padding claim, and a padding header
 * member when the payload length alone cannot reach it (base64url lengths are never 1 mod 4).
 */
export function tokenOfLength(f: Fixture, kind: TokenKind, length: number): string {
  const key = keyFor(f, kind);
  const signatureLength = Math.ceil((key.signatureLength * 4) / 3);
  for (let headerPad = 0; headerPad < 4; headerPad++) {
    const header = headerFor(f, kind, headerPad === 0 ? {} : { x: 'h'.repeat(headerPad) });
    const base = claimsFor(kind, { pad: '' });
    const fixed = segment(header).length + 2 + signatureLength;
    const baseBytes = Buffer.byteLength(JSON.stringify(base));
    const wantPayload = length - fixed;
    // ceil(4n/3) = wantPayload has a solution only when wantPayload % 4 !== 1.
    if (wantPayload % 4 === 1) continue;
    const bytes = Math.floor((wantPayload * 3) / 4);
    const padLength = bytes - baseBytes;
    if (padLength < 0) break;
    const token = sign(key, header, { ...base, pad: 'p'.repeat(padLength) });
    if (token.length === length) return token;
  }
  throw new TypeError(`cannot build a token of ${length} characters`);
}

/**
 * Signs variations of a token (an incrementing filler claim) until `accept` holds for it, for
 * cases that need a segment with a given shape (a '-' to turn into '+', unused trailing bits).
 */
export function tokenWhere(f: Fixture, kind: TokenKind, accept: (token: string) => boolean, header: Readonly<Record<string, unknown>> = {}): string {
  for (let n = 0; n < 512; n++) {
    const token = tokenFor(f, kind, { header, claims: { filler: '~'.repeat(n) } });
    if (accept(token)) return token;
  }
  throw new TypeError('no token of the asked shape');
}

/** What calling `verify` ends in: 'ok', a TesseraError code, or 'not a TesseraError' (always a defect). */
export type Outcome = ErrorCode | 'ok' | 'not a TesseraError';

export function outcome(verify: () => unknown): Outcome {
  try {
    verify();
    return 'ok';
  } catch (err) {
    return err instanceof TesseraError ? err.code : 'not a TesseraError';
  }
}

/** The error `verify` throws, or undefined when it returns. */
export function thrown(verify: () => unknown): unknown {
  try {
    verify();
    return undefined;
  } catch (err) {
    return err;
  }
}

/**
 * How a hostile token is signed. 'real key': the genuine key of the kind, so that only the rule
 * under test can refuse it; the others are forgeries or tokens without a valid signature.
 */
export type Signing = 'real key' | 'attacker key' | 'public key as HMAC secret' | 'refresh secret' | 'tampered' | 'no signature';

/** One row of a hostile table. */
export interface Row {
  readonly name: string;
  readonly signed: Signing;
  readonly expected: ErrorCode | 'ok';
  readonly token: string | ((f: Fixture) => string);
  /** Verified as this kind (default access). */
  readonly as?: TokenKind;
  /** The instance that verifies (default `tessera`). */
  readonly on?: 'tessera' | 'multi' | 'lenient';
  /** Access-key algorithms the row applies to (default all). */
  readonly algs?: readonly Algorithm[];
}

/** Runs every row against every fixture it applies to, one test per (algorithm, row). */
export function runTable(title: string, fixtures: readonly Fixture[], rows: readonly Row[]): void {
  for (const f of fixtures) {
    const applicable = rows.filter((row) => row.algs === undefined || row.algs.includes(f.alg));
    if (applicable.length === 0) continue;
    describe(`${title} — ${f.alg} access ring`, () => {
      it.each(applicable)('$name [$signed] → $expected', (row) => {
        const token = typeof row.token === 'string' ? row.token : row.token(f);
        const instance = f[row.on ?? 'tessera'];
        const verify = () => (row.as === 'refresh' ? instance.verifyRefreshToken(token) : instance.verifyAccessToken(token));
        if (row.expected === 'ok') {
          // Accepted rows must hand back exactly the signed claims (compared as JSON text: deep rows nest thousands of levels).
          expect(JSON.stringify(verify())).toBe(JSON.stringify(JSON.parse(decodeSegment(parts(token)[1]).toString('utf8'))));
          return;
        }
        const err = thrown(verify);
        expect(err).toBeInstanceOf(TesseraError);
        expect((err as TesseraError).code).toBe(row.expected);
        // A refusal never echoes the token (docs/architecture.md "Conventions").
        if (token.length >= 16) expect((err as TesseraError).message).not.toContain(token);
      });
    });
  }
}
