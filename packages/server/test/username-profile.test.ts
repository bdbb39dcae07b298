// The username profile (src/users/username/): keys by full case folding, uniqueness by UTS #39
// skeleton, and the refusals that stop look-alike registrations (the penetration test's cases).
import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import { caseFold } from '../src/users/username/case-fold.js';
import { checkNewUsername, legacyUsernameKey, lookupKeys, UNICODE_VERSION, usernameKey, usernameSkeleton } from '../src/users/username/index.js';

const skeletonOf = (name: string): string => usernameSkeleton(usernameKey(name));

function problemOf(name: unknown): string {
  const result = checkNewUsername(name);
  if (result.ok) throw new Error(`${JSON.stringify(name)} was accepted`);
  return result.problem;
}

const hex = (text: string): string[] => [...text].map((c) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`);

describe('checkNewUsername refuses invisible characters', () => {
  // Each of these made 'dave' + it a second account displayed as "dave".
  const invisible = {
    'U+034F COMBINING GRAPHEME JOINER': '\u034f',
    'U+FE0F VARIATION SELECTOR-16': '\ufe0f',
    'U+FE00 VARIATION SELECTOR-1': '\ufe00',
    'U+180B MONGOLIAN FREE VARIATION SELECTOR ONE': '\u180b',
    'U+17B4 KHMER VOWEL INHERENT AQ': '\u17b4',
    'U+3164 HANGUL FILLER': '\u3164',
    'U+115F HANGUL CHOSEONG FILLER': '\u115f',
    'U+1160 HANGUL JUNGSEONG FILLER': '\u1160',
    'U+FFA0 HALFWIDTH HANGUL FILLER': '\uffa0',
    'U+200B ZERO WIDTH SPACE': '\u200b',
    'U+200D ZERO WIDTH JOINER': '\u200d',
    'U+00AD SOFT HYPHEN': '\u00ad',
    'U+E0041 TAG LATIN CAPITAL LETTER A': '\u{e0041}',
  };
  for (const [name, character] of Object.entries(invisible)) {
    it(`refuses dave + ${name}, wherever it stands`, () => {
      for (const candidate of [`dave${character}`, `${character}dave`, `da${character}ve`]) {
        expect(problemOf(candidate)).toBe('username must not contain invisible characters, which would let it pass for another name');
      }
    });
  }

  it('names why for the other forbidden code points, one lower-case sentence each', () => {
    const problems = [
      problemOf(42),
      problemOf('da ve'),
      problemOf('dave\n'),
      problemOf('dave\u0600'), // ARABIC NUMBER SIGN, Cf but not default-ignorable
      problemOf('da\u0378ve'), // unassigned
      problemOf('dave\ud800'), // lone surrogate
      problemOf('da'),
      problemOf('d'.repeat(65)),
      problemOf('dave!'),
    ];
    expect(problems).toEqual([
      'username must be a string',
      'username must not contain spaces, line breaks, control or formatting characters',
      'username must not contain spaces, line breaks, control or formatting characters',
      'username must not contain spaces, line breaks, control or formatting characters',
      'username must not contain code points that Unicode has not assigned yet',
      'username must be well-formed text, without lone UTF-16 surrogates',
      'username must be 3 to 64 letters, digits or . _ @ + -',
      'username must be 3 to 64 letters, digits or . _ @ + -',
      'username must be 3 to 64 letters, digits or . _ @ + -',
    ]);
    for (const problem of problems) expect(problem).toMatch(/^username must [^\n]+[^.]$/);
  });

  it('refuses huge input at once, before normalising it', () => {
    expect(problemOf('a'.repeat(1_000_000))).toBe('username must be 3 to 64 letters, digits or . _ @ + -');
  });
});

describe('look-alike names share one skeleton', () => {
  const pairs: Array<[string, string]> = [
    ['straße', 'strasse'],
    ['STRASSE', 'straße'],
    ['οδος', 'οδοσ'],
    ['ΟΔΟΣ', 'οδος'],
    ['İnfo', 'info'],
    ['d\u0430ve', 'dave'], // Cyrillic а
    ['p\u0430yp\u0430l', 'paypal'],
    ['ｄａｖｅ', 'dave'], // fullwidth, by NFKC
    ['rn', 'm'],
  ];
  for (const [a, b] of pairs) {
    it(`${a} (${hex(a).join(' ')}) looks like ${b}`, () => {
      expect(skeletonOf(a)).toBe(skeletonOf(b));
    });
  }

  it('keeps different-looking names apart', () => {
    expect(skeletonOf('dave')).not.toBe(skeletonOf('dove'));
    expect(skeletonOf('bob')).not.toBe(skeletonOf('rob'));
    expect(skeletonOf('alice')).not.toBe(skeletonOf('alicia'));
  });

  it('drops only the dot above a soft-dotted letter, not a second one', () => {
    expect(skeletonOf('i\u0307nfo')).toBe(skeletonOf('info'));
    expect(skeletonOf('i\u0307\u0307nfo')).not.toBe(skeletonOf('info'));
    expect(skeletonOf('a\u0307bc')).not.toBe(skeletonOf('abc'));
  });
});

describe('checkNewUsername and scripts (UTS #39 §5.2 Highly Restrictive)', () => {
  it('refuses a name mixing Latin and Cyrillic, though its skeleton is the one of dave', () => {
    expect(problemOf('d\u0430ve')).toBe('username must not mix Latin and Cyrillic letters, which is how look-alikes of other names are made');
    expect(skeletonOf('d\u0430ve')).toBe('dave');
    expect(problemOf('Ωmega')).toMatch(/^username must not mix Greek and Latin letters/);
  });

  it('accepts ordinary single-script names and the Latin + Han/Kana/Hangul mixes', () => {
    const names = [
      'alice',
      'Bob.Smith_2',
      'ada@example.com',
      'Ωμέγα',
      'Иван',
      '山田太郎',
      'たなか',
      'タナカ',
      'tanaka田中',
      '山田たろう',
      'kim김',
      '김철수',
      'mañana',
      'İnfo',
      'straße',
    ];
    for (const name of names) {
      const result = checkNewUsername(name);
      expect(result, name).toEqual({ ok: true, key: usernameKey(name), skeleton: skeletonOf(name) });
    }
  });

  it('gives the key and skeleton to store', () => {
    expect(checkNewUsername('Straße')).toEqual({ ok: true, key: 'strasse', skeleton: 'strasse' });
    expect(checkNewUsername('Ａｌｉｃｅ')).toEqual({ ok: true, key: 'alice', skeleton: 'alice' });
  });

  it('refuses other script mixes', () => {
    expect(problemOf('山田kimさん김')).toMatch(/^username must not mix /); // Japanese kana with Korean
    expect(problemOf('abcαβγ')).toMatch(/^username must not mix Latin and Greek letters/);
  });
});

describe('lookupKeys', () => {
  it('tries the legacy form first, then the new key when it differs', () => {
    expect(lookupKeys('Straße')).toEqual(['straße', 'strasse']);
    expect(lookupKeys('ΟΔΟΣ')).toEqual(['οδος', 'οδοσ']);
    expect(lookupKeys('Alice')).toEqual(['alice']);
    expect(lookupKeys('İnfo')).toEqual(['i̇nfo']);
    expect(lookupKeys(undefined)).toEqual([]);
    expect(lookupKeys(42)).toEqual([]);
  });

  it('never refuses, so stored names that the new rules would refuse can still log in', () => {
    expect(lookupKeys('dave\u034f')).toEqual(['dave\u034f']);
    expect(lookupKeys('d\u0430ve')).toEqual(['d\u0430ve']);
  });

  it('keys a stored legacy form as it keys what the user types, so a migration can rekey existing rows', () => {
    for (let cp = 0; cp <= 0x1ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const typed = `a${String.fromCodePoint(cp)}\u0301`;
      if (usernameKey(legacyUsernameKey(typed)) !== usernameKey(typed)) expect(hex(typed)).toBe('rekeyed like the typed name');
    }
  });

  it('takes the legacy form exactly as credentials.ts does today', () => {
    for (const name of ['Straße', 'İnfo', 'ＤＡＶＥ', 'ΟΔΟΣ', 'Ǆemal', '\u{ab70}\u{13a0}x']) {
      expect(legacyUsernameKey(name)).toBe(name.normalize('NFKC').toLowerCase().normalize('NFKC'));
      expect(lookupKeys(name)[0]).toBe(legacyUsernameKey(name));
    }
  });
});

describe('usernameKey: NFKC, full case fold (CaseFolding.txt C + F), NFKC', () => {
  it('folds the known C and F mappings', () => {
    expect(usernameKey('ß')).toBe('ss'); // F
    expect(usernameKey('ẞ')).toBe('ss'); // F
    expect(usernameKey('ﬁ')).toBe('fi'); // NFKC, and F
    expect(caseFold('ﬁ')).toBe('fi');
    expect(usernameKey('Σ')).toBe('σ'); // C
    expect(usernameKey('ς')).toBe('σ'); // C: final sigma
    expect(usernameKey('\u212a')).toBe('k'); // KELVIN SIGN: NFKC to K, C to k
    expect(caseFold('\u212a')).toBe('k');
    expect(usernameKey('İ')).toBe('i\u0307'); // F
    expect(usernameKey('ŉ')).toBe('ʼn'); // F
    expect(caseFold('ǅ')).toBe('ǆ'); // C, titlecase (NFKC would first split it into D + ž)
  });

  it('folds Cherokee lowercase to uppercase, the opposite of toLowerCase', () => {
    expect(usernameKey('\u{ab70}')).toBe('\u{13a0}');
    for (let cp = 0xab70; cp <= 0xabbf; cp++) expect(caseFold(String.fromCodePoint(cp))).toBe(String.fromCodePoint(cp - 0xab70 + 0x13a0));
    for (let cp = 0x13f8; cp <= 0x13fd; cp++) expect(caseFold(String.fromCodePoint(cp))).toBe(String.fromCodePoint(cp - 8));
    expect(usernameKey('\u13a0')).toBe('\u13a0');
  });

  it("agrees with Node's own case folding (the /iu regular expression flags) on every one-to-one fold", () => {
    let compared = 0;
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const character = String.fromCodePoint(cp);
      const folded = caseFold(character);
      if (folded === character || [...folded].length !== 1 || /\p{Cn}/u.test(character)) continue;
      // ECMAScript Canonicalize for /u and /i uses CaseFolding.txt simple folding (C + S).
      expect(new RegExp(`^\\u{${cp.toString(16)}}$`, 'iu').test(folded), hex(character)[0]).toBe(true);
      compared += 1;
    }
    expect(compared).toBeGreaterThan(1400);
  });

  it('is idempotent, and NFKC', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 16 }), (value) => {
        const key = usernameKey(value);
        expect(usernameKey(key)).toBe(key);
        expect(key.normalize('NFKC')).toBe(key);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('pinned Unicode data', () => {
  it('is Unicode 17.0.0, which Node must know too (NFKC and \\p{…} come from its ICU)', () => {
    expect(UNICODE_VERSION).toBe('17.0.0');
    const [major = 0, minor = 0] = (process.versions.unicode ?? '0.0').split('.').map(Number);
    const [pinnedMajor = 0, pinnedMinor = 0] = UNICODE_VERSION.split('.').map(Number);
    expect(major * 100 + minor).toBeGreaterThanOrEqual(pinnedMajor * 100 + pinnedMinor);
  });
});
