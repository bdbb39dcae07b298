// The rules of verify.ts one at a time, on tokens signed here: what the Python stacks never write (a
// `crit` header, a re-encoded signature, a future `nbf`, a user that is not text or a whole number) but
// an attacker could. The stacks' own tokens are tested in test/legacy/exchange.test.ts.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { legacyRules } from './formats.js';
import { headerOf, verifyLegacyToken, type LegacyVerifier } from './verify.js';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';
const NOW = 1_800_000_000_000;
const verifier: LegacyVerifier = { rules: legacyRules('simplejwt', undefined), alg: 'HS256', secret: SECRET, leeway: 0 };
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function sign(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

const base = { token_type: 'refresh', exp: NOW / 1000 + 60, iat: NOW / 1000 - 60, jti: 'j1', user_id: 42 };
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('verifyLegacyToken', () => {
  it('answers the jti, the user as text and exp; fractional times are fine (AuthX writes them)', () => {
    expect(verifyLegacyToken(sign({ ...base, exp: NOW / 1000 + 0.5 }), 'refresh', verifier, NOW)).toEqual({
      jti: 'j1',
      user: '42',
      exp: NOW / 1000 + 0.5,
    });
    expect(verifyLegacyToken(sign({ ...base, user_id: 'abc' }), 'refresh', verifier, NOW).user).toBe('abc');
  });

  it.each([
    ['a crit header', sign(base, { alg: 'HS256', crit: ['exp'] }), 'token_invalid'],
    ['a header without alg', sign(base, { typ: 'JWT' }), 'token_invalid'],
    [
      'a signature with a trailing bit changed in its text only',
      `${sign(base).slice(0, -1)}${sign(base).endsWith('A') ? 'B' : 'A'}`,
      'token_invalid',
    ],
    ['padding in the signature', `${sign(base)}=`, 'token_invalid'],
    ['four segments', `${sign(base)}.x`, 'token_invalid'],
    ['no type claim', sign({ ...base, token_type: undefined }), 'token_invalid'],
    ['exp as text', sign({ ...base, exp: String(NOW / 1000 + 60) }), 'token_invalid'],
    ['nbf in the future', sign({ ...base, nbf: NOW / 1000 + 5 }), 'token_not_yet_valid'],
    ['iat in the future', sign({ ...base, iat: NOW / 1000 + 5 }), 'token_not_yet_valid'],
    ['an empty jti', sign({ ...base, jti: '' }), 'token_invalid'],
    ['a user that is a boolean', sign({ ...base, user_id: true }), 'token_invalid'],
    ['a user that is a fraction', sign({ ...base, user_id: 1.5 }), 'token_invalid'],
    ['the user under another claim', sign({ ...base, user_id: undefined, sub: '42' }), 'token_invalid'],
    ['9 KiB of token', `${sign(base)}${'A'.repeat(9000)}`, 'token_invalid'],
  ])('refuses %s', (_label, token, expected) => {
    expect(code(() => verifyLegacyToken(token, 'refresh', verifier, NOW))).toBe(expected);
  });

  it('takes exp to the second, with the leeway', () => {
    const token = sign({ ...base, exp: NOW / 1000 - 2 });
    expect(code(() => verifyLegacyToken(token, 'refresh', verifier, NOW))).toBe('token_expired');
    expect(verifyLegacyToken(token, 'refresh', { ...verifier, leeway: 5 }, NOW).jti).toBe('j1');
  });

  it('reads the configured claims of each format', () => {
    const fje = { ...verifier, rules: legacyRules('flask-jwt-extended', 'identity') };
    const token = sign({ type: 'refresh', exp: NOW / 1000 + 60, jti: 'j2', identity: 'bob', token_type: 'access' });
    expect(verifyLegacyToken(token, 'refresh', fje, NOW).user).toBe('bob');
    expect(code(() => verifyLegacyToken(token, 'refresh', verifier, NOW))).toBe('token_type_invalid');
  });
});

describe('headerOf', () => {
  it('reads the first segment only, and nothing that is not a JSON object', () => {
    expect(headerOf(sign(base))).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(headerOf('not-a-token')).toBeUndefined();
    expect(headerOf(`${Buffer.from('[1]').toString('base64url')}.x.y`)).toBeUndefined();
  });
});
