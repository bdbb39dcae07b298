// The new-password policy (NIST SP 800-63B-4 §3.1.1.2): each refusal with its one sentence, length
// in code points after NFKC, the 1024-byte maximum, and the blocklist built lazily on first use.
import { dictionary } from '@zxcvbn-ts/language-common';
import { describe, expect, it, vi } from 'vitest';
import { BLOCKLIST_SOURCE, blocklistSize, checkNewPassword, normaliseLoginPassword } from '../src/users/password-policy.js';

const BLOCKLISTED = 'password is on a list of common or breached passwords; choose another';
const TRIVIAL = 'password must not be a single repeated character or a simple sequence such as 12345678';
const USERNAME = 'password must not contain the username';
const TOO_LONG = 'password must be at most 1024 bytes';
const atLeast = (n: number) => `password must be at least ${n} characters`;

const refused = (problem: string) => ({ ok: false, problem });

describe('blocklist loading', () => {
  it('is not built at import, nor by checks that stop before it, and is built by the first full check', async () => {
    vi.resetModules();
    const fresh = await import('../src/users/password-policy.js');
    expect(fresh.blocklistBuilt()).toBe(false);
    expect(fresh.checkNewPassword('short', {})).toEqual(refused(atLeast(8)));
    expect(fresh.checkNewPassword('aaaaaaaa', {})).toEqual(refused(TRIVIAL));
    expect(fresh.blocklistBuilt()).toBe(false);
    expect(fresh.checkNewPassword('password', {})).toEqual(refused(BLOCKLISTED));
    expect(fresh.blocklistBuilt()).toBe(true);
  });

  it('names its source and holds every entry of the passwords-common list', () => {
    expect(BLOCKLIST_SOURCE).toBe('@zxcvbn-ts/language-common 4.x passwords-common');
    expect(blocklistSize()).toBe(dictionary['passwords-common'].length);
    expect(blocklistSize()).toBeGreaterThan(40_000);
  });
});

