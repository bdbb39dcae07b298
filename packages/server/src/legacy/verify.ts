// Verifying a token of the replaced stack: the algorithm is the configured one, never the header's choice
// (so `none`, another HMAC or a public-key algorithm fails), the HMAC is compared in constant time, and only
// then are the claims read: the kind, `exp` and `jti` required, `nbf`/`iat` not in the future, the user named.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { TokenExpiredError, TokenInvalidError, TokenNotYetValidError, TokenTypeError } from '@tessera/auth';
import type { LegacyKind, LegacyRules } from './formats.js';
import type { LegacyAlg } from './settings-checks.js';

/** Longer than any token these stacks write; refused before any parsing. */
const MAX_TOKEN = 8192;
const SEGMENT = /^[A-Za-z0-9_-]*$/;
const HASH: Readonly<Record<LegacyAlg, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/** What the server keeps of a verified legacy token. */
export interface LegacyClaims {
  readonly jti: string;
  /** The user claim as text: `42` and `"42"` both name legacy_id '42'. */
  readonly user: string;
  /** Seconds, as the token says (AuthX writes fractions). */
  readonly exp: number;
}

/** The key and rules a verification needs. */
export interface LegacyVerifier {
  readonly rules: LegacyRules;
  readonly alg: LegacyAlg;
  readonly secret: string;
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. */
  readonly leeway: number;
}

/** Verifies `token` as a `kind` token of the replaced stack at `now` (epoch ms), or throws a Tessera refusal. */
export function verifyLegacyToken(token: string, kind: LegacyKind, verifier: LegacyVerifier, now: number): LegacyClaims {
  const invalid = (message: string): TokenInvalidError => new TokenInvalidError({ message });
  if (token.length > MAX_TOKEN) throw invalid('The token is too long');
  const parts = token.split('.');
  const [head, body, signature] = parts;
  if (parts.length !== 3 || head === undefined || body === undefined || signature === undefined || !parts.every((p) => SEGMENT.test(p)))
    throw invalid('The token is not a signed JWT');
  const header = jsonObject(head);
  // The algorithm is pinned: a header naming any other (none, HS512 for HS256, RS256) is refused before any key is used.
  if (header === undefined || header.alg !== verifier.alg) throw invalid(`The token must be signed with ${verifier.alg}`);
  if ('crit' in header) throw invalid('The token has critical header parameters');
  const expected = createHmac(HASH[verifier.alg], Buffer.from(verifier.secret, 'utf8')).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  // Canonical base64url only: one text per signature.
  if (given.toString('base64url') !== signature || given.length !== expected.length || !timingSafeEqual(given, expected))
    throw invalid('The token signature does not verify');
  const claims = jsonObject(body);
  if (claims === undefined) throw invalid('The token claims are not a JSON object');
  const type = claims[verifier.rules.typeClaim];
  if (type !== kind) {
    if (type === 'access' || type === 'refresh')
      throw new TokenTypeError({ message: `A ${kind} token is needed here, not ${type === 'access' ? 'an access' : 'a refresh'} token` });
    throw invalid(`The token has no ${verifier.rules.typeClaim} claim saying ${kind}`);
  }
  const seconds = now / 1000;
  const exp = claims.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('The token has no exp claim');
  if (seconds > exp + verifier.leeway) throw new TokenExpiredError();
  for (const name of ['nbf', 'iat'] as const) {
    const at = claims[name];
    if (at === undefined) continue;
    if (typeof at !== 'number' || !Number.isFinite(at)) throw invalid(`The token's ${name} claim is not a number`);
    if (at > seconds + verifier.leeway) throw new TokenNotYetValidError();
  }
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti === '' || jti.length > 255) throw invalid('The token has no jti claim');
  const user = claims[verifier.rules.userClaim];
  const named = typeof user === 'string' && user !== '' ? user : Number.isSafeInteger(user) ? String(user) : undefined;
  if (named === undefined || named.length > 255) throw invalid(`The token names no user in ${verifier.rules.userClaim}`);
  return { jti, user: named, exp };
}

/** The header of a compact JWS, or undefined when it is not one: for telling old tokens from ours without verifying. */
export function headerOf(token: string): Record<string, unknown> | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > MAX_TOKEN) return undefined;
  const head = token.slice(0, dot);
  return SEGMENT.test(head) ? jsonObject(head) : undefined;
}

function jsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