describe('checkNewPassword', () => {
  it('refuses entries of the list, case-insensitively and after NFKC', () => {
    const list = new Set(dictionary['passwords-common']);
    for (const entry of ['password', 'qwerty123', 'iloveyou', '1q2w3e4r', 'baseball']) {
      expect(list.has(entry), entry).toBe(true);
      expect(checkNewPassword(entry, {}), entry).toEqual(refused(BLOCKLISTED));
    }
    expect(checkNewPassword('PassWord', {})).toEqual(refused(BLOCKLISTED));
    expect(checkNewPassword('ＱＷＥＲＴＹ１２３', {})).toEqual(refused(BLOCKLISTED)); // full-width forms
  });

  it('refuses 12345678 (on the list, and caught first as a sequence)', () => {
    expect(dictionary['passwords-common']).toContain('12345678');
    expect(checkNewPassword('12345678', {})).toEqual(refused(TRIVIAL));
  });

  it('refuses one repeated character and ascending or descending runs of code points', () => {
    for (const p of ['aaaaaaaa', 'AaAaAaAa', '11111111', '😀😀😀😀😀😀😀😀', 'abcdefgh', 'ABCDEFGHIJ', '87654321', 'zyxwvuts', 'αβγδεζηθ']) {
      expect(checkNewPassword(p, {}), p).toEqual(refused(TRIVIAL));
    }
    for (const p of ['acegikmoq', 'abcdefgz', '1234567890', '12345678a']) {
      expect(checkNewPassword(p, {}), p).not.toEqual(refused(TRIVIAL));
    }
  });

  it('refuses passwords containing the username of 3 or more characters, case-insensitively after NFKC', () => {
    expect(checkNewPassword('my-Alice-Secret-42', { username: 'alice' })).toEqual(refused(USERNAME));
    expect(checkNewPassword('ALICE-in-wonder', { username: 'Alice' })).toEqual(refused(USERNAME));
    expect(checkNewPassword('bobby-tables-7x', { username: 'ｂｏｂｂｙ' })).toEqual(refused(USERNAME));
    expect(checkNewPassword('alice', { username: 'alice' })).toEqual(refused(atLeast(8)));
    expect(checkNewPassword('pal-jo-saturn-92', { username: 'al' })).toEqual({ ok: true, value: 'pal-jo-saturn-92' });
    expect(checkNewPassword('pal-jo-saturn-92', { username: 'carol' }).ok).toBe(true);
  });

  it('counts the minimum in code points after NFKC, not bytes or UTF-16 units', () => {
    const eightEmoji = '🐙🦊🌵🚲🎻🧊🪁🍋';
    expect(Buffer.byteLength(eightEmoji)).toBe(32);
    expect(checkNewPassword(eightEmoji, {})).toEqual({ ok: true, value: eightEmoji });
    expect(checkNewPassword(eightEmoji.slice(0, -2), {})).toEqual(refused(atLeast(8))); // 7 emoji, 28 bytes
    const decomposed = 'rXe\u0301sume\u0301'; // 9 code points as typed, 7 after NFKC composes each é
    expect([...decomposed]).toHaveLength(9);
    expect(checkNewPassword(decomposed, {})).toEqual(refused(atLeast(8)));
    const accepted = checkNewPassword('rXe\u0301sume\u0301!9', {});
    expect(accepted).toEqual({ ok: true, value: 'rXésumé!9' });
  });

  it('takes a configurable minimum within 8 to 64', () => {
    expect(checkNewPassword('violet-anchor', { minLength: 15 })).toEqual(refused(atLeast(15)));
    expect(checkNewPassword('violet-anchor-9', { minLength: 15 }).ok).toBe(true);
    expect(() => checkNewPassword('violet-anchor', { minLength: 7 })).toThrow(RangeError);
    expect(() => checkNewPassword('violet-anchor', { minLength: 8.5 })).toThrow(RangeError);
    expect(() => checkNewPassword('violet-anchor', { minLength: 65 })).toThrow(RangeError);
  });

  it('refuses more than 1024 bytes of UTF-8, never truncating', () => {
    const max = 'x7Qp'.repeat(256);
    expect(checkNewPassword(max, {})).toEqual({ ok: true, value: max });
    expect(checkNewPassword(`${max}z`, {})).toEqual(refused(TOO_LONG));
    expect(checkNewPassword('é'.repeat(513), {})).toEqual(refused(TOO_LONG)); // 513 characters, 1026 bytes
  });

  it('refuses a non-string', () => {
    expect(checkNewPassword(12345678, {})).toEqual(refused('password must be a string'));
    expect(checkNewPassword(undefined, {})).toEqual(refused('password must be a string'));
  });

  it('accepts a strong random passphrase and returns it NFKC-normalised', () => {
    expect(checkNewPassword('tundra velvet quarry 71 harpoon', { username: 'alice' })).toEqual({
      ok: true,
      value: 'tundra velvet quarry 71 harpoon',
    });
    expect(checkNewPassword('ﬁnch-Orbit-Kelp-Ⅻ', {})).toEqual({ ok: true, value: 'finch-Orbit-Kelp-XII' });
  });

  it('never puts the password in its sentence', () => {
    for (const p of ['qwerty123', 'abcdefgh', 'alice-rocks-99', 'short']) {
      const result = checkNewPassword(p, { username: 'alice' });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problem).not.toContain(p);
    }
  });
});

describe('normaliseLoginPassword', () => {
  it('applies only the type check, NFKC and the byte maximum', () => {
    expect(normaliseLoginPassword('12345678')).toEqual({ ok: true, value: '12345678' });
    expect(normaliseLoginPassword('abc')).toEqual({ ok: true, value: 'abc' });
    expect(normaliseLoginPassword('ＰＡＳＳ')).toEqual({ ok: true, value: 'PASS' });
    expect(normaliseLoginPassword('x7Qp'.repeat(256) + 'z')).toEqual(refused(TOO_LONG));
    expect(normaliseLoginPassword(null)).toEqual(refused('password must be a string'));
  });
});
